"""Melody lines as tokens: notebook 05's data, and the melody model's in the recipe table.

The chorales' soprano lines at four steps per beat (split by tune), the top line of the JSB
rolls at one step per beat, or the melodies of a folder imported with ``python -m course_lib data
import``; and the windows of tokens a melody LSTM trains on.

Notebook: 05_lstm_melody
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import datasets
from course_lib.notes import Piece, monophonic, quantise
from course_lib.pianoroll import PIANO_LOWEST
from course_lib.tokens import HOLD, REST, MelodyVocabulary

MELODY_WINDOW = 64  # tokens a training window predicts (4 bars of 4/4 at 4 steps per beat)


@dataclass
class MelodyData:
    """Token sequences of monophonic lines, split by tune (chorales) or by the JSB split.

    Notebook: 05_lstm_melody
    """

    vocabulary: MelodyVocabulary
    steps_per_beat: int
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]
    source: str


def soprano_tokens(chorale: Piece, vocabulary: MelodyVocabulary, steps_per_beat: int = 4) -> np.ndarray:
    """A chorale's soprano line as tokens (quantised, one note at a time).

    Notebook: 05_lstm_melody
    """
    return np.array(vocabulary.encode(monophonic(quantise(chorale.voice(0), steps_per_beat)), steps_per_beat))


def top_line_tokens(roll: np.ndarray, vocabulary: MelodyVocabulary, lowest: int = PIANO_LOWEST) -> np.ndarray:
    """The highest sounding key of each frame of a roll as tokens; the same key again is a hold.

    A roll cannot tell a repeated note from a held one, so repeated notes merge.

    Notebook: 05_lstm_melody
    """
    tokens, previous = [], None
    for frame in np.asarray(roll, dtype=bool):
        keys = np.flatnonzero(frame)
        pitch = int(keys[-1]) + lowest if len(keys) else None
        tokens.append(REST if pitch is None else HOLD if pitch == previous else vocabulary.token(pitch))
        previous = pitch
    return np.array(tokens)


def melody_data(source: str = "chorales") -> MelodyData:
    """The melody model's data: soprano lines at 4 steps per beat split by tune, or JSB top lines per beat.

    Notebook: 05_lstm_melody
    """
    if source == "chorales":
        splits = datasets.load_chorales(by="tune")
        pitches = [note.pitch for part in splits for chorale in part for note in chorale.voice(0)]
        vocabulary = MelodyVocabulary(min(pitches), max(pitches))
        return MelodyData(vocabulary, 4, *(_lines(source, part, vocabulary) for part in splits), source)
    if source == "jsb":
        splits = datasets.load_jsb()
        tops = [int(np.flatnonzero(roll.any(axis=0))[-1]) + PIANO_LOWEST for part in splits for roll in part]
        bottoms = [int(np.flatnonzero(roll.any(axis=0))[0]) + PIANO_LOWEST for part in splits for roll in part]
        vocabulary = MelodyVocabulary(min(bottoms), max(tops))
        return MelodyData(vocabulary, 1, *(_lines(source, part, vocabulary) for part in splits), source)
    return imported_melody_data(source)


def melody_split(source: str, split: str, vocabulary: MelodyVocabulary) -> list[np.ndarray]:
    """One split (``"train"``, ``"valid"`` or ``"test"``) of :func:`melody_data`, read in a trained model's
    ``vocabulary``: only that split's pieces become tokens. An imported folder loads whole, in its own.
    """
    if source == "chorales":
        return _lines(source, datasets.load_chorale_split(split, by="tune"), vocabulary)
    if source == "jsb":
        return _lines(source, datasets.load_jsb_split(split), vocabulary)
    return getattr(imported_melody_data(source), split)


def _lines(source: str, pieces: list, vocabulary: MelodyVocabulary) -> list[np.ndarray]:
    """The melody of each piece as tokens: a chorale's soprano, or a JSB roll's top line."""
    tokens = soprano_tokens if source == "chorales" else top_line_tokens
    return [tokens(piece, vocabulary) for piece in pieces]


def imported_melody_data(name: str) -> MelodyData:
    """The melody lines of a folder imported by ``data import``, with a vocabulary cut to their range."""
    from course_lib.midi_import import load_imported

    imported = load_imported(name)
    tokens = [t for part in imported.melodies for t in part]
    pitched = np.concatenate([t[t >= 2] for t in tokens] or [np.zeros(0, int)])
    if not imported.melodies.valid or not pitched.size:
        raise datasets.DataError(
            f"dataset {name!r} needs at least 3 different files with notes to train and validate on"
        )
    lowest, highest = int(pitched.min()) - 2, int(pitched.max()) - 2
    parts = [[np.where(t >= 2, t - lowest, t) for t in part] for part in imported.melodies]
    for label, part in zip(("training", "validation"), parts[:2], strict=True):
        if not any(len(t) > MELODY_WINDOW for t in part):
            raise datasets.DataError(
                f"every {label} piece of {name!r} is shorter than the melody model's window of {MELODY_WINDOW + 1} "
                f"steps ({imported.steps_per_beat} per beat): import longer files or a finer --steps-per-beat"
            )
    return MelodyData(MelodyVocabulary(lowest, highest), imported.steps_per_beat, *parts, name)


def melody_windows(sequences: list[np.ndarray], length: int = MELODY_WINDOW + 1, hop: int = 8) -> np.ndarray:
    """Windows of ``length`` tokens from every sequence, stacked: the model's training examples.

    Notebook: 05_lstm_melody
    """
    parts = [datasets.windows(sequence, length, hop) for sequence in sequences]
    return np.concatenate([p for p in parts if len(p)] or [np.empty((0, length), int)]).astype("int32")
