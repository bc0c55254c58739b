"""Student notebooks from solutions (instructor tooling: ``python -m course_lib notebooks build``).

``solutions/`` is the source. Exercise code sits between nbgrader's markers; this module
turns each solution notebook into its student version:

- code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the same indentation;
- lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed;
- nbgrader's cell metadata is kept, locked and checksummed as ``nbgrader generate_assignment``
  does, so both routes give the same cells (``tests/test_nbgrader.py`` compares them);
- cells tagged ``check`` (and cells holding a stub) get nbval's ``raises-exception`` tag,
  so the unfilled notebook still runs top to bottom;
- ``# NBVAL_CHECK_OUTPUT`` markers and ``nbval-check-output`` tags, outputs and execution
  counts are cleared, and the cell tagged ``provenance`` (how the stored outputs were made) is left
  out.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent.parent
SOLUTIONS_DIR = ROOT / "solutions"
NOTEBOOKS_DIR = ROOT / "notebooks"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECK_OUTPUT_MARKER = "# NBVAL_CHECK_OUTPUT"
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")  # nbgrader's own stub
CHECK_OUTPUT_TAG = "nbval-check-output"
MARKDOWN_STUB = "YOUR ANSWER HERE"
PROVENANCE_TAG = "provenance"  # the solution's note on how its stored outputs were made (tools.runner)
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


def strip_solutions(source: str, markdown: bool = False) -> tuple[str, bool]:
    """Replace solution blocks by stubs and drop hidden tests; return ``(source, had_solution)``."""
    out: list[str] = []
    had_solution = False
    skipping = None
    for line in source.splitlines():
        stripped = line.strip()
        if skipping:
            if stripped == skipping:
                skipping = None
            continue
        if stripped == BEGIN_SOLUTION:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend([MARKDOWN_STUB] if markdown else [indent + stub for stub in STUB_LINES])
            skipping, had_solution = END_SOLUTION, True
        elif stripped == BEGIN_HIDDEN:
            skipping = END_HIDDEN
        elif not markdown and stripped == CHECK_OUTPUT_MARKER:
            continue
        else:
            out.append(line)
    if skipping:
        raise ValueError(f"unclosed block: expected {skipping!r}")
    return "\n".join(out).lstrip("\n"), had_solution


def student_version(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook for one solution notebook (a new object; the input is unchanged)."""
    notebook = nbformat.v4.new_notebook(metadata=_clean_metadata(solution.metadata), cells=[])
    for cell in solution.cells:
        tags = [t for t in cell.get("metadata", {}).get("tags", []) if t != CHECK_OUTPUT_TAG]
        if PROVENANCE_TAG in tags:
            continue  # how the stored outputs were made: students have no stored outputs
        if cell.cell_type == "code":
            source, had_solution = strip_solutions(cell.source)
            if had_solution or "check" in tags:
                tags.append("raises-exception")
            new = nbformat.v4.new_code_cell(source)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(strip_solutions(cell.source, markdown=True)[0])
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        if tags:
            new.metadata["tags"] = sorted(set(tags))
        if "nbgrader" in cell.get("metadata", {}):
            _lock_as_nbgrader_does(new, dict(cell.metadata["nbgrader"]))
        new.id = cell.get("id", new.id)
        notebook.cells.append(new)
    return notebook


def _lock_as_nbgrader_does(cell: nbformat.NotebookNode, grading: dict) -> None:
    """Copy nbgrader's metadata onto a released cell, with nbgrader's locks and checksum."""
    solution, grade = bool(grading.get("solution")), bool(grading.get("grade"))
    locked = not solution and (grade or bool(grading.get("locked")))  # nbgrader.utils.is_locked
    grading["cell_type"] = cell.cell_type
    grading.pop("checksum", None)
    if solution or locked:
        cell.metadata["deletable"] = False
        grading["checksum"] = nbgrader_checksum(cell.source, grading, locked)
    if locked:
        cell.metadata["editable"] = False
    cell.metadata["nbgrader"] = grading


def nbgrader_checksum(source: str, grading: dict, locked: bool) -> str:
    """The checksum nbgrader stores on a released cell (nbgrader.utils.compute_checksum's recipe)."""
    digest = hashlib.md5()
    for part in (source, grading["cell_type"], str(bool(grading.get("grade"))), str(bool(grading.get("solution")))):
        digest.update(part.encode())
    digest.update(str(locked).encode())
    digest.update(grading["grade_id"].encode())
    if grading.get("grade"):
        digest.update(str(float(grading["points"])).encode())
    return digest.hexdigest()


def _clean_metadata(metadata: dict) -> dict:
    keep = {k: metadata[k] for k in ("kernelspec", "language_info") if k in metadata}
    if "language_info" in keep:
        keep["language_info"] = {"name": keep["language_info"].get("name", "python")}
    return keep


def solution_notebooks(solutions_dir: Path = SOLUTIONS_DIR) -> list[Path]:
    """The numbered solution notebooks, in order."""
    return sorted(p for p in solutions_dir.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))


def render(notebook: nbformat.NotebookNode) -> str:
    """The exact text a notebook file is written as."""
    return nbformat.writes(notebook) + "\n"


def build_student_notebooks(solutions_dir: Path = SOLUTIONS_DIR, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Write ``notebooks/NN_name.ipynb`` for every solution; return the files written."""
    notebooks_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in solution_notebooks(solutions_dir):
        target = notebooks_dir / path.name
        target.write_text(render(student_version(nbformat.read(path, as_version=4))))
        written.append(target)
    return written


def out_of_sync(solutions_dir: Path = SOLUTIONS_DIR, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """Names of student notebooks that differ from what the build would write (or are extra)."""
    problems = []
    expected = {
        p.name: render(student_version(nbformat.read(p, as_version=4))) for p in solution_notebooks(solutions_dir)
    }
    for name, text in expected.items():
        target = notebooks_dir / name
        if not target.exists():
            problems.append(f"{name}: missing")
        elif target.read_text() != text:
            problems.append(f"{name}: differs from its solution's build")
    for path in notebooks_dir.glob("*.ipynb"):
        if path.name not in expected:
            problems.append(f"{path.name}: has no solution notebook")
    return problems
