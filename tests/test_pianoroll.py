"""Notes <-> piano rolls (course_lib.pianoroll): round trips, ranges, voices, sizes refused before allocation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.errors import TooLargeError
from course_lib.notes import Note, Piece, TempoMap
from course_lib.pianoroll import PIANO_LOWEST, as_piece, from_pianoroll, to_pianoroll


def test_roll_is_time_by_pitch_with_inclusive_range():
    notes = [Note(0.0, 1.0, 60), Note(0.5, 0.75, 64), Note(1.0, 2.5, 72)]
    roll = to_pianoroll(notes, steps_per_beat=4, lowest=60, highest=72)
    assert roll.shape == (10, 13)
    assert roll[:4, 0].all() and not roll[4:, 0].any()
    assert roll[2, 4] and roll.sum(axis=0)[4] == 1  # the sixteenth note fills exactly one step
    assert roll[4:10, 12].all()


def test_roll_drops_out_of_range_and_fills_tiny_notes():
    roll = to_pianoroll([Note(0.0, 0.05, 60), Note(0.0, 1.0, 20), Note(0.0, 1.0, 109)], 4)
    assert roll.sum() == 1 and roll[0, 60 - 21]


def test_roll_by_voice():
    notes = [Note(0.0, 1.0, 72, voice=0), Note(0.0, 2.0, 48, voice=3)]
    roll = to_pianoroll(notes, 2, 48, 72, by_voice=True, voices=[0, 1, 2, 3])
    assert roll.shape == (4, 4, 25)
    assert roll[0, :2, 24].all() and roll[3, :, 0].all() and not roll[1:3].any()
    assert from_pianoroll(roll, 2, 48) == sorted(notes)


def test_repeated_notes_merge_in_a_roll():
    roll = to_pianoroll([Note(0.0, 1.0, 60), Note(1.0, 2.0, 60)], 4)
    assert from_pianoroll(roll, 4) == [Note(0.0, 2.0, 60)]


grid_notes = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 8), st.integers(21, 108)),
    max_size=25,
)


@settings(max_examples=100, deadline=None)
@given(grid_notes)
def test_grid_aligned_notes_survive_a_roll(raw):
    # Keep notes of the same pitch at least one step apart: a roll cannot show them otherwise.
    notes, taken = [], {}
    for start, length, pitch in raw:
        if any(s - 1 < start + length and start < e + 1 for s, e in taken.get(pitch, [])):
            continue
        taken.setdefault(pitch, []).append((start, start + length))
        notes.append(Note(start / 4, (start + length) / 4, pitch))
    assert from_pianoroll(to_pianoroll(notes, 4), 4) == sorted(notes)


def test_roll_of_nothing():
    assert to_pianoroll([], 4).shape == (0, 88)
    assert from_pianoroll(np.zeros((4, 88), bool)) == []


def test_as_piece_reads_rolls_copies_pieces_and_overrides_tempo():
    roll = to_pianoroll([Note(0.0, 1.0, 60, voice=0), Note(0.5, 1.0, 48, voice=1)], 2, by_voice=True)
    assert [(n.start, n.end, n.pitch, n.voice) for n in as_piece(roll, 2).notes] == [
        (0.0, 1.0, 60, 0),
        (0.5, 1.0, 48, 1),
    ]
    original = Piece([Note(0.0, 1.0, 60)], TempoMap.constant(90), (3, 4), 1.0)
    copy = as_piece(original, tempo=60)
    assert copy.tempo == TempoMap.constant(60) and original.tempo == TempoMap.constant(90)  # the original is untouched
    assert (copy.time_signature, copy.pickup) == ((3, 4), 1.0) and copy.notes is not original.notes
    assert as_piece([Note(0.0, 1.0, 60)]).tempo == TempoMap()
    assert as_piece(original) is original  # nothing to change: no copy, so a second call is free


def test_a_roll_too_large_is_refused_before_it_is_allocated():
    hours_long = [Note(0.0, 30_000_000.0, 60)]  # 30 million beats
    with pytest.raises(TooLargeError, match="max_beats"):
        to_pianoroll(hours_long, 4)
    cut = to_pianoroll(hours_long, 4, max_beats=8)
    assert cut.shape == (32, 88) and cut[:, 60 - PIANO_LOWEST].all()


def test_max_beats_drops_later_notes_and_shortens_longer_ones():
    notes = [Note(0.0, 3.0, 60), Note(1.0, 2.0, 62), Note(2.5, 4.0, 64)]
    assert from_pianoroll(to_pianoroll(notes, 2, max_beats=2.0), 2) == [Note(0.0, 2.0, 60), Note(1.0, 2.0, 62)]


def test_drum_voices_are_left_out_unless_asked_for():
    piece = Piece([Note(0.0, 1.0, 60, voice=0), Note(0.0, 0.5, 38, voice=9)], drum_voices=(9,))
    assert to_pianoroll(piece, 2)[:, 38 - PIANO_LOWEST].sum() == 0
    assert to_pianoroll(piece, 2, drums=True)[0, 38 - PIANO_LOWEST]
