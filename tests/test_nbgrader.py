"""nbgrader itself on the course: release every solution notebook, then grade the solutions.

The same solutions/ serve two routes: `notebooks build` writes notebooks/, and nbgrader's
`generate_assignment` releases them to a class. This test runs the real nbgrader in a temporary
course folder and checks that (1) its release has exactly the cells our builder writes, and
(2) `autograde` gives the solutions full marks, notebook by notebook, with no cell failing or
timing out (with the README's `c.Execute.timeout`). A student's unfilled and
wrong answers are graded in tests/test_nbgrader_wrong_answers.py (a file of its own, so that
pytest-xdist runs the two gradings side by side).
"""

from __future__ import annotations

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
