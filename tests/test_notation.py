"""How notes are written on a staff (course_lib.notation): spelling in the key, accidentals that hold to the
barline, bar edges with a pickup, note values cut at beats, and no tuplets."""

from __future__ import annotations

import pytest
from music21 import clef
from music21 import key as m21key

from course_lib.notation import ScoreError, Staff, bar_edges, note_values, spelling, staff_part
from course_lib.notes import Note


def test_a_pitch_class_is_spelled_by_the_key():
    assert spelling(m21key.Key("F"))[10] == "B-" and spelling(m21key.Key("B"))[10] == "A#"
    assert spelling(m21key.Key("a"))[8] == "G#"  # the raised 7th of A minor, not A flat
    assert spelling(m21key.Key("C"))[6] == "F#"  # the raised 4th of a secondary dominant


def test_bars_begin_after_the_pickup_and_the_last_completes_it():
    assert bar_edges(8.0, 4.0, 0.0) == [0.0, 4.0, 8.0]
    assert bar_edges(10.0, 4.0, 1.0) == [0.0, 1.0, 5.0, 9.0, 13.0]
    assert bar_edges(12.0, 4.0, 1.0) == [0.0, 1.0, 5.0, 9.0, 12.0]  # 3 beats: the pickup's bar completed


def test_note_values_are_cut_at_the_beat_and_rests_show_the_beats():
    assert note_values(0.5, 2.0, (4, 4)) == [0.5, 1.5]  # off the beat: to the beat, then a dotted quarter
    assert note_values(0.0, 3.0, (4, 4)) == [3.0]  # a dotted half note
    assert note_values(0.0, 3.0, (4, 4), rest=True) == [2.0, 1.0]  # rests are never dotted in simple time
    assert note_values(0.0, 3.0, (6, 8)) == [3.0]  # two dotted-quarter beats


def test_a_length_that_needs_a_tuplet_is_refused():
    with pytest.raises(ScoreError, match="tuplets"):
        note_values(0.0, 1 / 3, (4, 4))


def test_an_accidental_holds_to_the_barline_and_is_shown_where_needed():
    notes = [Note(0.0, 1.0, 65), Note(1.0, 2.0, 71), Note(2.0, 3.0, 71), Note(3.0, 4.0, 70), Note(4.0, 8.0, 71)]
    staff = Staff("Melody", "Mel.", clef.TrebleClef(), [notes], ("unspecified",), ("",))
    part = staff_part(staff, bar_edges(8.0, 4.0, 0.0), m21key.Key("F"), (4, 4))
    written = [
        (n.pitch.nameWithOctave, n.pitch.accidental.displayStatus if n.pitch.accidental else None)
        for n in part.flatten().notes
    ]
    assert written == [
        ("F4", None),
        ("B4", True),  # B natural against the key's B flat: shown
        ("B4", None),  # the natural holds to the barline: no sign
        ("B-4", True),  # back to the key's B flat within the bar: shown
        ("B4", True),  # a new bar: shown again
    ]
    assert len(part.getElementsByClass("Measure")) == 2
