"""nbgrader itself on the course: release every solution notebook, then grade the solutions.

The same solutions/ serve two routes: `notebooks build` writes notebooks/, and nbgrader's
`generate_assignment` releases them to a class. This test runs the real nbgrader in a temporary
course folder and checks that (1) its release has exactly the cells our builder writes, and
(2) `autograde` gives the solutions full marks, notebook by notebook, with no cell failing or
timing out (with the README's `c.Execute.timeout`).

Then a student's notebook with a wrong answer and unwritten ones: 0 points, and it runs on. For
every student notebook with exercises, the first exercise that later cells use through ``pick``
gets a deliberately wrong answer (``return None`` where the stub was); the others stay
unwritten. nbgrader's autograde must give every notebook 0 points, and in the notebook it
executed every later cell must have run on the library's version, with a one-line note that the
reference stands in: errors only in cells tagged ``raises-exception`` (the exercises and their checks).

The two gradings are one file, so pytest-xdist runs them one after the other on one worker: run
side by side (two files), one of them stalled past 10 minutes in about half of the whole-suite
runs on 2026-12-03, which the other worker's tests do not do.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbgrader_course import (
    ASSIGNMENT,
    GRADED,
    autograde,
    autograded,
    needs_nbgrader,
    released_course,
    unexpected_errors,
)

from course_lib.tools import notebooks

pytestmark = needs_nbgrader
NBVAL_TAGS = {"raises-exception", notebooks.CHECK_OUTPUT_TAG}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("nbgrader-course"))


def comparable(cell: nbformat.NotebookNode) -> tuple:
    """A cell as nbgrader and our builder should agree on it (our nbval tags left out)."""
    metadata = dict(cell.metadata)
    tags = sorted(set(metadata.pop("tags", [])) - NBVAL_TAGS)
    return cell.cell_type, cell.source, tags, metadata


def test_nbgrader_releases_exactly_what_the_builder_writes(course):
    released = sorted((course / "release" / ASSIGNMENT).glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in notebooks.solution_notebooks()]
    for path in released:
        theirs = nbformat.read(path, as_version=4).cells
        ours = nbformat.read(notebooks.NOTEBOOKS_DIR / path.name, as_version=4).cells
        assert len(theirs) == len(ours), path.name
        for index, (their_cell, our_cell) in enumerate(zip(theirs, ours, strict=True)):
            assert comparable(their_cell) == comparable(our_cell), f"{path.name} cell {index}"


def test_autograde_gives_the_solutions_full_marks(course):
    assert len(GRADED) >= 7
    solved = {name: nbformat.read(notebooks.SOLUTIONS_DIR / name, as_version=4) for name in GRADED}
    scores = autograde(course, "solved", solved)
    assert sum(max_score for _, max_score in scores.values()) >= 16, scores  # one point for every check cell
    for name, (score, max_score) in scores.items():
        assert max_score >= 1 and score == max_score, (name, scores)
        errors = unexpected_errors(autograded(course, "solved", name))
        assert not errors, f"{name}: cells that failed or timed out: {errors}"


FALLBACK = re.compile(r"Note: your (\w+) did not pass its check; using course_lib's reference version")


def with_wrong_first_answer(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, str]:
    """The notebook with its first picked exercise answered ``return None``; returns it and the function's name."""
    picked = {m.group(1) for cell in notebook.cells for m in re.finditer(r"\bpick\((\w+),", cell.source)}
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            function = re.search(r"def (\w+)", cell.source).group(1)
            if function in picked:
                assert "raise NotImplementedError()" in cell.source, function
                cell.source = cell.source.replace("raise NotImplementedError()", "return None")
                return notebook, function
    raise AssertionError("no exercise that later cells pick")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """``(scores, course, wrong function per notebook)`` after autograding the wrong answers."""
    course = released_course(tmp_path_factory.mktemp("nbgrader-course"))
    student = {name: nbformat.read(notebooks.NOTEBOOKS_DIR / name, as_version=4) for name in GRADED}
    wrong = {name: with_wrong_first_answer(notebook) for name, notebook in student.items()}
    scores = autograde(course, "wrong", {name: notebook for name, (notebook, _) in wrong.items()})
    return scores, course, {name: function for name, (_, function) in wrong.items()}


def test_autograde_gives_unwritten_and_wrong_answers_no_points(graded):
    scores, _, _ = graded
    assert len(scores) == len(GRADED) >= 7
    for name, (score, max_score) in scores.items():
        assert max_score >= 1 and score == 0.0, (name, scores)


@pytest.mark.parametrize("name", GRADED)
def test_a_wrong_answer_falls_back_to_the_library_and_the_notebook_runs_on(graded, name):
    _, course, wrong = graded
    notebook = autograded(course, "wrong", name)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    printed = [output.get("text", "") for cell in cells for output in cell.outputs if output.output_type == "stream"]
    assert wrong[name] in {m.group(1) for text in printed for m in FALLBACK.finditer(text)}, (
        f"{name}: no cell said that {wrong[name]} falls back to the reference version"
    )
    failed = [cell for cell in cells if any(output.output_type == "error" for output in cell.outputs)]
    assert any(cell.metadata.get("nbgrader", {}).get("grade") for cell in failed), f"{name}: the wrong answer passed"
    errors = unexpected_errors(notebook)
    assert not errors, f"{name}: cells that should have run on failed: {errors}"
    assert cells[-1].execution_count is not None, f"{name}: the last cell did not run"
