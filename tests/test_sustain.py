"""The sustain pedal: notes released under it sound until it comes up, read from real controller events."""

from raw_midi import midi_file, note, pedal

from course_lib.midi import read_midi
from course_lib.notes import Note
from course_lib.sustain import pedal_spans, sustain


def test_pedal_spans_pair_downs_and_ups_and_close_at_the_end():
    changes = [(0.0, 127), (1.0, 100), (2.0, 0), (2.5, 0), (3.0, 64), (5.0, 10), (6.0, 127)]
    assert pedal_spans(changes, end=8.0) == [(0.0, 2.0), (3.0, 5.0), (6.0, 8.0)]


def test_notes_released_under_the_pedal_last_until_it_comes_up_unless_struck_again():
    notes = [
        Note(0.0, 0.5, 60),  # released under the pedal (0..4): sounds to 4
        Note(1.0, 1.5, 64),  # likewise, but struck again at 2: sounds to 2
        Note(2.0, 2.5, 64),  # sounds to 4
        Note(4.5, 5.0, 67),  # after the pedal came up: unchanged
        Note(3.0, 4.0, 72),  # released exactly as the pedal comes up: unchanged
    ]
    held = sustain(notes, [(0.0, 4.0)])
    assert [(n.start, n.end, n.pitch) for n in held] == [
        (0.0, 4.0, 60),
        (1.0, 2.0, 64),
        (2.0, 4.0, 64),
        (4.5, 5.0, 67),
        (3.0, 4.0, 72),
    ]


def test_read_midi_applies_a_channels_pedal_to_that_channel_only_when_asked():
    events = note(0, 0, 0.5, 60) + note(1, 0, 0.5, 48) + pedal(0, 0.25, 3.0) + note(0, 4, 5, 62)
    data = midi_file([events])
    plain = read_midi(data)
    pedalled = read_midi(data, sustain_pedal=True)
    assert sorted((n.start, n.end, n.pitch) for n in plain.notes) == [(0, 0.5, 48), (0, 0.5, 60), (4, 5, 62)]
    assert sorted((n.start, n.end, n.pitch) for n in pedalled.notes) == [(0, 0.5, 48), (0, 3.0, 60), (4, 5, 62)]
