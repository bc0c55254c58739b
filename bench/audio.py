"""Synthesis speed of each audio renderer on this machine, in seconds of audio per second of compute.

Two workloads: 20 chorales from the bundled data (what the notebooks play; repeated notes hit
the NumPy synthesiser's waveform cache) and 5 minutes of random four-voice notes (few repeats,
so the cache barely helps). The course's target is at least 100 times faster than real time.

Run: python bench/audio.py
"""

from __future__ import annotations

import time

import numpy as np

TARGET = 100.0
# Earlier measurements on a 2-core machine of the same kind (course design notes), for comparison.
EARLIER = {"numpy": "~356x", "soundfont": "~295x (tinysoundfont + TimGM6mb.sf2)"}


def random_notes(seconds: float = 300.0, seed: int = 0):
    """Four voices of random pitches, lengths and velocities, one onset per voice every half beat or so."""
    from course_lib.notes import Note

    rng = np.random.default_rng(seed)
    notes, beats = [], seconds * 2  # 120 bpm
    for voice in range(4):
        start = 0.0
        while start < beats:
            length = float(rng.choice([0.25, 0.5, 1.0, 1.5, 2.0]))
            pitch = int(rng.integers(36 + 7 * voice, 60 + 7 * voice))
            notes.append(Note(start, start + length, pitch, int(rng.integers(40, 120)), voice))
            start += length
    return notes


def speed(pieces, renderer: str, repeats: int = 3) -> tuple[float, float]:
    """Best-of-``repeats`` (audio seconds, audio seconds per compute second), cache emptied each time."""
    from course_lib.audio import SAMPLE_RATE, _note_waveform, synthesize

    best = np.inf
    for _ in range(repeats):
        _note_waveform.cache_clear()
        started = time.perf_counter()
        audio_seconds = sum(len(synthesize(p, renderer=renderer)) / SAMPLE_RATE for p in pieces)
        best = min(best, time.perf_counter() - started)
    return audio_seconds, audio_seconds / best


def main() -> None:
    from course_lib.datasets import load_chorales
    from course_lib.soundfont import soundfont_available, soundfont_path

    renderers = ["numpy"] + (["soundfont"] if soundfont_available() else [])
    if "soundfont" in renderers:
        print(f"SoundFont: {soundfont_path()}")
    else:
        print("SoundFont renderer not installed (optional, see the README: pretty_midi + tinysoundfont)")
    workloads = {"20 chorales": load_chorales().train[:20], "random 4 voices": [random_notes()]}
    print(f"{'renderer':<10} {'workload':<16} {'audio s':>8} {'x real time':>12}  target   earlier")
    for renderer in renderers:
        for name, pieces in workloads.items():
            audio_seconds, ratio = speed(pieces, renderer)
            print(f"{renderer:<10} {name:<16} {audio_seconds:8.0f} {ratio:11.0f}x  >= {TARGET:g}x  {EARLIER[renderer]}")


if __name__ == "__main__":
    main()
