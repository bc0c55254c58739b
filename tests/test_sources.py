"""Where the recipes' data come from (course_lib.sources), and the rule of one loader per data set: only
datasets (the bundled files) and midi_import (an imported folder) read data files; the model-facing
loaders convert what those return."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import course_lib
from course_lib import datasets, sources
from course_lib.midi_import import IMPORT_DIR, MANIFEST_NAME
from course_lib.notes import Note, Piece
from course_lib.pianoroll import PIANO_LOWEST

CONVERTERS = ("melodies", "sources", "gan", "harmonising")  # each model's view of the data sets
READS_A_FILE = ("load", "open", "read_bytes", "read_text", "loadtxt", "ZipFile")


def file_reads(module: str) -> list[str]:
    """The calls in ``course_lib/MODULE.py`` that read a file (``np.load``, ``open``, ``path.read_bytes``...)."""
    tree = ast.parse((Path(course_lib.__file__).parent / f"{module}.py").read_text())
    calls = (node for node in ast.walk(tree) if isinstance(node, ast.Call))
    return [ast.unparse(call.func) for call in calls if ast.unparse(call.func).split(".")[-1] in READS_A_FILE]


@pytest.mark.parametrize("module", CONVERTERS)
def test_the_models_loaders_convert_and_read_no_file(module):
    assert file_reads(module) == []


def test_the_rule_finds_the_file_reads_of_the_loaders():
    assert "np.load" in file_reads("datasets") and "np.load" in file_reads("midi_import")


def test_a_chorale_is_a_roll_at_one_frame_per_beat():
    chorale = Piece([Note(0.0, 2.0, 60, voice=0), Note(1.0, 2.0, 48, voice=3)])
    roll = sources.chorale_roll(chorale)
    assert roll.shape == (2, 88) and roll.dtype == bool
    assert roll[:, 60 - PIANO_LOWEST].all() and roll[:, 48 - PIANO_LOWEST].tolist() == [False, True]


def test_one_split_of_the_jsb_rolls_is_that_split_of_the_whole():
    whole = sources.chorale_data("jsb")
    test = sources.chorale_split("jsb", "test")
    assert len(test) == len(whole.test) == 77
    for mine, theirs in zip(test, whole.test, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_each_source_names_its_file_and_tempo():
    assert sources.data_file("jsb") == datasets.JSB_FILE
    assert sources.data_file("chorales") == datasets.CHORALES_FILE
    assert sources.data_file("mine") == IMPORT_DIR / "mine" / MANIFEST_NAME  # an imported folder's manifest
    assert sources.tempo_of("jsb") == sources.tempo_of("chorales") == datasets.CHORALE_TEMPO_BPM


def test_an_unknown_source_is_a_missing_imported_folder():
    with pytest.raises(datasets.DataError):
        sources.chorale_data("no-such-folder-imported")
