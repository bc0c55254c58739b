"""The optional SoundFont renderer (course_lib.soundfont): which font it finds, channels around the drums, and
(where tinysoundfont is installed) a note that sounds where it is played."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from course_lib import soundfont
from course_lib.midi import DRUM_CHANNEL
from course_lib.notes import Note


def test_the_chosen_font_is_the_one_named_or_none(tmp_path, monkeypatch):
    font = tmp_path / "mine.sf2"
    font.write_bytes(b"RIFF")
    monkeypatch.setenv("COURSE_SOUNDFONT", str(font))
    assert soundfont.soundfont_path() == font
    monkeypatch.setenv("COURSE_SOUNDFONT", str(tmp_path / "missing.sf2"))
    assert soundfont.soundfont_path() is None  # a named font that is not there: no other one in its place
    assert not soundfont.soundfont_available()


def test_voices_get_their_own_channels_around_the_drums():
    channels = [soundfont._channel(voice) for voice in range(16)]
    assert DRUM_CHANNEL not in channels
    assert channels[:DRUM_CHANNEL] == list(range(DRUM_CHANNEL))
    assert channels[DRUM_CHANNEL] == DRUM_CHANNEL + 1 and channels[14] == 15
    assert channels[15] == channels[0]  # sixteen voices: fifteen channels, the sixteenth shares the first's


def test_without_a_font_rendering_says_what_to_install(tmp_path, monkeypatch):
    if importlib.util.find_spec("tinysoundfont") is None:
        pytest.skip("optional: pip install --no-deps tinysoundfont")
    monkeypatch.setenv("COURSE_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(FileNotFoundError, match="install pretty_midi or set COURSE_SOUNDFONT"):
        soundfont.render_soundfont([(0.0, 0.5, Note(0.0, 1.0, 69))], 1.0, 8000)


@pytest.mark.skipif(not soundfont.soundfont_available(), reason="optional: pretty_midi and tinysoundfont")
def test_a_note_sounds_while_it_is_played_and_out_of_range_pitches_are_skipped():
    rate = 8000
    wave = soundfont.render_soundfont([(0.25, 0.5, Note(0.0, 1.0, 69)), (0.0, 1.0, Note(0.0, 1.0, 200))], 1.0, rate)
    assert len(wave) == rate + 1
    assert np.abs(wave[: rate // 4]).max() == 0.0  # silent before the note: the pitch 200 is skipped
    assert np.abs(wave[rate // 4 : rate // 2]).max() > 0.01
