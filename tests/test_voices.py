"""Four voices on a grid: tokens, holds, rests, bar positions and fermatas."""

import numpy as np
import pytest

from course_lib import datasets, voices
from course_lib.errors import CourseError
from course_lib.notes import Note
from course_lib.voices import VOICE_HOLD, VOICE_REST, from_chords, from_notes, token_of


def test_tokens_hold_rest_and_new_notes():
    notes = [Note(0, 1, 72, voice=0), Note(1, 1.5, 72, voice=0), Note(2, 3, 74, voice=0), Note(0, 3, 48, voice=3)]
    lines = from_notes(notes)
    soprano = lines.tokens[:, 0].tolist()
    assert soprano == [
        token_of(72),
        VOICE_HOLD,
        token_of(72),
        VOICE_REST,
        token_of(74),
        VOICE_HOLD,
    ]  # a repeat is a new note
    assert lines.tokens[:, 1].tolist() == [VOICE_REST] * 6  # an empty voice rests
    assert lines.tokens[:, 3].tolist() == [token_of(48)] + [VOICE_HOLD] * 5
    assert lines.pitches()[:, 0].tolist() == [72, 72, 72, -1, 74, 74]
    assert lines.onsets()[:, 0].tolist() == [True, False, True, False, True, False]


def test_to_piece_inverts_from_notes_on_the_grid():
    notes = [Note(0.5, 2.0, 67, voice=1), Note(2.0, 2.5, 65, voice=1), Note(0, 4, 43, voice=3), Note(3, 4, 79, voice=0)]
    piece = from_notes(notes, time_signature=(3, 4), pickup=1.0).to_piece()
    assert sorted((n.start, n.end, n.pitch, n.voice) for n in piece.notes) == sorted(
        (n.start, n.end, n.pitch, n.voice) for n in notes
    )
    assert piece.time_signature == (3, 4) and piece.pickup == 1.0


def test_bar_positions_count_the_pickup():
    assert voices.bar_positions(6, 2, 3.0, pickup=1.0).tolist() == [4, 5, 0, 1, 2, 3]
    assert voices.bar_positions(5, 2, 4.0).tolist() == [0, 1, 2, 3, 4]


def test_fermatas_cover_the_whole_note_and_features_mark_them():
    notes = [Note(0, 1, 72, voice=0), Note(1, 3, 71, voice=0), Note(3, 4, 72, voice=0)]
    lines = from_notes(notes, fermatas=[1.0])
    assert lines.fermata.tolist() == [False, False, True, True, True, True, False, False]
    assert lines.fermata_starts() == [2] and lines.fermata_spans() == [(2, 6)]
    features = lines.features()
    assert features.shape == (8, voices.FEATURES)
    assert features[:, : voices.POSITIONS].sum(axis=1).tolist() == [1.0] * 8
    assert features[:, voices.POSITIONS].tolist() == lines.fermata.astype(float).tolist()
    assert np.flatnonzero(features[:, voices.POSITIONS + 1]).tolist() == [2]


def test_from_chords_holds_repeated_pitches():
    lines = from_chords([(72, 67, 64, 48), (72, 65, 62, 47)], steps_per_chord=2)
    assert lines.tokens[:, 0].tolist() == [token_of(72), VOICE_HOLD, VOICE_HOLD, VOICE_HOLD]
    assert lines.tokens[:, 1].tolist() == [token_of(67), VOICE_HOLD, token_of(65), VOICE_HOLD]


def test_out_of_range_pitches_and_empty_input_are_course_errors():
    with pytest.raises(CourseError, match="outside the range"):
        token_of(20)
    with pytest.raises(CourseError, match="no notes"):
        from_notes([])


def test_the_bundled_chorales_carry_their_fermatas():
    chorale = next(c for c in datasets.load_chorale_list() if c.name == "bwv269")
    assert chorale.fermatas == (10.0, 19.0, 28.0, 40.0, 52.0, 61.0)  # read from music21's score
    lines = voices.from_chorale(chorale)
    assert len(lines.fermata_starts()) == 6
    assert lines.tokens.shape[1] == 4 and (lines.tokens > 0).all()
    shares = [sum(1 for c in datasets.load_chorale_list() if c.fermatas)]
    assert shares[0] >= 380  # nearly every chorale has fermatas (a few in the corpus have none)


def test_a_roll_is_read_top_down_and_cannot_cross():
    roll = np.zeros((3, 88), dtype=bool)
    roll[0, [72 - 21, 67 - 21, 64 - 21, 48 - 21]] = True
    roll[1, [72 - 21, 67 - 21, 64 - 21, 48 - 21]] = True  # the same keys again: held
    roll[2, [71 - 21, 67 - 21, 50 - 21]] = True  # three keys: the tenor rests
    lines = voices.from_roll(roll)
    assert lines.pitches()[::2].tolist() == [[72, 67, 64, 48], [72, 67, 64, 48], [71, 67, -1, 50]]
    assert lines.onsets()[:, 0].tolist() == [True, False, False, False, True, False]
    assert lines.tokens[4, 1] == VOICE_HOLD  # the alto's G4 goes on sounding


def test_a_roll_becomes_four_voices_only_where_every_note_survives():
    """Four keys a frame within the voices' range: soprano to bass; a fifth key: every note, in one voice."""
    from course_lib.pianoroll import to_pianoroll
    from course_lib.score import four_voices

    roll = np.zeros((4, 88), dtype=bool)
    for t, chord in enumerate([(72, 67, 64, 48), (72, 67, 64, 48), (71, 67, 62, 43), (72, 67, 64, 48)]):
        roll[t, [p - 21 for p in chord]] = True
    piece = voices.roll_to_piece(roll, 1, 21)
    assert piece.voices() == [0, 1, 2, 3] and four_voices(piece)
    assert [n.pitch for n in piece.voice(3)] == [48, 43, 48]  # the bass: C3 held two beats, G2, C3
    assert np.array_equal(to_pianoroll(piece, 1, 21, 108), roll)  # nothing lost

    crowded = roll.copy()
    crowded[2, 60 - 21] = True  # five keys in one frame: reading voices would drop one
    piece = voices.roll_to_piece(crowded, 1, 21)
    assert piece.voices() == [0] and np.array_equal(to_pianoroll(piece, 1, 21, 108), crowded)
    low = roll.copy()
    low[0, 24 - 21] = True  # C1, below every chorale voice
    assert not voices.readable_as_voices(low, 21) and voices.roll_to_piece(low, 1, 21).voices() == [0]
