"""Your own music: a folder of MIDI files imported as a dataset the course's models can train on.

``import_folder(folder, name)`` reads every ``.mid`` / ``.midi`` file under ``folder`` (on all
cores), and writes ``output/data/NAME/``:

- ``pieces.npz``: per imported file a piano roll on a beat grid (88 keys, drums left out) and a
  melody line (the highest note sounding at each step, as tokens), plus its split;
- ``manifest.json``: every file, imported or skipped and why, the options, the split, and the
  sha256 of ``pieces.npz``.

The split is by file, seeded, and files with identical bytes share a split, so no piece leaks
from training into validation. By default the sustain pedal lengthens the notes it holds. Each
imported file's entry records the share of its onsets that fall off the import's step grid (what
quantising moves) and the share that falls on no grid notation writes on (``unnotated``: near 1 for
a recorded performance, 0 for a written file, triplets and dotted rhythms included). Importing an
unchanged folder again reuses what was built.

Notebook: 10_your_own_music
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from course_lib.datasets import SPLIT_FRACTIONS, DataError, Splits, sha256_of, write_npz_reproducibly
from course_lib.errors import CourseError
from course_lib.files import atomic_path, write_text_atomically
from course_lib.midi import read_midi
from course_lib.notes import Note
from course_lib.pianoroll import PIANO_HIGHEST, PIANO_LOWEST, to_pianoroll
from course_lib.tokens import HOLD, MelodyVocabulary

IMPORT_DIR = Path("output") / "data"
MIDI_SUFFIXES = (".mid", ".midi")
MANIFEST_NAME = "manifest.json"
PIECES_NAME = "pieces.npz"
# Bump FORMAT when what is stored changes: an old import is then rebuilt (2: skyline melody, pedal; 3: unnotated;
# 4: each entry's pickup).
FORMAT = 4
N_KEYS = PIANO_HIGHEST - PIANO_LOWEST + 1
# Melodies are stored with one token per MIDI pitch (2 + pitch); a model's vocabulary is cut to the data's range.
ALL_PITCHES = MelodyVocabulary(0, 127)
SPLIT_NAMES = ("train", "valid", "test")
OFF_GRID = 0.1  # an onset further than this fraction of a step from the grid is off it
# The grids notation writes onsets on, in steps per beat: thirty-seconds (dotted sixteenths, 3/8 of a
# beat) and sixteenth triplets (eighth triplets too). A notation program puts an onset on its grid to
# the tick; a player's onsets miss every grid by more than NOTATED_TOLERANCE of a beat.
NOTATED_GRIDS = (8, 6)
NOTATED_TOLERANCE = 0.01  # beats: about 5 ms at 120 beats per minute
PERFORMANCE = 0.5  # a file with more than this share of onsets on no notated grid is played, not written, music
SMALL_FOLDER = 64  # fewer files than this are read in this process: starting workers would cost more


@dataclass(frozen=True)
class ImportOptions:
    """How a folder is imported; recorded in the manifest (a change rebuilds the dataset).

    Notebook: 10_your_own_music
    """

    steps_per_beat: int = 4
    max_beats: float = 4096.0  # longer files are skipped as "too long" (about 34 minutes at 120 bpm)
    seed: int = 0
    sustain_pedal: bool = True  # notes released under the sustain pedal sound until it comes up

    def __post_init__(self) -> None:
        if not 1 <= self.steps_per_beat <= 96:
            raise CourseError(f"--steps-per-beat must be 1..96, not {self.steps_per_beat}")
        if not self.max_beats > 0:
            raise CourseError(f"--max-beats must be positive, not {self.max_beats}")


@dataclass
class FileResult:
    """What importing one file gave: the manifest entry, and the roll (bits packed 8 keys to a byte) and melody."""

    entry: dict
    roll: np.ndarray | None = None
    melody: np.ndarray | None = None


def find_midi_files(folder: str | os.PathLike) -> list[Path]:
    """Every ``.mid`` / ``.midi`` file under ``folder`` (any depth, any case), sorted by path.

    Notebook: 10_your_own_music
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder: pass the folder that holds your .mid files")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())


