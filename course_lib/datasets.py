"""The course's data: Bach chorales from music21's corpus, and the JSB standard split.

``python -m course_lib data build`` parses the chorales once (about a minute) into
``data/chorales.npz``; :func:`load_chorales` reads that file in well under a second and
splits it by piece with a fixed seed. :func:`load_jsb` reads the benchmark split that
published results use.

One place loads each data set: this module reads the bundled files, and
:func:`course_lib.midi_import.load_imported` a folder imported with ``data import``. Every other
loader converts what these return for one kind of model and reads no file itself:
:mod:`~course_lib.sources` (piano rolls, by data source), :mod:`~course_lib.melodies` (tokens),
:mod:`~course_lib.gan` (two-bar excerpts) and :mod:`~course_lib.harmonising` (four voice lines).
tests/test_sources.py checks that rule.

Notebook: 02_representations
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from course_lib.errors import CourseError
from course_lib.notes import Note, Piece, TempoMap
from course_lib.tune_matching import group_by_runs, runs_of, tune_groups

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CHORALES_FILE = DATA_DIR / "chorales.npz"
CHORALES_CARD = DATA_DIR / "chorales.json"
JSB_FILE = DATA_DIR / "jsb" / "jsb_chorales.npz"
JSB_OCTAVE = 12  # the JSB split is written an octave above sounding pitch (median MIDI 74 against the chorales' 62)
EXAMPLE_MIDI = DATA_DIR / "midi" / "bwv269.mid"  # notebook 01 reads it byte by byte
TICKS_PER_BEAT = 24  # divisible by 2, 3, 4, 8: sixteenths, triplets and thirty-seconds stay exact
CHORALE_TEMPO_BPM = 96.0
SPLIT_SEED = 2012
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


class DataError(CourseError, RuntimeError):
    """A bundled data file is missing or does not match its recorded checksum."""


@dataclass
class Chorale(Piece):
    """A four-voice chorale (voices 0..3 = soprano, alto, tenor, bass), transposed to C major or A minor.

    Notebook: 02_representations
    """

    name: str = ""
    key: str = ""  # after transposition: "C major" or "A minor"
    original_key: str = ""
    transposition: int = 0  # semitones that were added to every pitch
    fermatas: tuple[float, ...] = ()  # beats at which a soprano note with a fermata starts
    tempo: TempoMap = field(default_factory=lambda: TempoMap.constant(CHORALE_TEMPO_BPM))


class Splits(NamedTuple):
    """Train / validation / test lists, split by piece."""

    train: list
    valid: list
    test: list


# ---------------------------------------------------------------- building helpers


def transposition_to_c(tonic_pitch_class: int, mode: str) -> int:
    """Semitones (-6..+5) that move a key to C major (major) or A minor (minor).

    Notebook: 02_representations
    """
    target = 0 if mode == "major" else 9
    return (target - tonic_pitch_class + 6) % 12 - 6


def write_npz_reproducibly(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as an uncompressed ``.npz`` whose bytes depend only on the arrays.

    ``np.savez`` stamps the current time into the zip; this uses a fixed date instead.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(handle, np.require(arrays[key], requirements="C"), allow_pickle=False)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


REBUILD_CHORALES = "python -m course_lib data build"
REBUILD_JSB = "python -m course_lib data jsb PATH/TO/JSB_Chorales.mat (see data/jsb/README.md)"


def data_problems(path: Path, card: Path, rebuild: str) -> list[str]:
    """Everything wrong with a data file and its checksum card, each with the command that fixes it."""
    problems = []
    if not path.exists():
        problems.append(f"{path} is missing; rebuild it with: {rebuild}")
    if not card.exists():
        problems.append(
            f"{card} (the checksum card of {path.name}) is missing; restore it with git, or rebuild with: {rebuild}"
        )
        return problems
    try:
        expected = json.loads(card.read_text())["sha256"]
    except (ValueError, KeyError):
        return [*problems, f"{card} is not a checksum card (no sha256 in it); restore it with git, or: {rebuild}"]
    if path.exists() and sha256_of(path) != expected:
        problems.append(f"{path} does not match the checksum in {card.name}; rebuild it with: {rebuild}")
    return problems


def bundled_data_problems() -> list[str]:
    """What ``python -m course_lib data verify`` finds wrong with the bundled chorales and JSB files."""
    return [
        *data_problems(CHORALES_FILE, CHORALES_CARD, REBUILD_CHORALES),
        *data_problems(JSB_FILE, JSB_FILE.with_name("jsb_chorales.json"), REBUILD_JSB),
    ]


def _verified_arrays(
    path: Path, card: Path, rebuild: str = REBUILD_CHORALES, keys: tuple[str, ...] | None = None
) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (default: all) of a data file that matches its checksum card."""
    problems = data_problems(path, card, rebuild)
    if problems:
        raise DataError(problems[0])
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in (archive.files if keys is None else keys)}


