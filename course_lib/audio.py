"""Hearing notes: a small additive synthesiser in NumPy, WAV bytes and inline players.

No system libraries and no network: a few decaying harmonics per note with a short attack
and a smooth release (so note edges do not click), scaled by velocity.

Notebook: 00_setup_check
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable

import numpy as np

from course_lib.notes import Note, Piece, TempoMap
from course_lib.pianoroll import PIANO_LOWEST, from_pianoroll

SAMPLE_RATE = 22_050
ATTACK_SECONDS = 0.005
RELEASE_SECONDS = 0.04
# Relative amplitudes of harmonics 1..4 per voice: soprano brightest, bass roundest,
# so that the voices of a chorale stay apart to the ear.
VOICE_TIMBRES = (
    (1.0, 0.55, 0.35, 0.2),
    (1.0, 0.4, 0.2, 0.1),
    (1.0, 0.5, 0.12, 0.15),
    (1.0, 0.3, 0.08, 0.04),
)


def midi_to_hz(pitch: float) -> float:
    """Frequency of a MIDI pitch (A4 = 69 = 440 Hz).

    Notebook: 00_setup_check
    """
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def synthesize(
    music: Piece | Iterable[Note] | np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    tempo: TempoMap | float | None = None,
    steps_per_beat: int = 4,
    lowest: int = PIANO_LOWEST,
    tail_seconds: float = 0.3,
) -> np.ndarray:
    """Render music as a mono float32 waveform in ``[-1, 1]``.

    ``music`` is a :class:`Piece`, a list of notes, or a piano roll (``(time, pitch)`` or
    ``(voice, time, pitch)``, read with ``steps_per_beat`` and ``lowest``). ``tempo`` is a
    :class:`TempoMap` or beats per minute; by default the piece's own, else 120. Silence gives
    zeros (never a division by zero); the loudest peak is scaled to 0.8.

    Notebook: 00_setup_check
    """
    if isinstance(music, np.ndarray):
        notes = from_pianoroll(music, steps_per_beat, lowest)
    elif isinstance(music, Piece):
        notes = music.notes
        tempo = tempo if tempo is not None else music.tempo
    else:
        notes = list(music)
    if tempo is None:
        tempo = TempoMap()
    elif not isinstance(tempo, TempoMap):
        tempo = TempoMap.constant(float(tempo))
    spans = [(tempo.seconds(n.start), tempo.seconds(n.end), n) for n in notes]
    total = max((end for _, end, _ in spans), default=0.0) + tail_seconds
    out = np.zeros(int(np.ceil(total * sample_rate)) + 1, dtype=np.float64)
    for start, end, note in spans:
        _add_note(out, start, end, note, sample_rate)
    peak = np.max(np.abs(out)) if out.size else 0.0
    if peak > 0:
        out *= 0.8 / peak
    return out.astype(np.float32)


def _add_note(out: np.ndarray, start: float, end: float, note: Note, sample_rate: int) -> None:
    """Mix one note into ``out`` in place."""
    frequency = midi_to_hz(note.pitch)
    if frequency >= sample_rate / 2 or end <= start:
        return  # above the Nyquist frequency: it would alias, so it is left out
    first = int(round(start * sample_rate))
    held = max(int(round((end - start) * sample_rate)), 1)
    release = int(RELEASE_SECONDS * sample_rate)
    length = min(held + release, len(out) - first)
    if length <= 0:
        return
    t = np.arange(length) / sample_rate
    timbre = VOICE_TIMBRES[note.voice % len(VOICE_TIMBRES)]
    signal = np.zeros(length)
    for harmonic, weight in enumerate(timbre, start=1):
        if frequency * harmonic < sample_rate / 2:
            decay = np.exp(-t * (1.5 + 1.2 * harmonic))
            signal += weight * decay * np.sin(2 * np.pi * frequency * harmonic * t)
    envelope = np.ones(length)
    attack = min(int(ATTACK_SECONDS * sample_rate), length)
    envelope[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False)
    fade_start = min(held, length)
    fade = length - fade_start
    if fade > 0:  # raised-cosine release from the note's end to zero
        envelope[fade_start:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
    gain = (max(min(note.velocity, 127), 1) / 127) ** 1.5
    out[first : first + length] += gain * envelope * signal


def wav_bytes(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM WAV file contents for a float waveform in ``[-1, 1]``.

    Notebook: 00_setup_check
    """
    pcm = (np.clip(np.asarray(waveform, dtype=np.float64), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def play(music: Piece | Iterable[Note] | np.ndarray, sample_rate: int = SAMPLE_RATE, **kwargs):
    """An inline audio player (``IPython.display.Audio``) for notes or a piano roll.

    Keyword arguments go to :func:`synthesize`. Silence plays as silence, without warnings.

    Notebook: 00_setup_check
    """
    from IPython.display import Audio

    return Audio(data=wav_bytes(synthesize(music, sample_rate, **kwargs), sample_rate), rate=sample_rate)
