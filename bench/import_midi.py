"""Time importing a folder of 1,000 MIDI files, against mido reading the same files.

The folder is generated (seeded): multitrack pieces of 1 to 12 voices and 1 to 6 minutes, some
with a drum track, some format 0, a few corrupt or empty, in nested sub-folders. The import does
everything (read, rolls, melodies, split, manifest) on all cores; mido only parses, in one process.
Target: the 1,000-file folder imported in at most 2 minutes on 2 cores.

Run: python bench/import_midi.py [--files 1000] [--workers N] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from course_lib.midi import write_midi
from course_lib.notes import Note, Piece, TempoMap

TARGET_SECONDS = 120.0


def random_piece(rng: np.random.Generator) -> Piece:
    """A piece shaped like a real multitrack file: voices in their own registers, tempo changes, maybe drums."""
    n_voices = int(rng.integers(1, 13))
    beats = float(rng.integers(120, 720))  # 1 to 6 minutes at 120 bpm
    notes = []
    for voice in range(n_voices):
        centre = int(rng.integers(36, 84))
        step = float(rng.choice([0.25, 0.5, 1.0]))
        starts = np.arange(0.0, beats, step)
        starts = starts[rng.random(len(starts)) < 0.7]
        lengths = step * rng.integers(1, 4, len(starts))
        pitches = np.clip(centre + rng.integers(-7, 8, len(starts)), 21, 108)
        velocities = rng.integers(40, 110, len(starts))
        notes += [
            Note(float(s), float(s + n), int(p), int(v), voice)
            for s, n, p, v in zip(starts, lengths, pitches, velocities, strict=True)
        ]
    drums = ()
    if rng.random() < 0.3:
        drums = (n_voices,)
        notes += [Note(b / 2, b / 2 + 0.1, int(rng.choice([36, 38, 42])), 100, n_voices) for b in range(int(beats * 2))]
    changes = tuple((float(b), float(rng.integers(60, 180))) for b in range(0, int(beats), 64))
    return Piece(sorted(notes), TempoMap(changes), (4, 4), drum_voices=drums)


def as_format_0(data: bytes) -> bytes:
    """The same music in one track (format 0), each event's channel kept: merge the tracks' events by time."""
    from course_lib.midi import encode_variable_length, parse_track, split_chunks

    events = []
    for kind, offset, body in split_chunks(data):
        if kind != b"MTrk":
            continue
        for event in parse_track(body, offset):
            if event.kind == "channel":
                events.append((event.tick, 1, bytes([event.status]) + event.data))
            elif event.kind == "meta" and event.status != 0x2F:
                events.append((event.tick, 0, bytes([0xFF, event.status, len(event.data)]) + event.data))
    body, last = bytearray(), 0
    for tick, _, message in sorted(events):
        body += encode_variable_length(tick - last) + message
        last = tick
    body += b"\x00\xff\x2f\x00"
    ticks = struct.unpack(">H", data[12:14])[0]
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks) + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def make_folder(folder: Path, count: int, seed: int = 0) -> int:
    """Write ``count`` files under ``folder`` (10 sub-folders); returns the total bytes."""
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(count):
        path = folder / f"set{i % 10}" / f"piece{i:04d}.mid"
        path.parent.mkdir(parents=True, exist_ok=True)
        roll = rng.random()
        if roll < 0.01:
            data = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x00\x90"  # truncated
        elif roll < 0.02:
            data = write_midi([])
        else:
            data = write_midi(random_piece(rng))
            if rng.random() < 0.2:
                data = as_format_0(data)
        path.write_bytes(data)
        total += len(data)
    return total


def time_mido(files: list[Path]) -> tuple[float, int]:
    import mido

    started, failed = time.perf_counter(), 0
    for path in files:
        try:
            mido.MidiFile(path)
        except (OSError, EOFError, ValueError, KeyError, IndexError):
            failed += 1
    return time.perf_counter() - started, failed


def time_read_midi(files: list[Path]) -> tuple[float, int]:
    from course_lib.errors import CourseError
    from course_lib.midi import read_midi

    started, failed = time.perf_counter(), 0
    for path in files:
        try:
            read_midi(path)
        except CourseError:
            failed += 1
    return time.perf_counter() - started, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="generate the folder here and keep it")
    args = parser.parse_args()
    from course_lib.midi_import import find_midi_files, import_folder

    scratch = Path(tempfile.mkdtemp(prefix="bench-import-"))
    folder = args.keep or scratch / "midi"
    try:
        started = time.perf_counter()
        size = make_folder(folder, args.files)
        print(f"generated {args.files} files, {size / 1e6:.1f} MB, in {time.perf_counter() - started:.1f} s")
        files = find_midi_files(folder)
        started = time.perf_counter()
        manifest = import_folder(folder, "bench", out=scratch / "out", workers=args.workers)
        seconds = time.perf_counter() - started
        counts = manifest["counts"]
        rows = [(f"import_folder, {args.workers} workers (rolls, melodies, manifest)", seconds, None)]
        rows.append(("course_lib.midi.read_midi, 1 process (reading only)", *time_read_midi(files)))
        rows.append(("mido.MidiFile, 1 process (reading only)", *time_mido(files)))
        print(f"{counts['imported']} imported, {counts['skipped']} skipped; {manifest['frames']:,} frames\n")
        print(f"{'what':<62} {'seconds':>8} {'files/s':>8} {'MB/s':>6}  unreadable")
        for name, took, failed in rows:
            print(
                f"{name:<62} {took:8.1f} {len(files) / took:8.0f} {size / 1e6 / took:6.2f}  "
                f"{'' if failed is None else failed}"
            )
        verdict = "meets" if seconds <= TARGET_SECONDS else "misses"
        print(f"\nthe import {verdict} the target: {len(files)} files in {seconds:.1f} s (<= {TARGET_SECONDS:.0f} s)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
