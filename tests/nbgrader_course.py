"""A temporary nbgrader course of the solution notebooks, for tests/test_nbgrader*.py.

nbgrader needs Python 3.11+; CI sets COURSE_REQUIRE_NBGRADER=1 so a missing nbgrader fails there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.tools import notebooks

try:
    import nbgrader  # noqa: F401

    MISSING = None
except ImportError:
    MISSING = "nbgrader is not installed (pip install -r requirements-instructor.txt on Python 3.11+)"
if MISSING and os.environ.get("COURSE_REQUIRE_NBGRADER") == "1":
    raise RuntimeError(f"COURSE_REQUIRE_NBGRADER=1 but {MISSING}")
needs_nbgrader = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

ASSIGNMENT = "course"
# nbgrader stops a cell after 30 s by default, which cuts off the notebooks' training cells; the
# README tells instructors to set this, and the tests grade with it.
NBGRADER_CONFIG = """
from nbconvert.preprocessors import TagRemovePreprocessor
from nbgrader.converters import GenerateAssignment

from course_lib.tools.nbgrader_execute import watched_autograde_steps

c = get_config()
c.CourseDirectory.root = {root!r}
c.Execute.timeout = 900
# A cell whose kernel went idle without its reply fails within 30 s, saying where
# (README, "When a notebook run stalls").
c.Autograde.autograde_preprocessors = watched_autograde_steps()
# The solutions' provenance cell (how their stored outputs were made) is the instructor's: the
# release leaves it out, as the student build does (README, instructor guide).
release_steps = GenerateAssignment.class_traits()["preprocessors"].default()
c.GenerateAssignment.preprocessors = [TagRemovePreprocessor, *release_steps]
c.TagRemovePreprocessor.remove_cell_tags = {{"provenance"}}
c.TagRemovePreprocessor.enabled = True
"""
GRADED = [path.name for path in notebooks.solution_notebooks() if notebooks.BEGIN_SOLUTION in path.read_text()]


def nbgrader_cli(course: Path, *args: str, tries: int = 2) -> None:
    """Run an nbgrader command in the course folder, and log how many tries it took.

    One try is the norm. The second try is a guard, not a cure: it is taken only when a cell lost its
    kernel reply (``LostReplyError``, raised within 30 s by the course's watch) or the command ran
    past 6 minutes. The log is the one conftest names for the run; its summary prints it
    (README, "When a notebook run stalls").
    """
    env = dict(os.environ, COURSE_QUICK="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    command = [sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"]
    reasons = []
    started = time.perf_counter()
    for attempt in range(1, tries + 1):
        try:
            result = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=360)
        except subprocess.TimeoutExpired:
            reasons.append("ran past 6 minutes")
            if attempt == tries:
                log_tries(args, attempt, started, reasons)
                raise
            continue
        lost = [line for line in result.stderr.splitlines() if "LostReplyError" in line]
        if result.returncode == 0 or not lost or attempt == tries:
            break
        reasons.append(lost[-1].strip())
    log_tries(args, attempt, started, reasons)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"


def log_tries(args: tuple[str, ...], tries: int, started: float, reasons: list[str]) -> None:
    log = Path(os.environ.get("COURSE_NBGRADER_TRIES_LOG", "output/nbgrader-tries.log"))
    log.parent.mkdir(parents=True, exist_ok=True)
    seconds = time.perf_counter() - started
    line = f"nbgrader {' '.join(args)}: {tries} {'try' if tries == 1 else 'tries'}, {seconds:.0f} s"
    with log.open("a") as out:
        out.write("; ".join([line, *reasons]) + "\n")


def released_course(root: Path) -> Path:
    """A course folder in ``root`` whose assignment nbgrader has released from every solution notebook."""
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root)))
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in notebooks.solution_notebooks():
        shutil.copy(path, source / path.name)
    nbgrader_cli(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def autograde(course: Path, student: str, submission: dict[str, nbformat.NotebookNode]) -> dict[str, tuple]:
    """Submits ``submission`` (notebook name -> notebook) as ``student``, autogrades it, and returns
    each notebook's ``(score, max_score)`` from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, notebook in submission.items():
        nbformat.write(notebook, folder / name)
    nbgrader_cli(course, "autograde", ASSIGNMENT, "--student", student, "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        graded = {name: gradebook.find_submission_notebook(Path(name).stem, ASSIGNMENT, student) for name in submission}
        return {name: (notebook.score, notebook.max_score) for name, notebook in graded.items()}


def autograded(course: Path, student: str, name: str) -> nbformat.NotebookNode:
    """The notebook as nbgrader executed and graded it, outputs included."""
    return nbformat.read(course / "autograded" / student / ASSIGNMENT / name, as_version=4)


def unexpected_errors(notebook: nbformat.NotebookNode) -> list[str]:
    """The cells that failed without a ``raises-exception`` tag (the exercises' checks have one), with their errors."""
    return [
        f"{cell.source[:60]!r}: {output.ename}"
        for cell in notebook.cells
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", [])
        for output in cell.outputs
        if output.output_type == "error"
    ]
