"""Where the recipes' data come from: the bundled chorales, the JSB split, or a folder imported
with ``python -m course_lib data import FOLDER --name NAME``.

Used by :mod:`course_lib.recipes` (notebook 10 trains on an imported folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course_lib import datasets
from course_lib.notes import Piece
from course_lib.pianoroll import PIANO_HIGHEST, PIANO_LOWEST, to_pianoroll

SOURCES = ("chorales", "jsb")  # the bundled data; any other name is an imported folder


def chorale_roll(chorale: Piece) -> np.ndarray:
    """A chorale as a ``(frames, 88)`` roll at one frame per beat, like the JSB rolls."""
    return to_pianoroll(chorale, steps_per_beat=1, lowest=PIANO_LOWEST, highest=PIANO_HIGHEST)


def chorale_data(source: str = "jsb") -> datasets.Splits:
    """The chorale models' data: ``(frames, 88)`` boolean rolls, one frame per beat."""
    if source == "jsb":
        return datasets.load_jsb()
    if source == "chorales":
        return datasets.Splits(*[[chorale_roll(c) for c in part] for part in datasets.load_chorales(by="tune")])
    from course_lib.midi_import import load_imported

    rolls = load_imported(source).rolls  # an imported folder: (frames, 88) at its own steps per beat
    if not rolls.valid:
        raise datasets.DataError(
            f"dataset {source!r} needs at least 3 different files with notes to train and validate on"
        )
    return rolls


def chorale_split(source: str, split: str) -> list[np.ndarray]:
    """One split (``"train"``, ``"valid"`` or ``"test"``) of :func:`chorale_data`: a bundled source
    converts only that split's pieces (an imported folder loads whole)."""
    if source == "jsb":
        return datasets.load_jsb_split(split)
    if source == "chorales":
        return [chorale_roll(c) for c in datasets.load_chorale_split(split, by="tune")]
    return getattr(chorale_data(source), split)


def sounding_lowest(source: str, lowest: int) -> int:
    """The MIDI pitch at which the first key of a roll of ``source`` sounds (``lowest`` as the data writes it).

    The JSB split is written an octave above the pitch Bach wrote (:data:`~course_lib.datasets.JSB_OCTAVE`),
    so its rolls, and the rolls of models trained on it, are heard and engraved an octave down.
    """
    return lowest - datasets.JSB_OCTAVE if source == "jsb" else lowest


def data_file(source: str) -> Path:
    """The file a data source is read from: a bundled file, or an imported dataset's manifest."""
    if source in SOURCES:
        return datasets.JSB_FILE if source == "jsb" else datasets.CHORALES_FILE
    from course_lib.midi_import import IMPORT_DIR, MANIFEST_NAME

    return IMPORT_DIR / source / MANIFEST_NAME


def tempo_of(source: str) -> float:
    """The tempo to play music generated from a source at: the chorales', or an imported folder's."""
    if source in SOURCES:
        return datasets.CHORALE_TEMPO_BPM
    from course_lib.midi_import import load_imported

    return load_imported(source).tempo_bpm


def imported_rate(source: str) -> int:
    """Frames per beat of an imported folder's rolls."""
    from course_lib.midi_import import load_imported

    return load_imported(source).steps_per_beat
