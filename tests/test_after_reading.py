"""What comes after reading a MIDI file: every piece read_midi accepts can be rolled, drawn, heard,
shown in the Player and written back, or stops at once with a one-line error that says how big.

The fixtures are raw bytes made here, each shaped like a real-world file that broke something.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.audio import synthesize
from course_lib.errors import CourseError, TooLargeError
from course_lib.midi import encode_variable_length, read_midi, write_midi
from course_lib.notes import Note, Piece
from course_lib.pianoroll import to_pianoroll
from course_lib.plot import plot_pianoroll

vlq = encode_variable_length  # the writer's own: its round trip is tested in test_midi.py


def header(fmt: int = 1, n_tracks: int = 1, ticks_per_beat: int = 96) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n_tracks, ticks_per_beat)


def track(body: bytes) -> bytes:
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def note(channel: int, pitch: int, length: int, delta: int = 0, velocity: int = 80) -> bytes:
    return vlq(delta) + bytes([0x90 | channel, pitch, velocity]) + vlq(length) + bytes([0x80 | channel, pitch, 0])


def time_signature(numerator: int, log_denominator: int) -> bytes:
    return b"\x00\xff\x58\x04" + bytes([numerator, log_denominator, 24, 8])


def many_tracks(count: int) -> bytes:
    """``count`` tracks, all on channel 1 as some sequencers write them, each one note a step higher."""
    return header(1, count) + b"".join(track(note(0, 40 + i, 96, delta=24 * i)) for i in range(count))


# ---------------------------------------------------------------- many tracks


def test_twenty_tracks_play_in_the_player_and_write_back_as_twenty_voices():
    from course_lib.widgets import Player

    piece = read_midi(many_tracks(20))
    assert piece.voices() == list(range(20))
    player = Player(piece)
    back = read_midi(player.midi)
    assert back.notes == piece.notes  # channels are shared beyond 15 voices; tracks keep the voices apart
    assert len(player.wav) > 44 and len(player.roll_png) > 0


def test_a_roll_of_many_voices_names_their_number_instead_of_a_legend_over_the_notes():
    import matplotlib.pyplot as plt

    ax = plot_pianoroll(read_midi(many_tracks(36)))
    assert ax.get_legend() is None and [t.get_text() for t in ax.texts] == ["36 voices"]
    plt.close(ax.figure)
    ax = plot_pianoroll(read_midi(many_tracks(3)))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["soprano", "alto", "tenor"] and not ax.texts
    plt.close(ax.figure)


def test_channels_beyond_fifteen_voices_never_use_the_drum_channel():
    data = write_midi([Note(0, 1, 60, voice=v) for v in range(33)])
    statuses = {b for b in data if 0x90 <= b <= 0x9F}
    assert 0x99 not in statuses and statuses == {0x90 | c for c in range(16) if c != 9}


# ---------------------------------------------------------------- time signatures


@pytest.mark.parametrize("numerator, log_denominator", [(0, 2), (3, 255), (4, 30)])
def test_nonsense_time_signatures_are_ignored_by_the_reader(numerator, log_denominator):
    data = header() + track(time_signature(numerator, log_denominator) + time_signature(3, 2) + note(0, 60, 96))
    assert read_midi(data).time_signature == (3, 4)  # the first sensible one


@pytest.mark.parametrize("signature", [(0, 4), (4, 0), (3, 2**30), (1, 2**30)])
@pytest.mark.timeout(30)  # a bar line every 2**30 beats must not draw a billion lines
def test_plot_draws_any_time_signature_quickly(signature):
    import matplotlib.pyplot as plt

    piece = Piece([Note(0, 8, 60), Note(8, 16, 64)], time_signature=signature)
    ax = plot_pianoroll(piece)
    assert ax.get_xlim() == (0, 16)
    plt.close(ax.figure)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("signature", [(0, 4), (4, 0)])
def test_an_empty_piece_with_a_zero_bar_plays_without_a_warning(signature):
    from course_lib.widgets import Player

    player = Player(Piece([], time_signature=signature))
    assert player.duration > 0 and player.midi == b""


def test_writer_leaves_out_a_time_signature_a_file_cannot_hold():
    back = read_midi(write_midi(Piece([Note(0, 1, 60)], time_signature=(0, 4))))
    assert back.time_signature == (4, 4) and back.notes == [Note(0, 1, 60)]


# ---------------------------------------------------------------- hours-long notes and huge tick counts


def hours_long_note() -> bytes:
    """A 40-byte file whose one note lasts 0x0FFFFFFF ticks at 24 ticks per beat: 11 million beats."""
    return header(0, 1, 24) + track(note(0, 60, 0x0FFFFFFF))


def billions_of_ticks() -> bytes:
    """A note that starts after ten maximal delta times (2.7 billion ticks) and lasts one beat."""
    gaps = b"".join(vlq(0x0FFFFFFF) + b"\xff\x01\x00" for _ in range(10))
    return header(0, 1, 480) + track(gaps + note(0, 60, 480))


@pytest.mark.parametrize("make", [hours_long_note, billions_of_ticks])
@pytest.mark.timeout(30)  # they refuse before allocating: a roll or a sound this big would take far longer
def test_roll_and_sound_of_huge_pieces_stop_at_once_saying_how_big(make):
    piece = read_midi(make())
    with pytest.raises(TooLargeError, match=r"GiB piano roll .* pass max_beats=") as error:
        to_pianoroll(piece)
    assert "\n" not in str(error.value)
    with pytest.raises(TooLargeError, match=r"lasts [\d,.]+ hours.*max_seconds") as error:
        synthesize(piece)
    assert isinstance(error.value, CourseError) and ("TiB" in str(error.value) or "GiB" in str(error.value))


def test_max_beats_cuts_a_huge_piece_to_a_small_roll():
    roll = to_pianoroll(read_midi(hours_long_note()), steps_per_beat=4, max_beats=8)
    assert roll.shape == (32, 88) and roll[:, 60 - 21].all()
    late = read_midi(billions_of_ticks())
    assert to_pianoroll(late, max_beats=8).shape == (0, 88)


@pytest.mark.parametrize(
    "make, end", [(hours_long_note, 0x0FFFFFFF / 24), (billions_of_ticks, 10 * 0x0FFFFFFF / 480 + 1)]
)
@pytest.mark.timeout(60)  # hours of one note: plotting and writing must not walk it tick by tick
def test_huge_pieces_plot_quickly_and_write_back_exactly(make, end):
    import matplotlib.pyplot as plt

    piece = read_midi(make())
    assert piece.end == pytest.approx(end)
    ax = plot_pianoroll(piece)
    plt.close(ax.figure)
    data = write_midi(piece)
    assert read_midi(data).notes == piece.notes  # gaps longer than a delta time are bridged


@pytest.mark.timeout(60)  # it renders the opening minutes only, not the hours
def test_player_opens_an_hours_long_piece_and_says_it_sounds_the_opening():
    from course_lib.widgets import PLAYER_SECONDS, Player

    piece = read_midi(hours_long_note())
    player = Player(piece, renderer="numpy")
    assert player.caption.startswith(f"Sound: the first {PLAYER_SECONDS / 60:.0f} of ")
    assert player.duration <= PLAYER_SECONDS + 1 and len(read_midi(player.midi).notes) == len(piece.notes)


# ---------------------------------------------------------------- drums and channels


def pop_song() -> bytes:
    """Format 1: a conductor track, a bass line on channel 2 and a drum kit on channel 10."""
    bass = note(1, 40, 96) + note(1, 43, 96)
    kit = note(9, 36, 24) + note(9, 38, 24, delta=72) + note(9, 42, 24, delta=72)
    return header(1, 3) + track(b"\x00\xff\x51\x03\x07\xa1\x20") + track(bass) + track(kit)


def test_drums_stay_out_of_pitched_rolls_unless_asked():
    piece = read_midi(pop_song())
    assert piece.drum_voices == (1,)
    roll = to_pianoroll(piece, steps_per_beat=1)
    assert sorted(set(np.flatnonzero(roll.any(axis=0)) + 21)) == [40, 43]
    with_drums = to_pianoroll(piece, steps_per_beat=1, drums=True)
    assert sorted(set(np.flatnonzero(with_drums.any(axis=0)) + 21)) == [36, 38, 40, 42, 43]


def test_drums_only_is_silent_and_writes_back_on_channel_ten():
    kit = read_midi(header(0, 1) + track(note(9, 36, 24) + note(9, 38, 24, delta=72)))
    assert kit.drum_voices == (0,) and len(kit.notes) == 2
    assert not synthesize(kit).any()
    assert to_pianoroll(kit).shape == (0, 88)
    back = read_midi(write_midi(kit))
    assert back.drum_voices == (0,) and back.notes == kit.notes


def test_format_0_with_fourteen_channels_has_a_voice_per_channel():
    channels = [c for c in range(15) if c != 9][:14]
    body = b"".join(note(c, 50 + i, 48 + 12 * i) for i, c in enumerate(channels))
    piece = read_midi(header(0, 1) + track(body))
    assert piece.voices() == list(range(14))
    assert [piece.voice(v)[0].pitch for v in range(14)] == [50 + i for i in range(14)]
    assert read_midi(write_midi(piece)).notes == piece.notes


def test_a_track_with_two_channels_splits_in_channel_order():
    body = note(5, 70, 96) + note(2, 50, 96)  # channel 6 first in time, channel 3 second
    piece = read_midi(header(1, 1) + track(body))
    assert [(n.voice, n.pitch) for n in piece.notes] == [(1, 70), (0, 50)]


def test_zero_length_notes_are_dropped():
    body = b"\x00\x90\x3c\x40\x00\x80\x3c\x00" + note(0, 64, 96)
    assert [n.pitch for n in read_midi(header(0, 1) + track(body)).notes] == [64]


# ---------------------------------------------------------------- the writer writes what the reader reads

EVENT = st.tuples(
    st.sampled_from([0, 1, 7, 96, 0x3FFF, 0x0FFFFFFF]),  # delta times, up to the largest one
    st.integers(0, 15),  # channel, 9 = drums
    st.integers(0, 127),
    st.sampled_from([0x80, 0x90, 0x90]),
    st.integers(0, 127),
)


@settings(max_examples=150, deadline=None)
@given(
    tracks=st.lists(st.lists(EVENT, max_size=12), min_size=1, max_size=4),
    ticks_per_beat=st.sampled_from([1, 24, 96, 480, 0x7FFF]),
    signature=st.tuples(st.integers(0, 255), st.integers(0, 255)),
)
def test_every_piece_the_reader_accepts_writes_back_to_the_same_piece(tracks, ticks_per_beat, signature):
    chunks = [track(b"\x00\xff\x58\x04" + bytes([*signature, 24, 8]))]
    for events in tracks:
        chunks.append(track(b"".join(vlq(d) + bytes([kind | c, p, v]) for d, c, p, kind, v in events)))
    piece = read_midi(header(1, len(chunks), ticks_per_beat) + b"".join(chunks))
    back = read_midi(write_midi(piece, ticks_per_beat=ticks_per_beat))
    assert back.notes == piece.notes
    assert back.drum_voices == piece.drum_voices
    assert back.time_signature == piece.time_signature


# ---------------------------------------------------------------- hundreds of tempo changes


@pytest.mark.timeout(10)  # 20,000 look-ups among 896 tempo changes: a bisection, not a walk
def test_hundreds_of_tempo_changes_give_the_same_seconds_fast():
    from course_lib.notes import TempoMap

    rng = np.random.default_rng(5)
    tempo = TempoMap(tuple((float(b), float(rng.integers(40, 240))) for b in range(0, 1792, 2)))  # 896 changes
    elapsed, expected = 0.0, {}
    for (beat, bpm), (next_beat, _) in zip(tempo.changes, tempo.changes[1:] + ((1e9, 1.0),), strict=True):
        for probe in (beat, beat + 0.5, beat + 1.25):
            expected[probe] = elapsed + (probe - beat) * 60 / bpm
        elapsed += (next_beat - beat) * 60 / bpm
    assert all(tempo.seconds(b) == pytest.approx(s, rel=1e-12) for b, s in expected.items())
    assert tempo.seconds(-1.0) == pytest.approx(-60 / tempo.changes[0][1])
    for beat in np.linspace(0, 1800, 20_000).tolist():
        tempo.seconds(beat)
