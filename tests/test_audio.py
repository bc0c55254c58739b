"""The synthesiser: silence, clicks, range, WAV bytes."""

from __future__ import annotations

import io
import warnings
import wave

import numpy as np
import pytest

from course_lib.audio import midi_to_hz, play, synthesize, wav_bytes
from course_lib.notes import Note, TempoMap
from course_lib.pianoroll import to_pianoroll
from course_lib.soundfont import soundfont_available

RENDERERS = [
    "numpy",
    pytest.param(
        "soundfont",
        marks=pytest.mark.skipif(
            not soundfont_available(), reason="optional: pip install pretty_midi && pip install --no-deps tinysoundfont"
        ),
    ),
]


@pytest.mark.parametrize("renderer", RENDERERS)
def test_silence_one_note_and_long_pieces_without_warnings(renderer):
    ten_minutes = [Note(float(i), i + 1.0, 48 + (7 * i) % 36, 30 + i % 90, i % 4) for i in range(1200)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silent = synthesize([], renderer=renderer)
        assert silent.dtype == np.float32 and not silent.any()
        play([], renderer=renderer)
        one = synthesize([Note(0.0, 1.0, 60)], renderer=renderer)
        assert np.abs(one).max() == pytest.approx(0.8, abs=1e-3)
        long = synthesize(ten_minutes, tempo=120, renderer=renderer)
    assert len(long) / 22_050 == pytest.approx(600.3, abs=0.01) and np.isfinite(long).all()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_out_of_range_pitches_are_skipped(renderer):
    signal = synthesize([Note(0.0, 1.0, 130), Note(0.0, 1.0, -3), Note(0.0, 1.0, 127)], renderer=renderer)
    assert np.isfinite(signal).all() and len(signal) > 0
    assert np.abs(synthesize([Note(0.0, 1.0, 60), Note(0.0, 1.0, 140)], renderer=renderer)).max() > 0.5


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a4_sounds_at_440_hz_and_ends_without_a_click(renderer):
    rate = 22_050
    signal = synthesize([Note(0.0, 2.0, 69)], rate, tempo=120, renderer=renderer)
    spectrum = np.abs(np.fft.rfft(signal))
    frequencies = np.fft.rfftfreq(len(signal), 1 / rate)
    band = (frequencies > 300) & (frequencies < 600)  # around the fundamental
    assert frequencies[band][np.argmax(spectrum[band])] == pytest.approx(440.0, abs=3.0)
    assert abs(signal[0]) < 1e-3 and abs(signal[-1]) < 1e-3


def test_one_numpy_note_has_the_right_length_and_peak():
    rate = 22_050
    signal = synthesize([Note(0.0, 2.0, 69)], rate, tempo=120, tail_seconds=0.0, renderer="numpy")
    assert len(signal) == pytest.approx(1.0 * rate + 1, abs=2)  # 2 beats at 120 bpm
    assert np.max(np.abs(signal)) == pytest.approx(0.8, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(signal))
    assert np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)] == pytest.approx(440.0, abs=2.0)
    assert midi_to_hz(60) == pytest.approx(261.6256, abs=1e-3)


def test_numpy_synth_has_no_clicks_at_note_edges():
    signal = synthesize([Note(0.0, 1.0, 60), Note(1.0, 2.0, 67)], tempo=120, renderer="numpy")
    assert abs(signal[0]) < 1e-3 and abs(signal[-1]) < 1e-3
    # a click is a jump between neighbouring samples far above what the partials produce
    assert np.max(np.abs(np.diff(signal))) < 0.25


def test_numpy_harmonics_match_the_direct_formula():
    """The recurrences for sin(kx) and the decays give what sin and exp would (no drift over 2 s)."""
    from course_lib.audio import VOICE_TIMBRES, _note_waveform

    rate, frequency = 22_050, 440.0
    held = 2 * rate
    wave_ = _note_waveform(69, 0, held, held, rate)
    t = np.arange(held) / rate
    direct = sum(
        w * np.exp(-(1.5 + 1.2 * k) * t) * np.sin(2 * np.pi * frequency * k * t)
        for k, w in enumerate(VOICE_TIMBRES[0], start=1)
    )
    attack = int(0.005 * rate)
    np.testing.assert_allclose(wave_[attack:], direct[attack:], atol=1e-9)


def test_auto_renderer_and_bad_names():
    notes = [Note(0.0, 1.0, 60)]
    expected = "soundfont" if soundfont_available() else "numpy"
    np.testing.assert_array_equal(synthesize(notes), synthesize(notes, renderer=expected))
    with pytest.raises(ValueError, match="renderer must be one of"):
        synthesize(notes, renderer="fluidsynth")


def test_rolls_by_voice_sound():
    roll = to_pianoroll([Note(0.0, 1.0, 60, voice=0), Note(0.0, 1.0, 48, voice=1)], 4, by_voice=True)
    assert np.abs(synthesize(roll, renderer="numpy")).max() > 0.5


def test_tempo_map_sets_length():
    slow = synthesize([Note(0.0, 4.0, 60)], tempo=TempoMap.constant(60), tail_seconds=0, renderer="numpy")
    assert len(slow) == pytest.approx(4 * 22_050 + 1, abs=2)


def test_wav_bytes_header_and_samples():
    data = wav_bytes(np.array([0.0, 1.0, -1.0, 2.0]), 8000)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()) == (1, 2, 8000, 4)
        assert np.frombuffer(wav.readframes(4), "<i2").tolist() == [0, 32767, -32767, 32767]
