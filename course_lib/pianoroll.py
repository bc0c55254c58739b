"""Notes <-> piano rolls: a boolean grid of time steps by pitches.

A roll has shape ``(time, pitch)`` (or ``(voice, time, pitch)`` per voice): time first, as
models read it. Row ``t`` covers beats ``[t / steps_per_beat, (t + 1) / steps_per_beat)``
and column ``k`` is MIDI pitch ``lowest + k``.

Notebook: 02_representations
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from course_lib.errors import TooLargeError, human_size
from course_lib.notes import Note, Piece, TempoMap, as_notes

PIANO_LOWEST = 21  # A0
PIANO_HIGHEST = 108  # C8
MAX_ROLL_BYTES = 512 * 2**20  # a roll bigger than this is refused before it is allocated


def to_pianoroll(
    music: Piece | Iterable[Note],
    steps_per_beat: int = 4,
    lowest: int = PIANO_LOWEST,
    highest: int = PIANO_HIGHEST,
    n_steps: int | None = None,
    by_voice: bool = False,
    voices: Sequence[int] | None = None,
    max_beats: float | None = None,
    drums: bool = False,
) -> np.ndarray:
    """Rasterise notes onto a grid.

    Onsets and releases are rounded to the nearest step; a note shorter than half a step
    still fills one step. Pitches outside ``lowest..highest`` are dropped, and so are a
    :class:`Piece`'s drum voices unless ``drums`` is true.

    Parameters
    ----------
    steps_per_beat : int
        Time resolution (4 = sixteenth notes in 4/4).
    lowest, highest : int
        Pitch range, inclusive; the roll has ``highest - lowest + 1`` columns.
    n_steps : int, optional
        Number of rows; defaults to just long enough for the last note.
    by_voice : bool
        If true, return ``(n_voices, n_steps, n_pitches)`` with one roll per voice.
    voices : sequence of int, optional
        With ``by_voice``, the voice numbers to give layers to, in order (default: those present).
    max_beats : float, optional
        Cut the music here: later notes are left out, longer ones shortened.

    A roll larger than :data:`MAX_ROLL_BYTES` raises :class:`~course_lib.errors.TooLargeError`
    before anything is allocated (an hours-long note would otherwise ask for gigabytes).

    Notebook: 02_representations
    """
    notes = as_notes(music)
    if isinstance(music, Piece) and music.drum_voices and not drums:
        notes = music.pitched_notes
    if max_beats is not None:
        notes = [replace(n, end=min(n.end, max_beats)) for n in notes if n.start < max_beats]
    starts = _steps([n.start for n in notes], steps_per_beat)
    ends = np.maximum(_steps([n.end for n in notes], steps_per_beat), starts + 1)  # at least one step
    if n_steps is None:
        n_steps = int(ends.max()) if len(notes) else 0
    n_pitches = highest - lowest + 1
    layers = list(voices) if voices is not None else sorted({n.voice for n in notes})
    layer_of = {voice: i for i, voice in enumerate(layers)} if by_voice else {}
    n_layers = len(layers) if by_voice else 1
    check_roll_size(n_layers * n_steps * n_pitches, n_steps, steps_per_beat)
    roll = np.zeros((n_layers, n_steps, n_pitches), dtype=bool)
    for note, start, end in zip(notes, starts.tolist(), ends.tolist(), strict=True):
        if not lowest <= note.pitch <= highest:
            continue
        if by_voice and note.voice not in layer_of:
            continue
        roll[layer_of.get(note.voice, 0), start:end, note.pitch - lowest] = True
    return roll if by_voice else roll[0]


def check_roll_size(n_bytes: int, n_steps: int, steps_per_beat: int) -> None:
    """Raise :class:`~course_lib.errors.TooLargeError` if a roll of ``n_bytes`` is over :data:`MAX_ROLL_BYTES`."""
    if n_bytes > MAX_ROLL_BYTES:
        raise TooLargeError(
            f"this music would need a {human_size(n_bytes)} piano roll ({n_steps:,} steps, "
            f"{n_steps / steps_per_beat:,.0f} beats at {steps_per_beat} steps per beat; the limit is "
            f"{human_size(MAX_ROLL_BYTES)}): pass max_beats=... to cut it, or a coarser grid"
        )


def _steps(beats: Sequence[float], steps_per_beat: int) -> np.ndarray:
    """The grid step of each beat, as int64: floor(x + 0.5) rounds half up, so 0.5 steps never becomes the even 0."""
    return np.maximum(np.floor(np.asarray(beats, dtype=np.float64) * steps_per_beat + 0.5), 0).astype(np.int64)


def from_pianoroll(
    roll: np.ndarray,
    steps_per_beat: int = 4,
    lowest: int = PIANO_LOWEST,
    velocity: int = 80,
    voice: int = 0,
) -> list[Note]:
    """Notes from a roll: each run of consecutive active steps of a pitch is one note.

    A roll cannot tell a held note from the same pitch struck again on the next step, so
    repeated notes merge; a 3-D roll gives one voice per layer.

    Notebook: 02_representations
    """
    roll = np.asarray(roll, dtype=bool)
    if roll.ndim == 3:
        return sorted(
            n for v, layer in enumerate(roll) for n in from_pianoroll(layer, steps_per_beat, lowest, velocity, v)
        )
    if roll.ndim != 2:
        raise ValueError(f"expected a (time, pitch) or (voice, time, pitch) roll, got shape {roll.shape}")
    padded = np.zeros((roll.shape[0] + 2, roll.shape[1]), dtype=np.int8)
    padded[1:-1] = roll
    changes = np.diff(padded, axis=0)
    notes = []
    for column in range(roll.shape[1]):
        starts = np.flatnonzero(changes[:, column] == 1)
        ends = np.flatnonzero(changes[:, column] == -1)
        for start, end in zip(starts, ends, strict=True):
            notes.append(Note(start / steps_per_beat, end / steps_per_beat, lowest + column, velocity, voice))
    return sorted(notes)


def as_piece(
    music: Piece | Iterable[Note] | np.ndarray,
    steps_per_beat: int = 4,
    lowest: int = PIANO_LOWEST,
    tempo: TempoMap | float | None = None,
) -> Piece:
    """A :class:`Piece` from a piece, a list of notes or a piano roll; ``tempo`` overrides the piece's.

    A roll is read with ``steps_per_beat`` and ``lowest``. A piece comes back as it is (so a
    second call costs nothing), or as a copy with the new tempo: the input is never changed.
    Audio, plots and widgets all accept music in these three forms through this function.

    Notebook: 00_setup_check
    """
    if isinstance(music, np.ndarray):
        piece = Piece(from_pianoroll(music, steps_per_beat, lowest))
    elif isinstance(music, Piece) and tempo is None:
        return music
    elif isinstance(music, Piece):
        piece = Piece(list(music.notes), music.tempo, music.time_signature, music.pickup, music.drum_voices, music.key)
    else:
        piece = Piece(list(music))
    if tempo is not None:
        piece.tempo = tempo if isinstance(tempo, TempoMap) else TempoMap.constant(float(tempo))
    return piece