def import_file(path: Path, root: Path, options: ImportOptions) -> FileResult:
    """Read one file into a roll and a melody, or say why it is skipped (never raises for a bad file)."""
    data = path.read_bytes()
    entry: dict = {
        "path": path.relative_to(root).as_posix(),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }

    def skip(reason: str) -> FileResult:
        return FileResult({**entry, "status": "skipped", "reason": reason})

    try:
        piece = read_midi(data, sustain_pedal=options.sustain_pedal)
    except CourseError as error:
        return skip(f"not readable: {error}")
    pitched = piece.pitched_notes
    if not pitched:
        return skip("drums only (channel 10): nothing pitched to learn" if piece.notes else "no notes")
    if not any(PIANO_LOWEST <= n.pitch <= PIANO_HIGHEST for n in pitched):
        return skip("no notes in the piano's range A0..C8")
    beats = max(n.end for n in pitched)
    if beats > options.max_beats:
        return skip(f"too long: {beats:,.0f} beats (the limit is {options.max_beats:,.0f}; see --max-beats)")
    try:
        roll = to_pianoroll(piece, options.steps_per_beat, PIANO_LOWEST, PIANO_HIGHEST)
    except CourseError as error:
        return skip(str(error))
    in_range = [n for n in pitched if PIANO_LOWEST <= n.pitch <= PIANO_HIGHEST]
    melody = melody_tokens(in_range, options.steps_per_beat, len(roll))
    entry.update(
        status="imported",
        beats=round(beats, 3),
        notes=len(pitched),
        voices=len(piece.voices()) - len(piece.drum_voices),
        drum_notes=len(piece.notes) - len(pitched),
        time_signature=list(piece.time_signature),
        pickup=piece.pickup,
        tempo_bpm=round(piece.tempo.bpm_at(0.0), 2),
        off_grid=round(off_grid_share(pitched, options.steps_per_beat), 3),
        unnotated=round(unnotated_share(pitched), 3),
    )
    return FileResult(entry, np.packbits(roll, axis=1), melody)  # packed: 8x less to send between processes


def off_grid_share(notes: list[Note], steps_per_beat: int) -> float:
    """The share of onsets further than :data:`OFF_GRID` of a step from the step grid: the onsets the import moves.

    Notebook: 10_your_own_music
    """
    steps = np.array([n.start for n in notes]) * steps_per_beat
    return float(np.mean(np.abs(steps - np.round(steps)) > OFF_GRID)) if len(steps) else 0.0


def unnotated_share(notes: list[Note]) -> float:
    """The share of onsets on none of :data:`NOTATED_GRIDS`: near 1 for a recorded performance, 0 for a written file.

    Triplets and dotted rhythms are on a notated grid, though off a grid of 4 steps per beat.

    Notebook: 10_your_own_music
    """
    beats = np.array([n.start for n in notes], dtype=np.float64)
    on_a_grid = np.zeros(len(beats), dtype=bool)
    for per_beat in NOTATED_GRIDS:
        on_a_grid |= np.abs(beats * per_beat - np.round(beats * per_beat)) <= NOTATED_TOLERANCE * per_beat
    return float(np.mean(~on_a_grid)) if len(beats) else 0.0


def performances(manifest: dict) -> list[tuple[str, float]]:
    """``(path, share of onsets on no notated grid)`` of the imported files that look played rather than written.

    Notebook: 10_your_own_music
    """
    return [
        (e["path"], e["unnotated"])
        for e in manifest["files"]
        if e["status"] == "imported" and e["unnotated"] > PERFORMANCE
    ]


def off_the_step_grid(manifest: dict) -> list[tuple[str, float]]:
    """``(path, share of onsets off the step grid)`` of the written files whose rhythm the import moves, most first.

    Triplets and thirty-seconds fall between the steps of a coarse grid; the import puts them on the
    nearest step. Notebook: 10_your_own_music
    """
    moved = [
        (e["path"], e["off_grid"])
        for e in manifest["files"]
        if e["status"] == "imported" and e["off_grid"] > 0 and e["unnotated"] <= PERFORMANCE
    ]
    return sorted(moved, key=lambda pair: -pair[1])


def melody_tokens(notes: list[Note], steps_per_beat: int, n_steps: int) -> np.ndarray:
    """The highest note sounding at each step, as :data:`ALL_PITCHES` tokens, ``n_steps`` long.

    The same as ``ALL_PITCHES.encode(skyline(quantise(notes, steps_per_beat)))``, padded with
    rests, but on plain numbers: tens of thousands of notes take milliseconds, not a second.
    """
    tokens = np.zeros(n_steps, dtype=np.uint8)  # REST
    if not notes:
        return tokens
    starts = np.floor(np.array([n.start for n in notes]) * steps_per_beat + 0.5).astype(np.int64)
    ends = np.maximum(np.floor(np.array([n.end for n in notes]) * steps_per_beat + 0.5).astype(np.int64), starts + 1)
    pitches = np.array([n.pitch for n in notes], dtype=np.int64)
    owner = np.full(n_steps + 1, -1, dtype=np.int64)  # which note is on top at each step
    for i in np.lexsort((ends, starts, pitches)).tolist():  # by pitch, start, end: the top note is written last
        owner[starts[i] : min(ends[i], n_steps)] = i
    owner = owner[:n_steps]
    on_top = owner >= 0
    begins = on_top & np.concatenate([[True], owner[1:] != owner[:-1]])
    tokens[on_top] = HOLD
    tokens[begins] = pitches[owner[begins]] + 2  # ALL_PITCHES.token(pitch)
    return tokens