# ---------------------------------------------------------------- loading


def load_chorale_list(path: Path = CHORALES_FILE) -> list[Chorale]:
    """Every chorale in the built file, in BWV order (the notebooks take them split: :func:`load_chorales`)."""
    a = _verified_arrays(path, path.with_suffix(".json"))
    return _chorales(a, range(len(a["names"])))


def _chorales(a: dict[str, np.ndarray], indices) -> list[Chorale]:
    """The chorales ``indices`` of the built file's arrays ``a``, as :class:`Chorale` objects."""
    ticks = float(a["ticks_per_beat"])
    starts, ends = a["start"] / ticks, a["end"] / ticks
    voice, pitch = a["voice"].tolist(), a["pitch"].tolist()
    starts, ends = starts.tolist(), ends.tolist()
    chorales = []
    fermata_offsets, fermata_beats = a.get("fermata_offsets"), (a.get("fermata_ticks", np.empty(0)) / ticks).tolist()
    names = a["names"].tolist()
    for i in indices:
        name = names[i]
        lo, hi = int(a["note_offsets"][i]), int(a["note_offsets"][i + 1])
        notes = [Note(starts[j], ends[j], pitch[j], 80, voice[j]) for j in range(lo, hi)]
        fermatas = () if fermata_offsets is None else fermata_beats[fermata_offsets[i] : fermata_offsets[i + 1]]
        chorales.append(
            Chorale(
                notes=notes,
                time_signature=tuple(int(x) for x in a["time_signatures"][i]),
                pickup=float(a["pickup_ticks"][i]) / ticks,
                name=name,
                key=str(a["keys"][i]),
                original_key=str(a["original_keys"][i]),
                transposition=int(a["transpositions"][i]),
                fermatas=tuple(fermatas),
            )
        )
    return chorales


def split_by_piece(
    items: list, fractions: tuple[float, float, float] = SPLIT_FRACTIONS, seed: int = SPLIT_SEED
) -> Splits:
    """Shuffle whole pieces with a fixed seed and cut them into train / valid / test.

    Splitting pieces (not windows cut from them) keeps every bar of a test piece unseen.

    Notebook: 02_representations
    """
    order = np.random.default_rng(seed).permutation(len(items))
    n_train = int(round(fractions[0] * len(items)))
    n_valid = int(round(fractions[1] * len(items)))
    pick = [items[i] for i in order]
    return Splits(pick[:n_train], pick[n_train : n_train + n_valid], pick[n_train + n_valid :])


def split_by_tune(
    chorales: list, fractions: tuple[float, float, float] = SPLIT_FRACTIONS, seed: int = SPLIT_SEED
) -> Splits:
    """Like :func:`split_by_piece`, but all harmonisations of one tune land in the same split.

    Bach harmonised many hymn tunes more than once; with a split by piece a third of the test
    soprano lines also occur in training. The tunes are found by their soprano's interval runs
    (:func:`course_lib.tune_matching.tune_groups`), so variants in other keys count too. A melody
    model must be scored on unseen tunes. For any list of pieces; :func:`load_chorales` makes the
    same split of the bundled chorales from the data file's arrays (a test checks they agree).
    """
    parts = _fill_by_groups(tune_groups(chorales), len(chorales), fractions, seed)
    return Splits(*([chorales[i] for i in part] for part in parts))


def _fill_by_groups(groups: list[list[int]], count: int, fractions: tuple[float, float, float], seed: int) -> Splits:
    """Indices of train / valid / test: whole groups in a seeded order, each to the first split not yet full."""
    order = np.random.default_rng(seed).permutation(len(groups))
    n_train = int(round(fractions[0] * count))
    n_valid = int(round(fractions[1] * count))
    out: Splits = Splits([], [], [])
    for index in order:
        target = out.train if len(out.train) < n_train else out.valid if len(out.valid) < n_valid else out.test
        target.extend(groups[index])
    return out


