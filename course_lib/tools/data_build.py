"""Building the bundled data (instructor tooling: ``python -m course_lib data build`` and ``data jsb``).

These are the only functions that write into ``data/``: the chorales parsed from music21's
corpus, the example MIDI file notebook 01 reads, and the JSB split converted from its ``.mat``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from course_lib.datasets import (
    CHORALES_FILE,
    EXAMPLE_MIDI,
    JSB_FILE,
    TICKS_PER_BEAT,
    DataError,
    sha256_of,
    transposition_to_c,
    write_npz_reproducibly,
)
from course_lib.files import atomic_path, write_text_atomically
from course_lib.voices import VOICE_NAMES

PART_NAMES = tuple(name.capitalize() for name in VOICE_NAMES)  # music21 names the parts of a chorale so


def write_with_card(path: Path, arrays: dict[str, np.ndarray], card_path: Path, card: dict) -> str:
    """Write ``arrays`` to ``path`` and its checksum card (file name, sha256, then ``card``), each whole
    or not at all; return the sha256."""
    with atomic_path(path) as temporary:
        write_npz_reproducibly(temporary, arrays)
    digest = sha256_of(path)
    write_text_atomically(card_path, json.dumps({"file": path.name, "sha256": digest, **card}, indent=2) + "\n")
    return digest


def _parse_chorale(name: str) -> dict | None:
    """Parse one corpus chorale into arrays, or ``None`` if it is not four SATB voices."""
    from music21 import corpus, expressions, meter, stream

    score = corpus.parse(name)
    parts = {p.partName: p for p in score.parts}
    if not all(v in parts for v in PART_NAMES):
        if len(score.parts) != 4:
            return None  # extra instruments, or a divided soprano: not plain SATB
        parts = dict(zip(PART_NAMES, score.parts, strict=True))  # four unnamed parts, in score order
    key = score.analyze("key")
    mode = "minor" if key.mode == "minor" else "major"
    shift = transposition_to_c(key.tonic.pitchClass, mode)
    signatures = list(score.parts[0].recurse().getElementsByClass(meter.TimeSignature))
    signature = (signatures[0].numerator, signatures[0].denominator) if signatures else (4, 4)
    measures = list(parts["Soprano"].getElementsByClass(stream.Measure))
    pickup = float(measures[1].offset) if len(measures) > 1 and measures[0].number == 0 else 0.0
    rows, fermatas = [], []
    for voice, part_name in enumerate(PART_NAMES):
        for element in parts[part_name].flatten().stripTies().notes:
            if voice == 0 and any(isinstance(e, expressions.Fermata) for e in element.expressions):
                fermatas.append(round(float(element.offset) * TICKS_PER_BEAT))
            start = round(float(element.offset) * TICKS_PER_BEAT)
            end = round(float(element.offset + element.quarterLength) * TICKS_PER_BEAT)
            if end <= start:
                continue  # grace notes have no duration
            for pitch in element.pitches:
                rows.append((voice, pitch.midi + shift, start, end))
    rows.sort(key=lambda r: (r[2], r[0], r[1]))
    return {
        "name": name.split("/")[-1],
        "notes": np.array(rows, dtype=np.int32).reshape(-1, 4),
        "original_key": f"{key.tonic.name} {mode}",
        "key": "C major" if mode == "major" else "A minor",
        "transposition": shift,
        "time_signature": signature,
        "pickup_ticks": round(pickup * TICKS_PER_BEAT),
        "fermata_ticks": sorted(set(fermatas)),
    }


def build_chorales(path: Path = CHORALES_FILE, progress: bool = True) -> str:
    """Parse every SATB chorale of music21's corpus and write them to ``path``; return its sha256.

    The file is an uncompressed ``.npz`` with fixed zip timestamps, so the same music21
    version always gives the same bytes. Only ``python -m course_lib data build`` calls this.
    """
    import music21

    names = chorale_names()
    parsed = []
    for i, name in enumerate(names):
        chorale = _parse_chorale(name)
        if chorale is not None and len(chorale["notes"]):
            parsed.append(chorale)
        if progress and (i + 1) % 50 == 0:
            print(f"  parsed {i + 1}/{len(names)} chorales", flush=True)
    notes = np.concatenate([c["notes"] for c in parsed])
    arrays = {
        "names": np.array([c["name"] for c in parsed]),
        "note_offsets": np.cumsum([0] + [len(c["notes"]) for c in parsed]).astype(np.int32),
        "voice": notes[:, 0].astype(np.uint8),
        "pitch": notes[:, 1].astype(np.uint8),
        "start": notes[:, 2].astype(np.uint16),
        "end": notes[:, 3].astype(np.uint16),
        "original_keys": np.array([c["original_key"] for c in parsed]),
        "keys": np.array([c["key"] for c in parsed]),
        "transpositions": np.array([c["transposition"] for c in parsed], dtype=np.int8),
        "time_signatures": np.array([c["time_signature"] for c in parsed], dtype=np.uint8),
        "pickup_ticks": np.array([c["pickup_ticks"] for c in parsed], dtype=np.uint16),
        "fermata_offsets": np.cumsum([0] + [len(c["fermata_ticks"]) for c in parsed]).astype(np.int32),
        "fermata_ticks": np.array([t for c in parsed for t in c["fermata_ticks"]], dtype=np.uint16),
        "ticks_per_beat": np.array(TICKS_PER_BEAT, dtype=np.uint16),
    }
    card = {
        "pieces": len(parsed),
        "notes": int(len(notes)),
        "skipped": len(names) - len(parsed),
        "source": f"music21 {music21.__version__} corpus, every bach/bwv* chorale file (BWV numbers in 'names')",
        "licence": "music21's corpus files are distributed with music21 (BSD); the chorales are public domain",
        "transform": "four voices (SATB), ties merged, soprano fermatas kept, "
        "transposed to C major / A minor by music21's key analysis",
        "command": "python -m course_lib data build",
    }
    return write_with_card(path, arrays, path.with_suffix(".json"), card)


def write_example_midi(path: Path = EXAMPLE_MIDI, name: str = "bach/bwv269") -> str:
    """Write one corpus chorale as a MIDI file with music21's own writer; return its sha256.

    Notebook 01 reads this file byte by byte: a real file from a different MIDI writer.
    """
    from music21 import corpus

    path.parent.mkdir(parents=True, exist_ok=True)
    corpus.parse(name).write("midi", fp=str(path))
    return sha256_of(path)


def chorale_names() -> list[str]:
    """Corpus names of Bach's chorale harmonisations (``bach/bwvNNN.N``), in BWV order.

    Takes every ``bach/bwv...`` file, not only the 371 Riemenschneider entries (which list
    some pieces twice); variant copies with letter suffixes (``-a``, ``-inst``, ...) are left out.
    """
    from music21 import corpus

    names = {f"bach/{Path(str(p)).name.rsplit('.', 1)[0]}" for p in corpus.getComposer("bach")}
    return sorted((n for n in names if re.fullmatch(r"bach/bwv\d+(\.\d+)?(-\d+)?", n)), key=_natural_key)


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def build_jsb(mat_path: Path, path: Path = JSB_FILE) -> str:
    """Convert the MIT-licensed ``JSB_Chorales.mat`` into the pickle-free bundled file.

    Needs scipy (only for this conversion). Returns the new file's sha256.
    """
    from scipy.io import loadmat

    mat = loadmat(str(mat_path))
    arrays = {}
    for split in ("train", "valid", "test"):
        sequences = [np.asarray(s, dtype=bool) for s in mat[f"{split}data"][0]]
        if any(s.shape[1] != 88 for s in sequences):
            raise DataError("expected 88 columns (MIDI 21..108) in every JSB sequence")
        stacked = np.concatenate(sequences)
        arrays[f"{split}_bits"] = np.packbits(stacked, axis=1)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(s) for s in sequences]).astype(np.int32)
    card = {
        "source": "JSB_Chorales.mat (see README.md here)",
        "command": "python -m course_lib data jsb PATH/TO/JSB_Chorales.mat",
    }
    return write_with_card(path, arrays, path.with_name("jsb_chorales.json"), card)
