"""A student notebook with a wrong answer still runs to the end, on the library's version.

For every student notebook with exercises, the first exercise that later cells use through
``pick`` gets a deliberately wrong answer (``return None`` where the stub was). Its check must
fail, and every later cell must run, with a one-line note that the reference version stands in.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.tools import notebooks

FALLBACK = re.compile(r"Note: your (\w+) did not pass its check; using course_lib's reference version")
EXERCISE_NOTEBOOKS = [
    path.name for path in notebooks.solution_notebooks() if notebooks.BEGIN_SOLUTION in path.read_text()
]


def with_wrong_first_answer(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, str]:
    """The notebook with its first picked exercise answered ``return None``; returns it and the function's name."""
    picked = {m.group(1) for cell in notebook.cells for m in re.finditer(r"\bpick\((\w+),", cell.source)}
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            function = re.search(r"def (\w+)", cell.source).group(1)
            if function in picked:
                cell.source = cell.source.replace("raise NotImplementedError()", "return None")
                return notebook, function
    raise AssertionError("no exercise that later cells pick")


@pytest.mark.parametrize("name", EXERCISE_NOTEBOOKS)
def test_a_wrong_answer_falls_back_to_the_library_and_the_notebook_runs_on(name):
    notebook, function = with_wrong_first_answer(nbformat.read(notebooks.NOTEBOOKS_DIR / name, as_version=4))
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(notebooks.NOTEBOOKS_DIR)}}
    )
    client.execute()  # raises on an error in any cell not tagged raises-exception
    printed = [
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    ]
    assert function in {m.group(1) for text in printed for m in FALLBACK.finditer(text)}, (
        f"{name}: no cell said that {function} falls back to the reference version"
    )
    check_errors = [
        output
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert check_errors, f"{name}: the wrong {function} passed its check"
