"""nbgrader itself on the course: release every solution notebook, then grade a solved and a wrong student.

The same solutions/ serve two routes: `notebooks build` writes notebooks/, and nbgrader's
`generate_assignment` releases them to a class. This test runs the real nbgrader in a temporary
course folder, released once, and checks that (1) its release has exactly the cells our builder
writes, (2) its gradebook gives every check cell of every notebook a point, and (3) `autograde`
gives solved notebooks full marks with no cell failing or timing out (with the README's
`c.Execute.timeout`; two notebooks, see that test).

Then a student's notebook with a wrong answer and unwritten ones: 0 points, and it runs on. For
every student notebook with exercises, the first exercise that later cells use through ``pick``
gets a deliberately wrong answer (``return None`` where the stub was); the others stay
unwritten. nbgrader's autograde must give every notebook 0 points, and in the notebook it
executed every later cell must have run on the library's version, with a one-line note that the
reference stands in: errors only in cells tagged ``raises-exception`` (the exercises and their checks).

The gradings take about 2.5 minutes, the longest file of the suite, and run in turn on one worker;
a grading whose kernel reply is lost fails within 30 s, saying where (README, "When a notebook run
stalls").
"""

from __future__ import annotations

import re
from pathlib import Path

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
FULL_MARKS_SAMPLE = ("01_midi_bytes.ipynb", "03_rnn_equations.ipynb")  # a parser and NumPy: the quickest two


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


def test_the_release_gives_every_check_cell_of_every_notebook_its_point(course):
    """nbgrader's own gradebook, written by the release: one autograded test cell per ``check`` cell, 1 point each."""
    from nbgrader.api import Gradebook

    assert len(GRADED) >= 7
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for name in GRADED:
            solution = nbformat.read(notebooks.SOLUTIONS_DIR / name, as_version=4)
            checks = [cell for cell in solution.cells if "check" in cell.metadata.get("tags", [])]
            released = gradebook.find_notebook(Path(name).stem, ASSIGNMENT)
            assert len(released.grade_cells) == len(checks) >= 1, name
            assert released.max_score == len(checks), name
        assert sum(gradebook.find_notebook(Path(n).stem, ASSIGNMENT).max_score for n in GRADED) >= 16


def test_autograde_gives_the_solutions_full_marks(course):
    """The whole grading path on solved notebooks: every point awarded, no cell failing.

    Two graded notebooks are autograded, not all: that every check cell passes on every solution is
    what nbval's run of ``solutions/`` proves (no check cell there may raise), every cell of every
    notebook runs in nbgrader's autograde folder in the wrong-answer grading below, and the points
    come from the gradebook test above. Grading all of them solved took 230 s of the suite's 500.
    """
    solved = {name: nbformat.read(notebooks.SOLUTIONS_DIR / name, as_version=4) for name in FULL_MARKS_SAMPLE}
    scores = autograde(course, "solved", solved)
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
def graded(course):
    """``(scores, course, wrong function per notebook)`` after autograding the wrong answers."""
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
