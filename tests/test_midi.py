"""course_lib.midi: round trips, agreement with music21 and mido, and every malformed input."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import midi
from course_lib.midi import MidiError, read_midi, write_midi
from course_lib.notes import Note, Piece, TempoMap

CHORD_AND_MELODY = [
    Note(0.0, 1.0, 60, 90, 0),
    Note(0.0, 2.0, 64, 70, 1),
    Note(1.0, 1.5, 62, 100, 0),
    Note(1.5, 4.0, 67, 50, 0),
    Note(2.0, 4.0, 48, 64, 1),
]


def track(body: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(body)) + body


def header(fmt: int = 0, n_tracks: int = 1, division: int = 96) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n_tracks, division)


def test_variable_length_known_values():
    for encoded, value in [
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\x81\x00", 128),
        (b"\xc0\x00", 8192),
        (b"\xff\xff\xff\x7f", 0x0FFFFFFF),
    ]:
        assert midi.read_variable_length(encoded, 0) == (value, len(encoded))
        assert midi.encode_variable_length(value) == encoded


@given(st.integers(0, 0x0FFFFFFF))
def test_variable_length_round_trip(value):
    encoded = midi.encode_variable_length(value)
    assert midi.read_variable_length(b"\x00" + encoded, 1) == (value, 1 + len(encoded))


def test_notes_midi_notes_round_trip():
    piece = Piece(CHORD_AND_MELODY, TempoMap(((0.0, 90.0), (2.0, 60.0))), (3, 4))
    back = read_midi(write_midi(piece))
    assert back.notes == sorted(CHORD_AND_MELODY)
    assert back.time_signature == (3, 4)
    assert [b for b, _ in back.tempo.changes] == [0.0, 2.0]
    assert [bpm for _, bpm in back.tempo.changes] == pytest.approx([90.0, 60.0])
    # 2 beats at 90 bpm, then 2 beats at 60 bpm
    assert back.seconds(4.0) == pytest.approx(2 * 60 / 90 + 2 * 60 / 60)


note_strategy = st.builds(
    Note,
    start=st.integers(0, 64).map(lambda q: q / 4),
    end=st.just(0.0),
    pitch=st.integers(0, 127),
    velocity=st.integers(1, 127),
    voice=st.integers(0, 3),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(note_strategy, st.integers(1, 16)), max_size=30))
def test_round_trip_property(pairs):
    # One sounding note per (voice, pitch) at a time: a file cannot tell overlapping copies apart.
    notes, busy = [], {}
    for note, length in pairs:
        note = Note(note.start, note.start + length / 4, note.pitch, note.velocity, note.voice)
        key = (note.voice, note.pitch)
        if any(s < note.end and note.start < e for s, e in busy.get(key, [])):
            continue
        busy.setdefault(key, []).append((note.start, note.end))
        notes.append(note)
    voices = sorted({n.voice for n in notes})
    renumbered = sorted(Note(n.start, n.end, n.pitch, n.velocity, voices.index(n.voice)) for n in notes)
    assert read_midi(write_midi(notes)).notes == renumbered


def test_music21_and_mido_read_our_file_back():
    import mido
    from music21 import converter

    data = write_midi(CHORD_AND_MELODY)
    score = converter.parseData(data, format="midi")
    from_music21 = sorted(
        (float(n.offset), float(n.offset + n.quarterLength), p.midi) for n in score.flatten().notes for p in n.pitches
    )
    assert from_music21 == sorted((n.start, n.end, n.pitch) for n in CHORD_AND_MELODY)

    file = mido.MidiFile(file=io.BytesIO(data))
    found, sounding = [], {}
    for mido_track in file.tracks:
        tick = 0
        for message in mido_track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                sounding[(message.channel, message.note)] = (tick, message.velocity)
            elif message.type in ("note_on", "note_off"):
                start, velocity = sounding.pop((message.channel, message.note))
                found.append((start / file.ticks_per_beat, tick / file.ticks_per_beat, message.note, velocity))
    assert sorted(found) == sorted((n.start, n.end, n.pitch, n.velocity) for n in CHORD_AND_MELODY)


def test_running_status_and_velocity_zero_note_off():
    # delta 0: note-on C4; delta 96: (running status) C4 vel 0, then E4 on; delta 48: E4 off via 0x80
    body = b"\x00\x90\x3c\x40" + b"\x60\x3c\x00" + b"\x00\x40\x50" + b"\x30\x80\x40\x00" + b"\x00\xff\x2f\x00"
    piece = read_midi(header() + track(body))
    assert [(n.start, n.end, n.pitch, n.velocity) for n in piece.notes] == [(0.0, 1.0, 60, 64), (1.0, 1.5, 64, 80)]


def test_reattack_orphan_note_off_and_unclosed_note():
    body = (
        b"\x00\x80\x3e\x00"  # note-off with no note-on: ignored
        + b"\x00\x90\x3c\x40"
        + b"\x60\x90\x3c\x41"  # re-attack of the sounding C4 after one beat
        + b"\x60\x90\x43\x42"  # G4 never closed
        + b"\x60\xff\x2f\x00"
    )
    notes = read_midi(header() + track(body)).notes
    assert [(n.start, n.end, n.pitch) for n in notes] == [(0.0, 1.0, 60), (1.0, 3.0, 60), (2.0, 3.0, 67)]


def test_type1_tracks_become_voices_and_tempo_changes_count():
    conductor = (
        b"\x00\xff\x51\x03\x07\xa1\x20" + b"\x83\x00\xff\x51\x03\x0f\x42\x40" + b"\x00\xff\x2f\x00"
    )  # 120 then 60 bpm at beat 4
    upper = b"\x00\x91\x48\x50\x83\x60\x81\x48\x00\x00\xff\x2f\x00"  # C5, 480 ticks, channel 2
    drums = b"\x00\x99\x24\x64\x60\x89\x24\x00\x00\xff\x2f\x00"  # kick drum on channel 10
    piece = read_midi(header(1, 3, 96) + track(conductor) + track(upper) + track(drums))
    assert sorted((n.voice, n.pitch, n.start, n.end) for n in piece.notes) == [(0, 72, 0.0, 5.0), (1, 36, 0.0, 1.0)]
    assert piece.tempo.changes == ((0.0, 120.0), (4.0, 60.0))
    assert piece.seconds(5.0) == pytest.approx(2.0 + 1.0)


def test_bytes_after_the_last_chunk_and_unknown_chunks_are_skipped():
    body = b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"
    data = header() + b"XFIH" + struct.pack(">I", 3) + b"abc" + track(body) + b"\x00\x00\x01"
    assert [n.pitch for n in read_midi(data).notes] == [60]


def test_pitches_outside_the_piano_are_kept():
    notes = [Note(0.0, 1.0, 0), Note(0.0, 1.0, 127)]
    assert read_midi(write_midi(notes)).notes == notes


def test_read_from_path(tmp_path):
    path = tmp_path / "x.mid"
    write_midi(CHORD_AND_MELODY, path)
    assert read_midi(path).notes == sorted(CHORD_AND_MELODY)
    assert read_midi(str(path)).notes == sorted(CHORD_AND_MELODY)


GOOD = header() + track(b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00")

MALFORMED = {
    "empty": (b"", "empty"),
    "not midi": (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a MIDI file"),
    "short header": (b"MThd\x00\x00\x00\x06\x00", "header chunk truncated"),
    "header length": (b"MThd\x00\x00\x00\x02\x00\x00\x00\x01\x00\x60", "header chunk length"),
    "format 2": (header(2), "format 2"),
    "unknown format": (header(7), "format 7"),
    "smpte": (b"MThd" + struct.pack(">IHHh", 6, 0, 1, -7680), "SMPTE"),
    "no tracks": (header(), "no track chunks"),
    "truncated chunk": (GOOD[:-5], "truncated"),
    "bad chunk length": (header() + b"MTrk" + struct.pack(">I", 10_000) + b"\x00\x90\x3c\x40", "10000 bytes long"),
    "data byte > 127": (header() + track(b"\x00\x90\x3c\xc8\x00\xff\x2f\x00"), "data byte 0xC8 > 127"),
    "no running status": (header() + track(b"\x00\x3c\x40\x00\xff\x2f\x00"), "no running status"),
    "event cut off": (header() + track(b"\x00\x90\x3c"), "track ends inside a channel message"),
    "endless delta": (header() + track(b"\xff\xff\xff\xff\xff\x90\x3c\x40"), "longer than 4 bytes"),
    "meta cut off": (header() + track(b"\x00\xff\x51\x03\x07"), "track ends inside a meta event"),
    "system byte": (header() + track(b"\x00\xf8"), "unexpected system status byte 0xF8"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_raises_midi_error_with_problem_and_offset(name):
    data, problem = MALFORMED[name]
    with pytest.raises(MidiError) as raised:
        read_midi(data)
    assert problem in str(raised.value)
    assert raised.value.offset is not None and f"at byte {raised.value.offset}" in str(raised.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_raise_anything_but_midi_error(junk):
    for data in (junk, header() + junk, header() + track(junk), GOOD[: len(junk) % len(GOOD)]):
        try:
            read_midi(data)
        except MidiError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(GOOD) - 1))
def test_every_truncation_of_a_good_file_is_a_midi_error(cut):
    with pytest.raises(MidiError):
        read_midi(GOOD[:cut])


def _mido_notes(path) -> list[tuple[float, float, int]]:
    """An independent reading of a file through mido, paired with the course's rules."""
    import mido

    file = mido.MidiFile(path)
    found = []
    for mido_track in file.tracks:
        tick, sounding, last = 0, {}, 0
        for message in mido_track:
            tick += message.time
            last = tick
            if message.type not in ("note_on", "note_off"):
                continue
            key = (message.channel, message.note)
            if key in sounding:
                start = sounding.pop(key)
                if tick > start:
                    found.append((start / file.ticks_per_beat, tick / file.ticks_per_beat, message.note))
            if message.type == "note_on" and message.velocity > 0:
                sounding[key] = tick
        found += [(s / file.ticks_per_beat, last / file.ticks_per_beat, k[1]) for k, s in sounding.items() if last > s]
    return sorted(found)


