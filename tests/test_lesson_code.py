"""The lesson code in the notebooks is the library's code, line for line.

Notebooks 05-07 show the student the model builders, the MADE layer and the GAN with its
`train_step` in their cells, notebook 09 the harmoniser and its interval bias, notebook 11 the
Transformer's layers and builder, and run those cells.
The library keeps one copy of the same code (the command line and the other notebooks use it).
A cell that opens with the lesson-code comment must define exactly what the named module
defines, so the two can never drift apart.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

from course_lib.tools import notebooks

MARK = re.compile(r"^# Lesson code: course_lib\.(\w+) holds the same lines")
LESSONS = {
    "05_lstm_melody.ipynb": {"models.melody_lstm"},
    "06_lstm_chorales.ipynb": {"models.pianoroll_lstm", "models.MaskedDense", "models.MadeOutput", "models.lstm_made"},
    "07_gan_pianoroll.ipynb": {"gan.make_generator", "gan.make_critic", "gan.PianoRollGAN"},
    "09_four_voices.ipynb": {
        *("satb_model.satb_harmoniser", "satb_model.voice_logits", "satb_model.sample_step"),
        *("voice_intervals.candidates", "voice_intervals.parallel_with", "voice_intervals.interval_bias"),
        *("voice_intervals.VoiceLeadingLoss", "voice_intervals.unlikelihood"),
    },
    "11_attention.ipynb": {
        *("transformer.skew_ops", "transformer.RelativeSelfAttention", "transformer.DecoderBlock"),
        *("transformer.AddPositions", "transformer.melody_transformer", "transformer.transformer_made"),
        *("transformer_sampling.attend_one", "transformer_sampling.block_one"),
    },
}


def lesson_definitions(path: Path) -> dict[str, str]:
    """``{"module.name": source}`` for every function or class in the notebook's lesson-code cells."""
    found = {}
    for cell in nbformat.read(path, as_version=4).cells:
        match = MARK.match(cell.source) if cell.cell_type == "code" else None
        if not match:
            continue
        lines = cell.source.splitlines()
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                found[f"{match.group(1)}.{node.name}"] = "\n".join(lines[first - 1 : node.end_lineno])
    return found


def drift(path: Path) -> list[str]:
    """The lesson definitions of a notebook that differ from the library's source."""
    problems = []
    for qualified, source in lesson_definitions(path).items():
        module, name = qualified.split(".")
        library = inspect.getsource(getattr(importlib.import_module(f"course_lib.{module}"), name)).rstrip()
        if source.rstrip() != library:
            problems.append(f"{path.name}: {qualified} differs from course_lib/{module}.py")
    return problems


@pytest.mark.parametrize("folder", [notebooks.SOLUTIONS_DIR, notebooks.NOTEBOOKS_DIR], ids=["solutions", "notebooks"])
@pytest.mark.parametrize("name", sorted(LESSONS))
def test_each_notebook_shows_its_lesson_code_as_the_library_has_it(folder, name):
    path = folder / name
    assert set(lesson_definitions(path)) == LESSONS[name]
    assert drift(path) == []


def test_an_edited_copy_is_caught(tmp_path):
    notebook = nbformat.read(notebooks.SOLUTIONS_DIR / "05_lstm_melody.ipynb", as_version=4)
    for cell in notebook.cells:
        if MARK.match(cell.source):
            cell.source = cell.source.replace("units: int = 256", "units: int = 512")
    nbformat.write(notebook, tmp_path / "05_lstm_melody.ipynb")
    assert drift(tmp_path / "05_lstm_melody.ipynb") == [
        "05_lstm_melody.ipynb: models.melody_lstm differs from course_lib/models.py"
    ]
