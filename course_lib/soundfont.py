"""Optional real-instrument sound through a SoundFont, when one is installed.

Nothing here is needed: without ``tinysoundfont`` (or without a ``.sf2`` file) the course
uses the NumPy synthesiser in :mod:`course_lib.audio`. To hear a sampled piano or organ::

    pip install pretty_midi                  # ships the small General MIDI font TimGM6mb.sf2
    pip install --no-deps tinysoundfont      # its declared pyaudio dependency is not needed

Set ``COURSE_SOUNDFONT=/path/to/font.sf2`` to use another font.

Notebook: 00_setup_check
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from course_lib.midi import DRUM_CHANNEL
from course_lib.notes import Note

# General MIDI program numbers (0-based) for the instruments the course offers.
INSTRUMENTS = {"piano": 0, "harpsichord": 6, "organ": 19, "strings": 48, "choir": 52, "flute": 73}
STEREO_FLOAT32_BYTES = 8  # bytes per stereo frame of two float32 samples


def soundfont_path() -> Path | None:
    """The ``.sf2`` file to use: ``$COURSE_SOUNDFONT``, else pretty_midi's ``TimGM6mb.sf2``, else None.

    Notebook: 00_setup_check
    """
    chosen = os.environ.get("COURSE_SOUNDFONT")
    if chosen:
        return Path(chosen) if Path(chosen).is_file() else None
    spec = importlib.util.find_spec("pretty_midi")  # locate the file without importing pretty_midi
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "TimGM6mb.sf2"
        if candidate.is_file():
            return candidate
    return None


def soundfont_available() -> bool:
    """True when both ``tinysoundfont`` and a SoundFont file can be found.

    Notebook: 00_setup_check
    """
    return importlib.util.find_spec("tinysoundfont") is not None and soundfont_path() is not None


@lru_cache(maxsize=4)
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _channel(voice: int) -> int:
    """A MIDI channel per voice, skipping the drum channel."""
    channel = voice % 15
    return channel + 1 if channel >= DRUM_CHANNEL else channel


def render_soundfont(
    spans: Sequence[tuple[float, float, Note]],
    total_seconds: float,
    sample_rate: int,
    instrument: str | int = "piano",
) -> np.ndarray:
    """Render ``(start_s, end_s, note)`` spans with the SoundFont; a mono float64 waveform (unscaled).

    ``instrument`` is a name from :data:`INSTRUMENTS` or a General MIDI program number. Pitches
    outside 0..127 are skipped, as MIDI cannot express them.

    Notebook: 00_setup_check
    """
    import tinysoundfont

    path = soundfont_path()
    if path is None:
        raise FileNotFoundError("no SoundFont found: install pretty_midi or set COURSE_SOUNDFONT")
    program = INSTRUMENTS[instrument] if isinstance(instrument, str) else int(instrument)
    synth = tinysoundfont.Synth(samplerate=sample_rate)
    font = synth.sfload(_font_bytes(path))
    channels = sorted({_channel(note.voice) for _, _, note in spans})
    for channel in channels:
        synth.program_select(channel, font, 0, program)

    events = []  # (sample, order, channel, key, velocity): note-offs before note-ons at the same sample
    for start, end, note in spans:
        if 0 <= note.pitch <= 127 and end > start:
            velocity = int(min(max(note.velocity, 1), 127))
            events.append((int(round(start * sample_rate)), 1, _channel(note.voice), note.pitch, velocity))
            events.append((int(round(end * sample_rate)), 0, _channel(note.voice), note.pitch, 0))
    events.sort()
    frames = int(np.ceil(total_seconds * sample_rate)) + 1
    buffer = memoryview(bytearray(frames * STEREO_FLOAT32_BYTES))
    done = 0
    for sample, is_on, channel, key, velocity in events:
        sample = min(sample, frames)
        if sample > done:
            synth.generate_simple(
                sample - done, buffer=buffer[done * STEREO_FLOAT32_BYTES : sample * STEREO_FLOAT32_BYTES]
            )
            done = sample
        if is_on:
            synth.noteon(channel, key, velocity)
        else:
            synth.noteoff(channel, key)
    if frames > done:
        synth.generate_simple(frames - done, buffer=buffer[done * STEREO_FLOAT32_BYTES :])
    stereo = np.frombuffer(buffer, dtype=np.float32).reshape(-1, 2)
    return stereo.mean(axis=1, dtype=np.float64)
