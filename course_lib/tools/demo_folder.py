"""The demonstration folder ``data/midi/demo/``: fiddle tunes as MIDI files, plus three oddities.

Tunes from *Ryan's Mammoth Collection* (Boston, 1883; public domain), in the ABC transcriptions
that ship in music21's corpus, written out as MIDI by music21. Three extra files show what an
import skips or groups: a copy of a tune, a file cut short and a drum groove. Rebuild with
``python -m course_lib.tools.demo_folder data/midi/demo`` (the same music21 version gives the same bytes).
"""

from __future__ import annotations

import sys
from pathlib import Path

from course_lib.midi import write_midi
from course_lib.notes import Note, Piece, TempoMap

# (subfolder, file stem in music21's corpus/ryansMammoth), twelve of each dance, the first that music21 can write.
KINDS = {"reels": "Reel", "jigs": "Jig", "hornpipes": "Hornpipe", "strathspeys": "Strathspey"}
PER_KIND = 12


def corpus_tunes() -> list[tuple[str, Path]]:
    """``(subfolder, abc_path)`` for every candidate tune, alphabetical within each dance."""
    import music21

    folder = Path(music21.__file__).parent / "corpus" / "ryansMammoth"
    return [(subfolder, p) for subfolder, kind in KINDS.items() for p in sorted(folder.glob(f"*{kind}.abc"))]


def drum_groove(bars: int = 4) -> Piece:
    """Kick, snare and hi-hat for ``bars`` bars of 4/4 on channel 10: a file with nothing pitched."""
    hits = [Note(b * 4 + beat / 2, b * 4 + beat / 2 + 0.25, 42, 70) for b in range(bars) for beat in range(8)]
    for bar in range(bars):
        hits += [Note(bar * 4 + beat, bar * 4 + beat + 0.25, 38 if beat % 2 else 36, 100) for beat in range(4)]
    return Piece(sorted(hits), TempoMap.constant(110), drum_voices=(0,))


def write_demo_folder(target: Path) -> list[Path]:
    """Write the demo folder's MIDI files under ``target``; returns their paths."""
    from music21 import converter
    from music21.exceptions21 import Music21Exception

    written: list[Path] = []
    for subfolder, abc in corpus_tunes():
        path = target / subfolder / f"{abc.stem}.mid"
        if sum(p.parent == path.parent for p in written) == PER_KIND:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # a few transcriptions have repeats music21 cannot expand: the next tune is taken instead
            converter.parse(abc).write("midi", fp=path)
        except Music21Exception:
            continue
        written.append(path)
    oddities = target / "oddities"
    oddities.mkdir(parents=True, exist_ok=True)
    first = written[0].read_bytes()
    for name, data in (
        (f"copy_of_{written[0].name}", first),
        ("cut_short.mid", first[: len(first) // 2]),
        ("drum_groove.mid", write_midi(drum_groove())),
    ):
        (oddities / name).write_bytes(data)
        written.append(oddities / name)
    return written


if __name__ == "__main__":
    for written_path in write_demo_folder(Path(sys.argv[1] if len(sys.argv) > 1 else "data/midi/demo")):
        print(written_path)
