"""nbgrader cell metadata for the solution notebooks, derived from their markers and tags.

The solution notebooks are the one source for two routes to the student: our own builder
(``python -m course_lib notebooks build`` writes ``notebooks/``) and nbgrader
(``nbgrader generate_assignment`` on ``solutions/``). Both need to know which cell holds a
solution and which cell grades it. The markers say so already; this module writes it in
nbgrader's own cell metadata:

- a code cell with ``### BEGIN SOLUTION`` is a *solution* cell, its id the function it defines;
- a cell tagged ``check`` is an *autograded test* worth one point (nbgrader locks it), its id
  the check it calls; its ``### BEGIN HIDDEN TESTS`` block is graded but not released;
- a ``# NBVAL_CHECK_OUTPUT`` comment becomes nbval's ``nbval-check-output`` tag, so neither
  route shows it to the student.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from course_lib.tools import notebooks

SCHEMA_VERSION = 3
POINTS_PER_CHECK = 1
_DEFINED = re.compile(r"^\s*(?:def|class)\s+(\w+)", re.MULTILINE)
_CHECK_CALL = re.compile(r"\b(check_\w+)\s*\(")


def solution_cell_id(source: str, index: int) -> str:
    """The grade id of a solution cell: the first function or class it defines."""
    match = _DEFINED.search(source)
    return match.group(1) if match else f"solution-{index}"


def check_cell_id(source: str, index: int) -> str:
    """The grade id of a check cell: the first ``check_...`` function it calls."""
    match = _CHECK_CALL.search(source)
    return match.group(1) if match else f"check-{index}"


def cell_metadata(kind: str, grade_id: str) -> dict:
    """nbgrader's metadata for a ``"solution"`` or ``"check"`` cell."""
    metadata = {
        "grade": kind == "check",
        "grade_id": grade_id,
        "locked": kind == "check",
        "schema_version": SCHEMA_VERSION,
        "solution": kind == "solution",
        "task": False,
    }
    if kind == "check":
        metadata["points"] = POINTS_PER_CHECK
    return metadata


def _move_check_output_marker(cell: nbformat.NotebookNode) -> None:
    lines = cell.source.splitlines()
    kept = [line for line in lines if line.strip() != notebooks.CHECK_OUTPUT_MARKER]
    if len(kept) != len(lines):
        cell.source = "\n".join(kept).lstrip("\n")
        tags = cell.metadata.setdefault("tags", [])
        if notebooks.CHECK_OUTPUT_TAG not in tags:
            tags.append(notebooks.CHECK_OUTPUT_TAG)


def tag_for_nbgrader(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Write nbgrader metadata on every solution and check cell of a solution notebook, in place.

    Idempotent; other cells lose any stale nbgrader metadata. Grade ids are unique per notebook.
    """
    seen: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type != "code":
            continue
        _move_check_output_marker(cell)
        if notebooks.BEGIN_SOLUTION in cell.source:
            kind, grade_id = "solution", solution_cell_id(cell.source, index)
        elif "check" in cell.metadata.get("tags", []):
            kind, grade_id = "check", check_cell_id(cell.source, index)
        else:
            continue
        if grade_id in seen:
            grade_id = f"{grade_id}-{index}"
        seen.add(grade_id)
        cell.metadata["nbgrader"] = cell_metadata(kind, grade_id)
    return notebook


def untagged_solutions(solutions_dir: Path = notebooks.SOLUTIONS_DIR) -> list[str]:
    """Solution notebooks whose nbgrader metadata is missing or stale."""
    stale = []
    for path in notebooks.solution_notebooks(solutions_dir):
        notebook = nbformat.read(path, as_version=4)
        if notebooks.render(tag_for_nbgrader(copy.deepcopy(notebook))) != notebooks.render(notebook):
            stale.append(path.name)
    return stale


def tag_solutions(solutions_dir: Path = notebooks.SOLUTIONS_DIR) -> list[Path]:
    """Write nbgrader metadata into every solution notebook that lacks it; return those rewritten."""
    written = []
    for path in notebooks.solution_notebooks(solutions_dir):
        text = path.read_text()
        tagged = notebooks.render(tag_for_nbgrader(nbformat.reads(text, as_version=4)))
        if tagged != text:
            path.write_text(tagged)
            written.append(path)
    return written
