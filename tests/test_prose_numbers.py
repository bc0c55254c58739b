"""Every number the prose of a solution notebook states is one the student sees (issue: true prose).

The stored outputs in ``solutions/`` come from a full-mode run (``python -m course_lib notebooks
run``), the run a student reads about. A number with a unit (s, ms, min, nats, %, x, epochs, steps)
in a markdown cell must appear in one of these places:

- an output of that notebook's stored run (a cell printed it);
- a line of the notebook's code that names the unit (a setting the student reads: ``epochs=40``,
  ``STEPS_PER_BEAT = 4``, ``TimeLimit(9 * 60)  # minutes``), for epochs, steps and minutes;
- README.md, when the paragraph cites the README (a measured row, named in the sentence).

A number after "about" (or "around", "roughly", "nearly") may be a printed one rounded to the
digits stated: "about 40%" stands for a printed 39.7%. A notebook's **Time:** line (the reader's
time) and its **Try this** suggestions are not statements about a run, and are exempt.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_lib.tools.notebooks import PROVENANCE_TAG, SOLUTIONS_DIR, solution_notebooks

README = (SOLUTIONS_DIR.parent / "README.md").read_text()
UNIT = r"(?:ms|s|seconds?|min|minutes?|nats?|%|x|×|times|epochs?|steps?)"
NUMBER = r"\d+(?:\.\d+)?"
STATED = re.compile(rf"(?<![\w.])({NUMBER})(?:\s*(?:-|–|to)\s*({NUMBER}))?\s*({UNIT})(?!\w)")
SETTING_WORDS = {"epoch": "epoch", "step": "step", "min": "minute|timelimit"}  # unit -> what the code line says
TIME_LINE = re.compile(r"\*\*Time:\*\*[^\n]*")
TRY_THIS = re.compile(r"\*\*Try this\*\*.*", re.DOTALL)
ROUGHLY = re.compile(r"(?:about|around|roughly|nearly|approximately)\s+$")
PRINTED = re.compile(rf"(?<![\w.]){NUMBER}")


def output_text(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell showed as text: streams, results, errors."""
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        for mime in ("text/plain", "text/markdown", "text/html"):
            parts.append(str(output.get("data", {}).get(mime, "")))
        parts.append(" ".join(output.get("traceback", [])))
    return "\n".join(parts)


def shown(number: str, text: str) -> bool:
    """True when ``number`` stands in ``text`` as a number of its own (3.6 is not in 13.65)."""
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)", text) is not None


def rounds_to(number: str, text: str) -> bool:
    """True when some number in ``text``, rounded to the digits of ``number``, equals it (39.7 -> 40)."""
    digits = len(number.split(".")[1]) if "." in number else 0
    return any(round(float(printed), digits) == float(number) for printed in PRINTED.findall(text))


def in_settings(number: str, unit: str, code_lines: list[str]) -> bool:
    """True when a code line holds ``number`` and names the unit (``epochs=40``)."""
    words = next((w for stem, w in SETTING_WORDS.items() if unit.startswith(stem)), None)
    return words is not None and any(shown(number, line) and re.search(words, line.lower()) for line in code_lines)


def unseen_numbers(notebook: nbformat.NotebookNode) -> list[str]:
    """The stated numbers in a notebook's prose that nothing in the notebook or a cited README row shows."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    seen = "\n".join(output_text(c) for c in code)
    code_lines = [line for c in code for line in c.source.splitlines()]
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown" or PROVENANCE_TAG in cell.metadata.get("tags", []):
            continue
        for paragraph in TRY_THIS.sub("", TIME_LINE.sub("", cell.source)).split("\n\n"):
            cites_readme = "README" in paragraph
            for match in STATED.finditer(paragraph):
                unit = match.group(3)
                for number in filter(None, match.groups()[:2]):
                    roughly = ROUGHLY.search(paragraph[: match.start()]) is not None
                    if not (
                        shown(number, seen)
                        or (roughly and rounds_to(number, seen))
                        or in_settings(number, unit, code_lines)
                        or (cites_readme and shown(number, README))
                    ):
                        problems.append(f"cell {index}: {match.group(0)!r} in “{' '.join(paragraph.split())[:120]}”")
    return problems


def test_a_stated_number_is_found_in_outputs_code_or_a_cited_readme_row() -> None:
    code = nbformat.v4.new_code_cell("epochs = 40")
    code.outputs = [nbformat.v4.new_output("stream", text="trained 22 epochs in 3.7 min\n")]
    notebook = nbformat.v4.new_notebook(cells=[code])
    notebook.cells.append(nbformat.v4.new_markdown_cell("**Time:** 45 minutes.\n\nUp to 40 epochs; it took 3.7 min."))
    assert unseen_numbers(notebook) == []
    notebook.cells.append(nbformat.v4.new_markdown_cell("It took 3.5 minutes, and 0.7 s per epoch."))
    assert [p.split(" in ")[0] for p in unseen_numbers(notebook)] == ["cell 2: '3.5 minutes'", "cell 2: '0.7 s'"]
    notebook.cells[2].source = "It took about 4 min, and about 0.7 s per epoch: it printed 3.7 min."
    assert [p.split(" in ")[0] for p in unseen_numbers(notebook)] == ["cell 2: '0.7 s'"]
    assert not shown("3.6", "13.65 and 3.61") and shown("3.6", "at 3.6 ms")


@pytest.mark.parametrize("path", solution_notebooks(), ids=lambda p: p.name[:2])
def test_every_number_in_the_prose_is_one_the_student_sees(path: Path) -> None:
    problems = unseen_numbers(nbformat.read(path, as_version=4))
    assert not problems, "\n".join(problems)
