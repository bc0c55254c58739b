"""The synthesiser: silence, clicks, range, WAV bytes; and that the roll plot draws."""

from __future__ import annotations

import io
import warnings
import wave

import numpy as np
import pytest

from course_lib.audio import midi_to_hz, synthesize, wav_bytes
from course_lib.notes import Note, TempoMap
from course_lib.pianoroll import to_pianoroll


def test_silence_is_zeros_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wave_silent = synthesize([])
        assert wave_silent.dtype == np.float32 and not wave_silent.any()
        from course_lib.audio import play

        play([])


def test_one_note_has_the_right_pitch_length_and_peak():
    rate = 22_050
    signal = synthesize([Note(0.0, 2.0, 69)], rate, tempo=120, tail_seconds=0.0)
    assert len(signal) == pytest.approx(1.0 * rate + 1, abs=2)  # 2 beats at 120 bpm
    assert np.max(np.abs(signal)) == pytest.approx(0.8, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(signal))
    assert np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)] == pytest.approx(440.0, abs=2.0)
    assert midi_to_hz(60) == pytest.approx(261.6256, abs=1e-3)


def test_no_clicks_at_note_edges():
    signal = synthesize([Note(0.0, 1.0, 60), Note(1.0, 2.0, 67)], tempo=120)
    assert abs(signal[0]) < 1e-3 and abs(signal[-1]) < 1e-3
    # a click is a jump between neighbouring samples far above what the partials produce
    assert np.max(np.abs(np.diff(signal))) < 0.25


def test_out_of_range_pitches_and_rolls():
    assert np.isfinite(synthesize([Note(0.0, 1.0, 127), Note(0.0, 1.0, 0)])).all()
    roll = to_pianoroll([Note(0.0, 1.0, 60, voice=0), Note(0.0, 1.0, 48, voice=1)], 4, by_voice=True)
    assert np.abs(synthesize(roll)).max() > 0.5


def test_tempo_map_sets_length():
    slow = synthesize([Note(0.0, 4.0, 60)], tempo=TempoMap.constant(60), tail_seconds=0)
    assert len(slow) == pytest.approx(4 * 22_050 + 1, abs=2)


def test_wav_bytes_header_and_samples():
    data = wav_bytes(np.array([0.0, 1.0, -1.0, 2.0]), 8000)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()) == (1, 2, 8000, 4)
        assert np.frombuffer(wav.readframes(4), "<i2").tolist() == [0, 32767, -32767, 32767]


def test_plot_draws_one_bar_per_note():
    import matplotlib

    matplotlib.use("Agg")
    from course_lib.plot import plot_pianoroll

    ax = plot_pianoroll([Note(0.0, 1.0, 60, voice=0), Note(1.0, 3.0, 48, voice=3)], beats_per_bar=3)
    assert len(ax.collections) == 2
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["C3", "E3"]
