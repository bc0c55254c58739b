"""Fifteen melodies that are not chorales (folk songs, carols, hymn tunes), for trying the harmoniser.

They live in ``data/melodies/tunes.abc`` (ABC notation, one tune per ``X:`` record; provenance in
``data/melodies/README.md``). No model trains on them and no setting is chosen on them: they
show how the harmoniser does on melodies from outside Bach's chorales.

Notebook: 09_four_voices
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from course_lib.datasets import DATA_DIR
from course_lib.notes import Note, Piece

TUNES_FILE = DATA_DIR / "melodies" / "tunes.abc"


@dataclass(frozen=True)
class Tune:
    """One melody: its title, where it comes from, and its notes as a :class:`Piece` (voice 0)."""

    title: str
    origin: str
    piece: Piece


def key_signature_name(flat) -> str:
    """The key signature of a music21 stream as :class:`~course_lib.notes.Piece` names it ('D minor',
    'F major'; a mode by the major key of the same signature, D dorian as 'C major'), or "" if it has none."""
    signature = flat.getElementsByClass("KeySignature").first()
    if signature is None:
        return ""
    if getattr(signature, "mode", "") == "minor":
        return f"{signature.tonic.name} minor"
    return f"{signature.asKey('major').tonic.name} major"


def load_tunes(path: Path = TUNES_FILE) -> list[Tune]:
    """The bundled tunes, in file order, read through music21's ABC parser (ties joined, pickups and key
    signatures kept: a modal tune's signature is named by the major or minor key that has it).

    Notebook: 09_four_voices
    """
    from music21 import converter

    tunes = []
    for score in converter.parse(Path(path), format="abc").scores:
        flat = score.flatten()
        signature = flat.getElementsByClass("TimeSignature").first()
        first_bar = score.parts[0].getElementsByClass("Measure").first() if score.parts else None
        pickup = float(first_bar.duration.quarterLength) if first_bar is not None and first_bar.paddingLeft else 0.0
        notes = [
            Note(float(n.offset), float(n.offset + n.quarterLength), n.pitch.midi)
            for n in flat.stripTies().notes
            if n.quarterLength > 0
        ]
        meter = (signature.numerator, signature.denominator) if signature is not None else (4, 4)
        origin = dict(score.metadata.all()).get("localeOfComposition", "")  # the ABC O: field
        piece = Piece(notes, time_signature=meter, pickup=pickup, key=key_signature_name(flat))
        tunes.append(Tune(score.metadata.title or "", origin, piece))
    return tunes
