"""Checks for the exercises of notebook 01: variable-length numbers, the header chunk, note pairing.

Notebook: 01_midi_bytes
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from course_lib import midi
from course_lib.checks.hints import ExerciseError, all_pass, exercise_check

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


@exercise_check
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
    all_pass("read_varlen", len(VARLEN_CASES))


@exercise_check
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
    all_pass("parse_header", len(cases))


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


@exercise_check
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
    all_pass("pair_notes", len(PAIRING_CASES))