def _import_one(job: tuple[str, str, ImportOptions]) -> FileResult:
    path, root, options = job
    try:
        return import_file(Path(path), Path(root), options)
    except OSError as error:
        return FileResult({"path": Path(path).relative_to(root).as_posix(), "status": "skipped", "reason": str(error)})


def split_by_file(checksums: list[str], seed: int = 0) -> list[str]:
    """``"train"``, ``"valid"`` or ``"test"`` per file, 80/10/10 by distinct content, seeded.

    Files with the same sha256 get the same split, so a copy never leaks across. The split
    depends only on the set of contents and the seed, not on file names or order. With fewer
    than 3 distinct files everything is training data.
    """
    distinct = sorted(set(checksums))
    order = np.random.default_rng(seed).permutation(len(distinct))
    n_held = max(1, round(len(distinct) * SPLIT_FRACTIONS[1])) if len(distinct) >= 3 else 0
    part = {}
    for rank, index in enumerate(order):
        part[distinct[index]] = "valid" if rank < n_held else "test" if rank < 2 * n_held else "train"
    return [part[c] for c in checksums]


def _fingerprint(files: list[Path], root: Path, options: ImportOptions) -> str:
    """A hash of what an import depends on: each file's path, size and modification time, and the options."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, "options": asdict(options)}).encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _eta_line(done: int, total: int, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 else float("nan")
    eta = f"{int(left) // 60}:{int(left) % 60:02d}" if math.isfinite(left) else "?"
    return f"importing {done:,}/{total:,} files  {rate:,.0f} files/s  ETA {eta}"


def _read_all(
    files: list[Path], root: Path, options: ImportOptions, workers: int, progress: Callable[[str], None] | None
) -> list[FileResult]:
    jobs = [(str(p), str(root), options) for p in files]
    results: list[FileResult] = []
    started = last = time.perf_counter()

    def tick() -> None:
        nonlocal last
        now = time.perf_counter()
        if progress and (now - last > 0.5 or len(results) == len(jobs)):
            progress(_eta_line(len(results), len(jobs), now - started))
            last = now

    if workers <= 1 or len(jobs) < SMALL_FOLDER:
        for job in jobs:
            results.append(_import_one(job))
            tick()
        return results
    import multiprocessing

    # spawn: a fresh interpreter per worker, safe even when the caller has TensorFlow's threads running.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for result in pool.imap(_import_one, jobs, chunksize=max(1, min(32, len(jobs) // (8 * workers)))):
            results.append(result)
            tick()
    return results


def dataset_folder(name: str, out: str | os.PathLike = IMPORT_DIR) -> Path:
    """Where an imported dataset lives: ``out/NAME/`` (``output/data/NAME`` by default)."""
    if not name or name in (".", "..") or any(c in name for c in "/\\") or name in ("chorales", "jsb"):
        raise CourseError(f"--name {name!r}: use a plain folder name (not chorales or jsb, which are built in)")
    return Path(out) / name


def import_folder(
    folder: str | os.PathLike,
    name: str,
    options: ImportOptions | None = None,
    out: str | os.PathLike = IMPORT_DIR,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Import every MIDI file under ``folder`` into ``out/NAME/`` and return the manifest.

    ``workers`` processes read the files (default: one per core); ``progress`` receives a line
    with the count and an ETA about twice a second. An unchanged folder (same paths, sizes,
    modification times and options) reuses the dataset already there; the manifest then has
    ``"reused": true`` (not stored in the file).

    Notebook: 10_your_own_music
    """
    options = options or ImportOptions()
    root = Path(folder).resolve()
    target = dataset_folder(name, out)
    files = find_midi_files(root)
    if not files:
        raise DataError(f"no .mid or .midi files under {root}")
    fingerprint = _fingerprint(files, root, options)
    manifest_path = target / MANIFEST_NAME
    if manifest_path.exists() and (target / PIECES_NAME).exists():
        old = json.loads(manifest_path.read_text())
        if old.get("fingerprint") == fingerprint and old.get("data_sha256") == sha256_of(target / PIECES_NAME):
            return {**old, "reused": True}
    results = _read_all(files, root, options, workers or os.cpu_count() or 1, progress)
    entries = [r.entry for r in results]
    imported = [r for r in results if r.roll is not None]
    splits = split_by_file([r.entry["sha256"] for r in imported], options.seed)
    for result, split in zip(imported, splits, strict=True):
        result.entry["split"] = split
    lengths = np.array([len(r.roll) for r in imported], dtype=np.int64)
    arrays = {
        "rolls": np.concatenate([r.roll for r in imported] or [np.zeros((0, (N_KEYS + 7) // 8), np.uint8)]),
        "melodies": np.concatenate([r.melody for r in imported] or [np.zeros(0, np.uint8)]),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "split": np.array([SPLIT_NAMES.index(s) for s in splits], dtype=np.int8),
    }
    target.mkdir(parents=True, exist_ok=True)
    with atomic_path(target / PIECES_NAME) as temporary:
        write_npz_reproducibly(temporary, arrays)
    counts = {"files": len(entries), "imported": len(imported), "skipped": len(entries) - len(imported)}
    counts.update({s: splits.count(s) for s in SPLIT_NAMES})
    counts["identical_files"] = len(imported) - len({r.entry["sha256"] for r in imported})
    counts["played"] = sum(r.entry["unnotated"] > PERFORMANCE for r in imported)
    manifest = {
        "name": name,
        "format": FORMAT,
        "folder": str(root),
        "options": asdict(options),
        "pitch_range": [PIANO_LOWEST, PIANO_HIGHEST],
        "counts": counts,
        "frames": int(lengths.sum()),
        "data_file": PIECES_NAME,
        "data_sha256": sha256_of(target / PIECES_NAME),
        "fingerprint": fingerprint,
        "files": entries,
    }
    write_text_atomically(manifest_path, json.dumps(manifest, indent=1) + "\n")
    return {**manifest, "reused": False}


def skipped(manifest: dict) -> list[tuple[str, str]]:
    """``(path, reason)`` for every file the import left out.

    Notebook: 10_your_own_music
    """
    return [(e["path"], e["reason"]) for e in manifest["files"] if e["status"] == "skipped"]


@dataclass
class ImportedData:
    """An imported dataset: rolls and melody tokens per piece, split by file.

    ``rolls`` hold ``(frames, 88)`` booleans at ``steps_per_beat`` frames per beat; ``melodies``
    hold one token per frame with :data:`ALL_PITCHES` (``2 + pitch``; 0 rest, 1 hold); ``entries``
    the pieces' manifest entries, whose ``time_signature`` and ``pickup`` bar each piece.

    Notebook: 10_your_own_music
    """

    name: str
    manifest: dict
    manifest_path: Path
    steps_per_beat: int
    rolls: Splits
    melodies: Splits
    entries: Splits  # each piece's manifest entry (path, time signature, pickup, ...), in the order of the rolls

    @property
    def tempo_bpm(self) -> float:
        """The median opening tempo of the imported files."""
        tempi = [e["tempo_bpm"] for e in self.manifest["files"] if e["status"] == "imported"]
        return float(statistics.median(tempi)) if tempi else 120.0


def exists(name: str, out: str | os.PathLike = IMPORT_DIR) -> bool:
    """Whether ``out/NAME/`` holds an imported dataset."""
    return (Path(out) / name / MANIFEST_NAME).is_file()


def load_imported(name: str, out: str | os.PathLike = IMPORT_DIR) -> ImportedData:
    """Load a dataset made by :func:`import_folder`, checking its data against the manifest's sha256.

    Notebook: 10_your_own_music
    """
    folder = Path(out) / name
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        found = sorted(p.parent.name for p in Path(out).glob(f"*/{MANIFEST_NAME}"))
        raise DataError(
            f"no imported dataset {name!r} in {out} (found: {', '.join(found) or 'none'}); "
            f"make it with: python -m course_lib data import FOLDER --name {name}"
        )
    manifest = json.loads(manifest_path.read_text())
    pieces = folder / manifest["data_file"]
    if not pieces.is_file() or sha256_of(pieces) != manifest["data_sha256"]:
        raise DataError(f"{pieces} is missing or does not match its manifest: import the folder again")
    with np.load(pieces, allow_pickle=False) as arrays:
        rolls = np.unpackbits(arrays["rolls"], axis=1, count=N_KEYS).astype(bool)
        melodies, offsets, split = arrays["melodies"], arrays["offsets"], arrays["split"]
    roll_parts: tuple[list, list, list] = ([], [], [])
    melody_parts: tuple[list, list, list] = ([], [], [])
    entry_parts: tuple[list, list, list] = ([], [], [])
    imported = [e for e in manifest["files"] if e["status"] == "imported"]  # the pieces, in the arrays' order
    for i, part in enumerate(split):
        roll_parts[part].append(rolls[offsets[i] : offsets[i + 1]])
        melody_parts[part].append(melodies[offsets[i] : offsets[i + 1]].astype(np.int64))
        entry_parts[part].append(imported[i])
    spb = int(manifest["options"]["steps_per_beat"])
    splits = Splits(*roll_parts), Splits(*melody_parts), Splits(*entry_parts)
    return ImportedData(name, manifest, manifest_path, spb, *splits)


def print_progress(line: str) -> None:
    """Show a progress line in place (a carriage return, no newline), flushed at once."""
    sys.stdout.write(f"\r{line:<72}")  # padded: a shorter line overwrites a longer one
    sys.stdout.flush()
