"""course_lib.notes: the one note type, tempo maps, and the line-making helpers."""

import pytest

from course_lib.notes import Note, Piece, TempoMap, monophonic, pitch_name, quantise, skyline, transpose


def test_a_tempo_map_adds_up_the_seconds_of_each_tempo():
    tempo = TempoMap(((0, 120), (4, 60)))  # four beats at half a second, then a second each
    assert tempo.seconds(4) == pytest.approx(2.0)
    assert tempo.seconds(6) == pytest.approx(4.0)
    assert tempo.bpm_at(3.9) == 120 and tempo.bpm_at(4) == 60
    assert TempoMap(((2, 90),)).changes[0] == (0.0, 90.0)  # the first tempo applies from beat 0
    with pytest.raises(ValueError, match="positive"):
        TempoMap(((0, 0),))


def test_a_piece_plays_at_its_tempo():
    piece = Piece([Note(0, 2, 60), Note(1, 3, 64, voice=1)], TempoMap.constant(60))
    assert piece.end == 3 and piece.seconds(3) == pytest.approx(3.0)
    assert piece.voice(1) == [Note(1, 3, 64, voice=1)]


def test_quantise_snaps_to_the_grid_and_keeps_every_note_a_step_long():
    assert quantise([Note(0.13, 0.2, 60)], 4) == [Note(0.25, 0.5, 60)]
    assert quantise([Note(0.125, 0.9, 60)], 4) == [Note(0.25, 1.0, 60)]  # half a step rounds up


def test_monophonic_keeps_the_top_of_a_chord_and_cuts_at_the_next_note():
    chord_then_note = [Note(0, 2, 60), Note(0, 2, 67), Note(1, 2, 62)]
    assert monophonic(chord_then_note) == [Note(0, 1, 67), Note(1, 2, 62)]


def test_skyline_lets_a_held_high_note_ring_over_a_lower_one():
    assert skyline([Note(0, 4, 72), Note(1, 2, 60), Note(3, 6, 64)]) == [Note(0, 4, 72), Note(4, 6, 64)]


def test_pitch_names_and_transposition():
    assert [pitch_name(p) for p in (21, 60, 70, 108)] == ["A0", "C4", "Bb4", "C8"]
    assert transpose([Note(0, 1, 60)], -12) == [Note(0, 1, 48)]


def test_quantised_times_on_one_grid_step_are_one_float():
    """A release snapped to a step and a one-step note ending there give the same float (6.666... at 3 a beat)."""
    held, short = quantise([Note(3.0, 6.5, 21), Note(6.25, 6.375, 21)], 3)
    assert held.end == short.end == 20 / 3
    assert [(n.start, n.end) for n in skyline([held, short])] == [(3.0, 19 / 3), (19 / 3, 20 / 3)]