def music21_test_files():
    from pathlib import Path

    import music21

    return sorted((Path(music21.__file__).parent / "midi" / "testPrimitive").glob("*.mid"))


@pytest.mark.parametrize("path", music21_test_files(), ids=lambda p: p.name)
def test_real_files_shipped_with_music21_agree_with_mido(path):
    assert sorted((n.start, n.end, n.pitch) for n in read_midi(path).notes) == _mido_notes(path)


@pytest.mark.parametrize(
    ("key", "meter", "pickup"),
    [("G major", (4, 4), 1.0), ("F# minor", (6, 8), 0.5), ("Bb major", (3, 4), 0.0), ("Eb minor", (2, 2), 3.0)],
)
def test_key_signature_meter_and_pickup_survive_a_round_trip(key, meter, pickup):
    piece = Piece([Note(0, 1, 67), Note(1, 2.5, 72, voice=1)], time_signature=meter, pickup=pickup, key=key)
    back = read_midi(write_midi(piece))
    assert (back.key, back.time_signature, back.pickup) == (key, meter, pickup)


def test_a_pickup_bar_and_a_key_signature_as_notation_programs_write_them():
    """A 1/4 bar before 4/4 is a one-beat pickup; one sharp is G major (E minor with the minor flag)."""
    from raw_midi import midi_file, note

    pickup_bar = [(0, bytes([0xFF, 0x58, 4, 1, 2, 24, 8])), (480, bytes([0xFF, 0x58, 4, 4, 2, 24, 8]))]
    for flag, name in ((0, "G major"), (1, "E minor")):
        data = midi_file([pickup_bar + [(0, bytes([0xFF, 0x59, 2, 1, flag]))] + note(0, 0, 1, 62) + note(0, 1, 5, 67)])
        piece = read_midi(data)
        assert (piece.time_signature, piece.pickup, piece.key) == ((4, 4), 1.0, name)
    # a meter that changes after two bars is no pickup: the first bars' meter stands
    changing = [(0, bytes([0xFF, 0x58, 4, 3, 2, 24, 8])), (480 * 6, bytes([0xFF, 0x58, 4, 4, 2, 24, 8]))]
    piece = read_midi(midi_file([changing + note(0, 0, 1, 62)]))
    assert (piece.time_signature, piece.pickup, piece.key) == ((3, 4), 0.0, "")
    assert midi._key_signature(bytes([0x09, 0])) == ""  # nine sharps: no such key
    assert read_midi(write_midi(Piece([Note(0, 1, 68)], key="G# major"))).key == ""  # eight sharps: not written
