"""Hearing notes: a small additive synthesiser in NumPy, WAV bytes and inline players.

No system libraries and no network: a few decaying harmonics per note with a short attack
and a smooth release (so note edges do not click), scaled by velocity. When a SoundFont
renderer is installed (:mod:`course_lib.soundfont`), ``renderer="auto"`` uses it instead, for
a sampled piano or organ; without one it falls back to the NumPy synthesiser silently.

Notebook: 00_setup_check
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache

import numpy as np

from course_lib.errors import TooLargeError, human_size
from course_lib.notes import Note, Piece, TempoMap
from course_lib.pianoroll import PIANO_LOWEST, as_piece
from course_lib.soundfont import render_soundfont, soundfont_available

RENDERERS = ("auto", "numpy", "soundfont")

SAMPLE_RATE = 22_050
ATTACK_SECONDS = 0.005
RELEASE_SECONDS = 0.04
END_FADE_SECONDS = 0.02
MAX_SECONDS = 30 * 60.0  # longer music is refused: 30 minutes is already 40 million samples
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
    renderer: str = "auto",
    instrument: str | int = "piano",
    max_seconds: float = MAX_SECONDS,
) -> np.ndarray:
    """Render music as a mono float32 waveform in ``[-1, 1]``.

    ``music`` is a :class:`Piece`, a list of notes, or a piano roll (``(time, pitch)`` or
    ``(voice, time, pitch)``, read with ``steps_per_beat`` and ``lowest``). ``tempo`` is a
    :class:`TempoMap` or beats per minute; by default the piece's own, else 120. Silence gives
    zeros (never a division by zero); the loudest peak is scaled to 0.8. Drum voices are left out.

    ``renderer`` is ``"numpy"`` (the additive synthesiser), ``"soundfont"`` (needs
    :func:`~course_lib.soundfont.soundfont_available`; ``instrument`` picks the sound) or
    ``"auto"``: the SoundFont when it is there, else NumPy. Music longer than ``max_seconds``
    raises :class:`~course_lib.errors.TooLargeError` before anything is allocated.

    Notebook: 00_setup_check
    """
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, not {renderer!r}")
    piece = as_piece(music, steps_per_beat, lowest, tempo)
    spans = [(piece.tempo.seconds(n.start), piece.tempo.seconds(n.end), n) for n in piece.pitched_notes]
    total = max((end for _, end, _ in spans), default=0.0) + tail_seconds
    if total > max_seconds:
        raise TooLargeError(
            f"this music lasts {_duration_text(total)}, which would need {human_size(total * sample_rate * 8)} of "
            f"samples; synthesize renders at most {_duration_text(max_seconds)}: cut the piece or pass max_seconds=..."
        )
    if renderer == "soundfont" or (renderer == "auto" and spans and soundfont_available()):
        out = render_soundfont(spans, total, sample_rate, instrument)
    else:
        out = np.zeros(int(np.ceil(total * sample_rate)) + 1, dtype=np.float64)
        for start, end, note in spans:
            _add_note(out, start, end, note, sample_rate)
    fade = min(int(END_FADE_SECONDS * sample_rate), len(out))
    if fade:  # whatever still sounds at the very end fades out instead of stopping with a click
        out[len(out) - fade :] *= np.linspace(1.0, 0.0, fade)
    peak = np.max(np.abs(out)) if out.size else 0.0
    if peak > 0:
        out *= 0.8 / peak
    return out.astype(np.float32)


def opening(piece: Piece, seconds: float) -> Piece:
    """The part of ``piece`` that sounds in its first ``seconds``: later notes dropped, notes across the cut cut.

    Notebook: 00_setup_check (the Player plays the opening of a piece too long to render whole)
    """
    low, high = 0.0, max(piece.end, 0.0)
    for _ in range(60):  # the beat at which ``seconds`` have passed (the tempo map only goes beats -> seconds)
        middle = (low + high) / 2
        low, high = (middle, high) if piece.tempo.seconds(middle) < seconds else (low, middle)
    notes = [replace(n, end=min(n.end, high)) for n in piece.notes if n.start < high]
    return replace(piece, notes=notes)


def _duration_text(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} hours"
    return f"{seconds / 60:.1f} minutes" if seconds >= 60 else f"{seconds:.1f} s"


def _add_note(out: np.ndarray, start: float, end: float, note: Note, sample_rate: int) -> None:
    """Mix one note into ``out`` in place."""
    if midi_to_hz(note.pitch) >= sample_rate / 2 or end <= start:
        return  # above the Nyquist frequency: it would alias, so it is left out
    first = int(round(start * sample_rate))
    held = max(int(round((end - start) * sample_rate)), 1)
    release = int(RELEASE_SECONDS * sample_rate)
    length = min(held + release, len(out) - first)
    if length <= 0:
        return
    gain = (max(min(note.velocity, 127), 1) / 127) ** 1.5
    out[first : first + length] += gain * _note_waveform(note.pitch, note.voice, held, length, sample_rate)


@lru_cache(maxsize=512)
def _note_waveform(pitch: int, voice: int, held: int, length: int, sample_rate: int) -> np.ndarray:
    """One note at full velocity: decaying harmonics under an attack and a release envelope.

    Notes repeat (same pitch, length and voice), so waveforms are cached. Harmonic ``k`` is
    ``sin(k x)`` with decay ``exp(-(1.5 + 1.2 k) t)``; both come from the fundamental by the
    recurrences ``sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x)`` and ``d_(k+1) = d_k exp(-1.2 t)``,
    which cost a multiply-add each instead of a new ``sin`` and ``exp``.
    """
    frequency = midi_to_hz(pitch)
    t = np.arange(length) / sample_rate
    phase = 2 * np.pi * frequency * t
    two_cos = 2 * np.cos(phase)
    sin_previous, sin_k = np.zeros(length), np.sin(phase)
    decay, decay_step = np.exp(-2.7 * t), np.exp(-1.2 * t)
    signal = np.zeros(length)
    for harmonic, weight in enumerate(VOICE_TIMBRES[voice % len(VOICE_TIMBRES)], start=1):
        if frequency * harmonic >= sample_rate / 2:
            break
        signal += weight * decay * sin_k
        sin_previous, sin_k = sin_k, two_cos * sin_k - sin_previous
        decay = decay * decay_step
    attack = min(int(ATTACK_SECONDS * sample_rate), length)
    signal[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    fade_start = min(held, length)
    fade = length - fade_start
    if fade > 0:  # raised-cosine release from the note's end to zero
        signal[fade_start:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
    signal.flags.writeable = False  # shared by the cache
    return signal


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

    Notebook: 01_midi_bytes
    """
    from IPython.display import Audio

    return Audio(data=wav_bytes(synthesize(music, sample_rate, **kwargs), sample_rate), rate=sample_rate)
