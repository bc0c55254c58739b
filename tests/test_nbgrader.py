"""nbgrader itself on the course: release every solution notebook, then grade two submissions.

The same solutions/ serve two routes: `notebooks build` writes notebooks/, and nbgrader's
`generate_assignment` releases them to a class. This test runs the real nbgrader in a temporary
course folder and checks that (1) its release has exactly the cells our builder writes, and
(2) `autograde` gives the unfilled student notebooks 0 points and the solutions full marks.
nbgrader needs Python 3.11+; CI sets COURSE_REQUIRE_NBGRADER=1 so a missing nbgrader fails there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.tools import notebooks as exercises

try:
    import nbgrader  # noqa: F401

    MISSING = None
except ImportError:
    MISSING = "nbgrader is not installed (pip install -r requirements.txt on Python 3.11+)"
if MISSING and os.environ.get("COURSE_REQUIRE_NBGRADER") == "1":
    raise RuntimeError(f"COURSE_REQUIRE_NBGRADER=1 but {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

ASSIGNMENT = "course"
NBVAL_TAGS = {"raises-exception", exercises.CHECK_OUTPUT_TAG}


def nbgrader_cli(course: Path, *args: str) -> None:
    env = dict(os.environ, COURSE_QUICK="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"


def comparable(cell: nbformat.NotebookNode) -> tuple:
    """A cell as nbgrader and our builder should agree on it (our nbval tags left out)."""
    metadata = dict(cell.metadata)
    tags = sorted(set(metadata.pop("tags", [])) - NBVAL_TAGS)
    return cell.cell_type, cell.source, tags, metadata


def scores(course: Path) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            student: (
                gradebook.find_submission(ASSIGNMENT, student).score,
                gradebook.find_submission(ASSIGNMENT, student).max_score,
            )
            for student in ("unfilled", "solved")
        }


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nbgrader-course")
    (root / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n")
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in exercises.solution_notebooks():
        shutil.copy(path, source / path.name)
    nbgrader_cli(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def test_nbgrader_releases_exactly_what_the_builder_writes(course):
    released = sorted((course / "release" / ASSIGNMENT).glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in exercises.solution_notebooks()]
    for path in released:
        theirs = nbformat.read(path, as_version=4).cells
        ours = nbformat.read(exercises.NOTEBOOKS_DIR / path.name, as_version=4).cells
        assert len(theirs) == len(ours), path.name
        for index, (their_cell, our_cell) in enumerate(zip(theirs, ours, strict=True)):
            assert comparable(their_cell) == comparable(our_cell), f"{path.name} cell {index}"


def test_autograde_scores_unfilled_zero_and_solutions_full_marks(course):
    graded = [p for p in exercises.solution_notebooks() if "### BEGIN SOLUTION" in p.read_text()]
    assert len(graded) >= 7
    for student, folder in (("unfilled", exercises.NOTEBOOKS_DIR), ("solved", exercises.SOLUTIONS_DIR)):
        submission = course / "submitted" / student / ASSIGNMENT
        submission.mkdir(parents=True)
        for path in graded:
            shutil.copy(folder / path.name, submission / path.name)
    nbgrader_cli(course, "autograde", ASSIGNMENT, "--force")
    result = scores(course)
    unfilled_score, max_score = result["unfilled"]
    solved_score, _ = result["solved"]
    assert max_score >= 16, result  # one point for every check cell
    assert unfilled_score == 0.0, result
    assert solved_score == max_score, result
