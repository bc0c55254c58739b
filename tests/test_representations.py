"""Melody tokens and the note type: round trips and lopsided cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.notes import Note, Piece, TempoMap, pitch_name, transpose
from course_lib.tokens import HOLD, REST, MelodyVocabulary


def test_pitch_names_and_tempo_map():
    assert [pitch_name(p) for p in (21, 60, 61, 70, 108)] == ["A0", "C4", "C#4", "Bb4", "C8"]
    tempo = TempoMap(((0.0, 120.0), (8.0, 60.0)))
    assert tempo.seconds(8.0) == pytest.approx(4.0)
    assert tempo.seconds(10.0) == pytest.approx(6.0)
    assert tempo.bpm_at(7.9) == 120.0 and tempo.bpm_at(8.0) == 60.0
    assert TempoMap(((4.0, 90.0),)).changes[0] == (0.0, 90.0)  # the first tempo holds from the start


def test_piece_bar_length():
    assert Piece([], time_signature=(3, 2)).beats_per_bar == 6.0
    assert Piece([], time_signature=(6, 8)).beats_per_bar == 3.0


def test_tokens_of_a_known_melody():
    vocab = MelodyVocabulary(60, 72)
    melody = [Note(0.0, 1.0, 67), Note(1.0, 1.5, 69), Note(2.0, 2.5, 60)]
    g, a, c = vocab.token(67), vocab.token(69), vocab.token(60)
    assert vocab.encode(melody, 2) == [g, HOLD, a, REST, c]
    assert vocab.size == 15 and c == 2
    assert vocab.decode([g, HOLD, a, REST, c], 2) == melody
    assert vocab.decode([HOLD, REST, c, HOLD], 2) == [Note(1.0, 2.0, 60)]  # a leading hold is silence


def test_tokens_reject_overlaps_off_grid_and_range():
    vocab = MelodyVocabulary(60, 72)
    with pytest.raises(ValueError, match="monophonic"):
        vocab.encode([Note(0.0, 1.0, 60), Note(0.5, 1.0, 62)], 4)
    with pytest.raises(ValueError, match="grid"):
        vocab.encode([Note(0.0, 0.3, 60)], 4)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.encode([Note(0.0, 1.0, 80)], 4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 8), st.integers(48, 84)), max_size=30))
def test_melody_tokens_round_trip(raw):
    vocab = MelodyVocabulary()
    notes, step = [], 0
    for gap, length, pitch in raw:
        step += gap
        notes.append(Note(step / 4, (step + length) / 4, pitch))
        step += length
    tokens = vocab.encode(notes, 4)
    assert len(tokens) == step
    assert vocab.decode(tokens, 4) == notes


def test_transpose_keeps_input():
    notes = [Note(0.0, 1.0, 60)]
    assert transpose(notes, -3) == [Note(0.0, 1.0, 57)] and notes == [Note(0.0, 1.0, 60)]


def test_quantise_rounds_half_up_and_keeps_one_step():
    from course_lib.notes import quantise

    notes = [Note(0.125, 0.3, 60), Note(0.5, 0.55, 62), Note(1.0 / 3, 2.0 / 3, 64)]
    # 0.125 is half a step: up to 0.25; 0.3 rounds to 0.25 too, so the note is stretched to one step
    assert [(n.start, n.end) for n in quantise(notes, 4)] == [(0.25, 0.5), (0.5, 0.75), (0.25, 0.75)]
    assert notes[0] == Note(0.125, 0.3, 60)


def test_monophonic_keeps_the_top_of_chords_and_cuts_overlaps():
    from course_lib.notes import monophonic

    notes = [Note(0.0, 1.0, 60), Note(0.0, 1.0, 67), Note(0.75, 2.0, 65), Note(2.0, 3.0, 64)]
    assert monophonic(notes) == [Note(0.0, 0.75, 67), Note(0.75, 2.0, 65), Note(2.0, 3.0, 64)]


def test_skyline_keeps_a_held_high_note_over_later_lower_ones():
    from course_lib.notes import skyline

    # a melody note E5 held 4 beats over an accompaniment that starts later, below it, and outlasts it
    notes = [Note(0.0, 4.0, 76), Note(1.0, 2.0, 60), Note(2.0, 6.0, 64), Note(4.0, 5.0, 79), Note(4.0, 5.0, 79)]
    assert skyline(notes) == [Note(0.0, 4.0, 76), Note(4.0, 5.0, 79), Note(5.0, 6.0, 64)]  # E4 shows once G5 ends
    from course_lib.notes import monophonic

    assert monophonic(notes)[0] == Note(0.0, 1.0, 76)  # the latest onset cuts the held note: not a melody