def _split_indices(a: dict[str, np.ndarray], by: str, seed: int) -> Splits:
    """The indices of each split of the built file's chorales, found from its arrays alone.

    The same split as :func:`split_by_piece` or :func:`split_by_tune` on the chorales, without
    building them: a caller that needs one split builds only its chorales.
    """
    if by not in ("piece", "tune"):
        raise ValueError(f"by must be 'piece' or 'tune', not {by!r}")
    count = len(a["names"])
    if by == "piece":
        return split_by_piece(list(range(count)), seed=seed)
    offsets, voice, pitch, start = a["note_offsets"], a["voice"], a["pitch"], a["start"]
    runs = []
    for i in range(count):
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        soprano = np.flatnonzero(voice[lo:hi] == 0)
        ordered = soprano[np.argsort(start[lo:hi][soprano], kind="stable")]  # as sorted() orders them
        runs.append(runs_of(tuple(int(step) for step in np.diff(pitch[lo:hi][ordered]))))
    return _fill_by_groups(group_by_runs(runs), count, SPLIT_FRACTIONS, seed)


def load_chorales(path: Path = CHORALES_FILE, seed: int = SPLIT_SEED, by: str = "piece") -> Splits:
    """Bach chorales as train / valid / test lists of :class:`Chorale` (80/10/10).

    ``by="piece"`` splits whole pieces; ``by="tune"`` keeps every harmonisation of a hymn
    tune in one split (see :func:`split_by_tune`).

    Notebook: 02_representations
    """
    a = _verified_arrays(path, path.with_suffix(".json"))
    return Splits(*(_chorales(a, part) for part in _split_indices(a, by, seed)))


def load_chorale_split(split: str, by: str = "piece", path: Path = CHORALES_FILE, seed: int = SPLIT_SEED) -> list:
    """One split of :func:`load_chorales` (``"train"``, ``"valid"`` or ``"test"``): only its chorales are built.

    For ``generate``'s primers and the harmoniser's validation melodies, which need one split only.
    """
    a = _verified_arrays(path, path.with_suffix(".json"))
    return _chorales(a, getattr(_split_indices(a, by, seed), split))


def windows(sequence: np.ndarray, length: int, hop: int = 1) -> np.ndarray:
    """All windows of ``length`` steps, ``hop`` apart, stacked on a new first axis.

    Notebook: 02_representations
    """
    sequence = np.asarray(sequence)
    if len(sequence) < length:
        return np.empty((0, length) + sequence.shape[1:], dtype=sequence.dtype)
    starts = range(0, len(sequence) - length + 1, hop)
    return np.stack([sequence[s : s + length] for s in starts])


# ---------------------------------------------------------------- the JSB standard split


def load_jsb(path: Path = JSB_FILE) -> Splits:
    """The JSB Chorales benchmark split (Boulanger-Lewandowski et al. 2012) as piano rolls.

    Each sequence is a ``(frames, 88)`` boolean array, one frame per quarter note, column
    ``k`` = MIDI pitch ``pianoroll.PIANO_LOWEST + k`` (21 + k); 229 / 76 / 77 sequences. Use it
    only for the benchmark: its pieces are the same as music21's chorales.

    Notebook: 06_lstm_chorales
    """
    return Splits(*(load_jsb_split(split, path) for split in Splits._fields))


def load_jsb_split(split: str, path: Path = JSB_FILE) -> list[np.ndarray]:
    """One split of :func:`load_jsb`: ``"train"``, ``"valid"`` or ``"test"``.

    Notebook: 06_lstm_chorales
    """
    if split not in Splits._fields:
        raise ValueError(f"split must be one of {', '.join(Splits._fields)}, not {split!r}")
    keys = (f"{split}_bits", f"{split}_offsets")
    bits, offsets = _verified_arrays(path, path.with_name("jsb_chorales.json"), REBUILD_JSB, keys).values()
    rolls = np.unpackbits(bits, axis=1)[:, :88].astype(bool)
    return [rolls[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
