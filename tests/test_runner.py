"""The stored outputs of solutions/ and the note that says how they were made (course_lib.tools.runner)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import nbformat

from course_lib.tools import notebooks
from course_lib.tools.runner import provenance_text, set_provenance

PROVENANCE = re.compile(
    r"run in full mode \(what you run\) on \d{4}-\d\d-\d\d \(.+, \d+ CPU cores, .+; Python [\d.]+, "
    r"Keras [\d.]+ on (jax|tensorflow|torch) [\w.+]+\)\. The notebook took \d+ min \d+ s"
)


def test_the_provenance_note_says_mode_date_machine_backend_and_time() -> None:
    text = provenance_text(125.4, quick=False, when=datetime(2026, 12, 3, tzinfo=timezone.utc))
    assert PROVENANCE.search(text), text
    assert "on 2026-12-03" in text and "took 2 min 5 s" in text
    assert "quick mode (`COURSE_QUICK=1`" in provenance_text(3, quick=True)


def test_the_provenance_cell_sits_under_the_title_once_and_students_never_see_it() -> None:
    solution = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# 99 · Title"), nbformat.v4.new_code_cell("print(1)")]
    )
    set_provenance(solution, "first run")
    set_provenance(solution, "second run")
    assert [c.source for c in solution.cells] == ["# 99 · Title", "second run", "print(1)"]
    assert notebooks.PROVENANCE_TAG in solution.cells[1].metadata["tags"]
    student = notebooks.student_version(solution)
    assert [c.source for c in student.cells] == ["# 99 · Title", "print(1)"]


def test_every_solution_holds_a_full_run_and_says_so() -> None:
    for path in notebooks.solution_notebooks():
        notebook = nbformat.read(path, as_version=4)
        notes = [c for c in notebook.cells if notebooks.PROVENANCE_TAG in c.metadata.get("tags", [])]
        assert len(notes) == 1 and notebook.cells[1] is notes[0], f"{path.name}: run python -m course_lib notebooks run"
        assert PROVENANCE.search(notes[0].source), f"{path.name}: its stored outputs are not from a full run"
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{path.name}: a cell was not run"
