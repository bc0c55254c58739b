"""Check cells for the exercises: each runs the student's function on small, lopsided cases
and, when something is off, says what it looks like went wrong.

Notebook: 01_midi_bytes
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from course_lib import midi, pianoroll, tokens
from course_lib.notes import Note


class ExerciseError(AssertionError):
    """A check failed; the message is a hint for the student."""


def _ok(name: str, n_cases: int) -> None:
    print(f"{name}: all {n_cases} cases pass.")


def compare_arrays(got, expected: np.ndarray, what: str) -> None:
    """Raise :class:`ExerciseError` with a targeted hint unless ``got`` equals ``expected``.

    Notebook: 02_representations
    """
    got_array = np.asarray(got)
    if got_array.shape != expected.shape:
        hint = ""
        if got_array.shape == expected.shape[::-1]:
            hint = " Did you transpose? Rows are time steps, columns are pitches."
        elif len(got_array.shape) == len(expected.shape):
            off = [g - e for g, e in zip(got_array.shape, expected.shape, strict=True)]
            if any(abs(o) == 1 for o in off):
                hint = " One axis is off by one: is the pitch range inclusive of `highest`?"
        raise ExerciseError(f"{what} has shape {got_array.shape}, expected {expected.shape}.{hint}")
    if not np.array_equal(got_array.astype(expected.dtype), expected):
        where = np.argwhere(got_array.astype(expected.dtype) != expected)[0]
        raise ExerciseError(
            f"{what} differs from the expected value first at index {tuple(int(i) for i in where)}: "
            f"got {got_array[tuple(where)]!r}, expected {expected[tuple(where)]!r}."
        )


# ---------------------------------------------------------------- 01_midi_bytes

VARLEN_CASES = [
    (b"\x00", 0),
    (b"\x40", 0x40),
    (b"\x7f", 0x7F),
    (b"\x81\x00", 0x80),
    (b"\xc0\x00", 0x2000),
    (b"\xff\x7f", 0x3FFF),
    (b"\x81\x80\x00", 0x4000),
    (b"\x83\x60", 480),
    (b"\xff\xff\xff\x7f", 0x0FFFFFFF),
]


def check_read_varlen(read_varlen: Callable[[bytes, int], tuple[int, int]]) -> None:
    """Check a student's variable-length-quantity decoder against the MIDI spec's examples.

    Notebook: 01_midi_bytes
    """
    for encoded, value in VARLEN_CASES:
        data = b"\x90" + encoded + b"\x3c"  # a byte before and after: offsets matter
        result = read_varlen(data, 1)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ExerciseError(f"read_varlen should return a pair (value, next_offset); it returned {result!r}.")
        got, next_offset = result
        if got != value:
            hint = ""
            if len(encoded) > 1 and got == encoded[0] & 0x7F:
                hint = " You stopped after the first byte: keep reading while the top bit (0x80) is set."
            elif len(encoded) > 1 and got == int.from_bytes(bytes(b & 0x7F for b in encoded), "big"):
                hint = " Each byte carries 7 bits, not 8: shift by 7 (value << 7 | byte & 0x7F)."
            elif got == sum((b & 0x7F) << (7 * i) for i, b in enumerate(encoded)):
                hint = " The most significant group comes first, not last."
            elif got > value:
                hint = " Did you mask off the continuation bit (byte & 0x7F)?"
            raise ExerciseError(f"bytes {encoded.hex(' ')} should decode to {value}, you got {got}.{hint}")
        if next_offset != 1 + len(encoded):
            raise ExerciseError(
                f"after bytes {encoded.hex(' ')} starting at offset 1, the next offset is {1 + len(encoded)}, "
                f"you returned {next_offset}: return the offset just past the last byte you read."
            )
    _ok("read_varlen", len(VARLEN_CASES))


def check_parse_header(parse_header: Callable[[bytes], tuple[int, int, int]]) -> None:
    """Check a student's ``MThd`` reader on headers whose fields all differ.

    Notebook: 01_midi_bytes
    """
    cases = [(1, 5, 384), (0, 1, 96), (1, 17, 480)]
    for fmt, n_tracks, division in cases:
        data = (
            b"MThd"
            + (6).to_bytes(4, "big")
            + fmt.to_bytes(2, "big")
            + n_tracks.to_bytes(2, "big")
            + division.to_bytes(2, "big")
        )
        got = tuple(parse_header(data))
        expected = (fmt, n_tracks, division)
        if got != expected:
            hint = ""
            swapped = tuple(int.from_bytes(x.to_bytes(2, "big"), "little") for x in expected)
            if got == swapped:
                hint = " MIDI numbers are big-endian: most significant byte first (struct format '>H')."
            elif sorted(got) == sorted(expected):
                hint = " The fields are in the order format, number of tracks, division."
            elif got[0] == 6 or 6 in got:
                hint = " The chunk length (6) comes before the fields: they start at byte 8."
            raise ExerciseError(f"header for {expected} (format, tracks, ticks per beat) gave {got}.{hint}")
    _ok("parse_header", len(cases))


def _note_events(spec: Sequence[tuple[int, int, int, int]]) -> list[midi.MidiEvent]:
    return [midi.MidiEvent(tick, "channel", status, bytes([pitch, velocity])) for tick, status, pitch, velocity in spec]


PAIRING_CASES = [
    # (events as (tick, status, pitch, velocity), expected (start, end, pitch) notes, what it tests)
    ([(0, 0x90, 60, 90), (480, 0x80, 60, 0)], [(0, 480, 60)], "a note-on then its note-off"),
    (
        [(0, 0x90, 60, 90), (240, 0x90, 64, 90), (480, 0x90, 60, 0), (960, 0x80, 64, 40)],
        [(0, 480, 60), (240, 960, 64)],
        "a note-on with velocity 0 is a note-off",
    ),
    (
        [(0, 0x90, 67, 90), (0, 0x90, 55, 90), (120, 0x80, 55, 0), (360, 0x80, 67, 0)],
        [(0, 120, 55), (0, 360, 67)],
        "two notes at once, released in the other order",
    ),
    (
        [(0, 0x80, 62, 0), (100, 0x90, 62, 80), (200, 0x80, 62, 0)],
        [(100, 200, 62)],
        "a stray note-off before any note-on",
    ),
]


def check_pair_notes(pair_notes: Callable[[list], list]) -> None:
    """Check a student's note pairing: ``pair_notes(events) -> [(start_tick, end_tick, pitch), ...]``.

    Notebook: 01_midi_bytes
    """
    for spec, expected, what in PAIRING_CASES:
        got = sorted(tuple(int(x) for x in note) for note in pair_notes(_note_events(spec)))
        if got != sorted(expected):
            hint = ""
            if what.startswith("a note-on with velocity 0") and len(got) != len(expected):
                hint = " A note-on (0x90) with velocity 0 ends the note, exactly like a note-off (0x80)."
            elif what.startswith("a stray") and len(got) > len(expected):
                hint = " Ignore a note-off whose pitch is not sounding."
            elif got and all(g[0] == g[1] for g in got):
                hint = " Each note should end at its note-off's tick, not start there."
            raise ExerciseError(f"{what}: expected {sorted(expected)}, got {got}.{hint}")
    _ok("pair_notes", len(PAIRING_CASES))


# ---------------------------------------------------------------- 02_representations

ROLL_NOTES = [Note(0.0, 1.0, 60), Note(0.5, 0.75, 64), Note(1.0, 2.5, 67), Note(2.0, 3.0, 71)]


def check_notes_to_roll(notes_to_roll: Callable) -> None:
    """Check a student's ``notes_to_roll(notes, steps_per_beat, lowest, highest)``.

    Notebook: 02_representations
    """
    cases = [(4, 60, 72), (2, 58, 71)]
    for steps_per_beat, lowest, highest in cases:
        expected = pianoroll.to_pianoroll(ROLL_NOTES, steps_per_beat, lowest, highest)
        got = notes_to_roll(ROLL_NOTES, steps_per_beat, lowest, highest)
        compare_arrays(got, expected, f"the roll at {steps_per_beat} steps per beat, pitches {lowest}..{highest}")
    _ok("notes_to_roll", len(cases))


MELODY = [Note(0.0, 1.0, 67), Note(1.0, 1.5, 69), Note(2.0, 4.0, 71), Note(4.0, 4.5, 67)]


def check_encode_melody(encode_melody: Callable, vocabulary: tokens.MelodyVocabulary) -> None:
    """Check a student's ``encode_melody(notes, steps_per_beat)`` against the library's tokens.

    Notebook: 02_representations
    """
    for steps_per_beat in (4, 2):
        expected = vocabulary.encode(MELODY, steps_per_beat)
        got = [int(t) for t in encode_melody(MELODY, steps_per_beat)]
        if got == expected:
            continue
        names = [vocabulary.name(t) if 0 <= t < vocabulary.size else str(t) for t in got]
        hint = ""
        if len(got) != len(expected):
            hint = f" Expected {len(expected)} tokens, one per step: {MELODY[-1].end} beats x {steps_per_beat} steps."
        elif tokens.HOLD not in got:
            hint = " A note lasting several steps is its pitch token once, then HOLD for each later step."
        elif tokens.REST not in got:
            hint = " Between beat 1.5 and 2 nothing sounds: those steps are REST."
        raise ExerciseError(f"tokens differ: got {names}, expected {[vocabulary.name(t) for t in expected]}.{hint}")
    _ok("encode_melody", 2)


def check_semitones_to_c(semitones_to_c: Callable[[int, str], int]) -> None:
    """Check a student's ``semitones_to_c(tonic_pitch_class, mode)`` (shift to C major / A minor, in -6..5).

    Notebook: 02_representations
    """
    cases = 0
    for mode, target in (("major", 0), ("minor", 9)):
        for tonic in range(12):
            got = semitones_to_c(tonic, mode)
            cases += 1
            if (tonic + got) % 12 != target:
                hint = (
                    " Minor keys go to A minor (pitch class 9), not C minor."
                    if mode == "minor" and (tonic + got) % 12 == 0
                    else ""
                )
                raise ExerciseError(
                    f"{mode} key with tonic pitch class {tonic}: shifting by {got} lands on "
                    f"pitch class {(tonic + got) % 12}, not {target}.{hint}"
                )
            if not -6 <= got <= 5:
                raise ExerciseError(
                    f"{mode} key with tonic {tonic}: {got} semitones is too far; "
                    "choose the shift in -6..5 so voices move at most a tritone."
                )
    _ok("semitones_to_c", cases)
