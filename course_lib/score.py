"""Engraved scores: the course's music as MusicXML (through music21) and as SVG pages (through Verovio).

A piano roll shows what sounds; a score is what a musician reads. :func:`to_music21` lays a
:class:`~course_lib.notes.Piece` or four-voice :class:`~course_lib.voices.Lines` out in bars:
the key signature (the piece's own key, else music21's key analysis), the meter and any pickup
bar, pitches spelled in the key, ties across barlines and beats, rests where a voice is silent,
and fermatas where the data has them. Four voices make a choir score on two staves (soprano and
alto in the treble clef, tenor and bass in the bass clef, stems up for the upper voice of each)
or on four (the tenor in the treble-8 clef). A melody is one staff; a voice that plays chords on
both sides of middle C gets a grand staff. This module prepares the music, chooses the staves and
engraves them; how the notes on each staff are written is :mod:`course_lib.notation`.

A score cannot show a note 0.23 beats long: music from a model or a MIDI file is quantised first
(``grid`` steps per beat, no tuplets), and :func:`engrave` says so in its caption.

Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from music21 import clef, layout, metadata, note, stream
from music21 import key as m21key
from music21.musicxml.m21ToXml import GeneralObjectExporter

from course_lib.datasets import Chorale
from course_lib.errors import CourseError, TooLargeError
from course_lib.notation import ScoreError, Staff, bar_edges, staff_part
from course_lib.notes import Note, Piece, TempoMap, quantise
from course_lib.voices import VOICE_NAMES, Lines

MAX_BEATS = 2000  # about 500 bars of 4/4: a longer piece is refused before any work
MAX_VOICES = 16  # as many as a MIDI file has channels
GRID_NAMES = {1: "quarter notes", 2: "eighth notes", 4: "sixteenth notes", 8: "thirty-second notes"}
FINEST_GRID = 8  # music on the thirty-second-note grid is engraved as it is; anything finer is quantised
DEFAULT_GRID = 4  # what music off that grid is quantised to
STAVES = (2, 4)  # the layouts of four voices
MIDDLE_C = 60
VEROVIO_OPTIONS = {
    "scale": 40,
    "pageWidth": 2100,
    "pageHeight": 60000,  # as tall as Verovio allows, cut to the music: one page for most pieces
    "adjustPageHeight": True,
    "footer": "none",
    "breaks": "auto",
    "svgFormatRaw": True,  # no indentation: a third smaller
}
TITLE_EM_WIDTH = 0.55  # a generous average width of a character of the title's serif font, in ems
HTML_CLASS = "course-score"  # the figure a notebook shows; the notebook runner leaves it out of stored outputs


@dataclass
class _Music:
    """What the layout needs: pitched notes on the grid and the piece's meter, key and fermatas."""

    notes: list[Note]
    satb: bool
    fermatas: tuple[float, ...]
    time_signature: tuple[int, int]
    pickup: float
    bpm: float
    key: m21key.Key
    title: str
    caption: str


@dataclass(frozen=True)
class Engraving:
    """An engraved score: its SVG pages, the MusicXML they were drawn from, and what was changed to engrave it.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """

    pages: list[str] = field(repr=False)
    musicxml: str = field(repr=False)
    caption: str  # e.g. "Quantised to sixteenth notes: 3 of 120 notes moved." ("" when nothing was changed)
    timemap: list[dict] = field(repr=False)  # Verovio's: the ids of the notes that start and stop at each time

    @property
    def svg(self) -> str:
        """All pages as one SVG, stacked top to bottom."""
        return stack_pages(self.pages)

    def write(self, stem: Path) -> list[Path]:
        """Write ``stem.musicxml`` and ``stem.svg``; returns their paths."""
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        paths = [stem.with_suffix(".musicxml"), stem.with_suffix(".svg")]
        paths[0].write_text(self.musicxml, encoding="utf-8")
        paths[1].write_text(self.svg, encoding="utf-8")
        return paths

    def _repr_html_(self) -> str:
        caption = f"<figcaption>{self.caption}</figcaption>" if self.caption else ""
        return f'<figure class="{HTML_CLASS}">{self.svg}{caption}</figure>'


# ---------------------------------------------------------------- checks and preparation


def check_size(music: Piece | Lines) -> None:
    """Raise :class:`~course_lib.errors.TooLargeError` for music too long or with too many voices to engrave.

    Notebook: 09_four_voices
    """
    piece = music.to_piece() if isinstance(music, Lines) else music
    if piece.end > MAX_BEATS:
        raise TooLargeError(
            f"this music lasts {piece.end:,.0f} beats; a score engraves at most {MAX_BEATS:,} "
            f"(about {MAX_BEATS // 4} bars of 4/4): cut it first"
        )
    voices = len(piece.voices())
    if voices > MAX_VOICES:
        raise TooLargeError(f"this music has {voices} voices; a score engraves at most {MAX_VOICES}: merge some first")


def parse_key(text: str | m21key.Key) -> m21key.Key:
    """A music21 key from text such as 'F major', 'c# minor', 'B- major' or 'Bb major'.

    Notebook: 09_four_voices
    """
    if isinstance(text, m21key.Key):
        return text
    words = str(text).split()
    if not words or len(words) > 2 or not re.fullmatch(r"[A-Ga-g](#{1,2}|-{1,2}|b{1,2})?", words[0]):
        raise ScoreError(f"{text!r} is not a key: write it like 'F major', 'c# minor' or 'B- major'")
    tonic = words[0][0].upper() + words[0][1:].replace("b", "-")
    mode = words[1].lower() if len(words) == 2 else "minor" if words[0][0].islower() else "major"
    if mode not in ("major", "minor"):
        raise ScoreError(f"{text!r}: the mode must be major or minor")
    return m21key.Key(tonic, mode)


def four_voices(piece: Piece) -> bool:
    """True if the piece is voices 0..3, each one note at a time, from the highest down: a choir's SATB.

    Notebook: 09_four_voices
    """
    if piece.voices() != [0, 1, 2, 3] or piece.drum_voices:
        return False
    lines = [piece.voice(v) for v in range(4)]
    means = [sum(n.pitch for n in line) / len(line) for line in lines]
    return not any(map(_chordal, lines)) and means == sorted(means, reverse=True) and len(set(means)) == 4


def _chordal(notes: Sequence[Note]) -> bool:
    """True if some note starts before an earlier one has ended (notes sorted by onset)."""
    ends = -math.inf
    for n in sorted(notes, key=lambda n: n.start):
        if n.start < ends:
            return True
        ends = max(ends, n.end)
    return False


def _on_grid(beats: Sequence[float], grid: int) -> bool:
    return all(abs(b * grid - round(b * grid)) < 1e-6 for b in beats)


def _snap(beat: float, grid: int) -> float:
    return math.floor(beat * grid + 0.5) / grid


def _key_of(notes: Sequence[Note]) -> m21key.Key:
    """music21's key analysis (Krumhansl-Schmuckler on durations) of the notes."""
    flat = stream.Stream()
    for n in notes:
        flat.insert(n.start, note.Note(n.pitch, quarterLength=n.duration))
    return flat.analyze("key")


def _own_fermatas(music: Piece | Lines) -> list[float]:
    """The beats of the fermatas the music carries: a chorale's, or the soprano's in four lines."""
    if isinstance(music, Lines):
        return [step / music.steps_per_beat for step in music.fermata_starts()]
    return list(getattr(music, "fermatas", ()))


def _meter(piece: Piece) -> tuple[tuple[int, int], str]:
    """The piece's time signature, or 4/4 (and a caption saying so) for one music notation has no symbol for."""
    numerator, denominator = piece.time_signature
    if 1 <= numerator <= 32 and denominator in (1, 2, 4, 8, 16, 32):
        return (numerator, denominator), ""
    return (4, 4), f"Written in 4/4 (the file's {numerator}/{denominator} has no notation here)."


def _on_grid_notes(notes: list[Note], grid: int | None) -> tuple[list[Note], int | None, str]:
    """The notes quantised to ``grid`` (sixteenths when None and some note is off the thirty-second grid)."""
    if grid is None and not _on_grid([b for n in notes for b in (n.start, n.end)], FINEST_GRID):
        grid = DEFAULT_GRID
    if grid is None:
        return notes, None, ""
    quantised = quantise(notes, grid)
    moved = sum(a != b for a, b in zip(notes, quantised, strict=True))
    done = f"{moved} of {len(notes)} notes moved" if moved else "every note was on that grid already"
    return quantised, grid, f"Quantised to {GRID_NAMES[grid]}: {done}."


def _prepare(
    music: Piece | Lines,
    title: str | None,
    key: str | m21key.Key | None,
    grid: int | None,
    satb: bool | None,
    fermatas: Sequence[float] | None,
) -> _Music:
    if not isinstance(music, (Piece, Lines)):
        raise ScoreError(f"expected a Piece or Lines to engrave, not {type(music).__name__}")
    check_size(music)
    if grid is not None and grid not in GRID_NAMES:
        raise ScoreError(f"grid must be one of {sorted(GRID_NAMES)} steps per beat (no tuplets), not {grid}")
    piece = music.to_piece() if isinstance(music, Lines) else music
    if not piece.pitched_notes:
        drums = " (only drums, which a score here leaves out)" if piece.notes else ""
        raise ScoreError(f"there are no pitched notes to engrave{drums}")
    if min(n.start for n in piece.pitched_notes) < 0:
        raise ScoreError("a note starts before beat 0: shift the notes first")
    notes, grid, quantised = _on_grid_notes(piece.pitched_notes, grid)
    time_signature, unwritable = _meter(piece)
    captions = [quantised, "Drums left out." if piece.drum_voices else "", unwritable]
    fermatas, pickup = _own_fermatas(music) if fermatas is None else list(fermatas), piece.pickup
    if grid is not None:
        fermatas, pickup = [_snap(f, grid) for f in fermatas], _snap(pickup, grid)
    key = key or getattr(piece, "key", "") or None
    if key is None:
        key = _key_of(notes)
        captions.append(f"Key signature from music21's key analysis: {key.tonic.name} {key.mode}.")
    four = satb if satb is not None else isinstance(music, (Lines, Chorale)) or four_voices(piece)
    if four and not {n.voice for n in notes} <= {0, 1, 2, 3}:
        raise ScoreError("a choir score takes voices 0..3 (soprano, alto, tenor, bass): pass satb=False")
    return _Music(
        notes=notes,
        satb=four,
        fermatas=tuple(fermatas),
        time_signature=time_signature,
        pickup=_snap(pickup, FINEST_GRID) % (time_signature[0] * 4 / time_signature[1]),
        bpm=piece.tempo.bpm_at(0.0),
        key=parse_key(key),
        title=title or getattr(music, "name", "") or "Untitled",
        caption=" ".join(c for c in captions if c),
    )


# ---------------------------------------------------------------- staves


def _one_staff(notes: list[Note], name: str, grand_name: str) -> list[Staff]:
    """A voice on one staff (treble clef unless it lies mostly below middle C), or chords across middle C on two."""
    pitches = [n.pitch for n in notes]
    if _chordal(notes) and min(pitches) < MIDDLE_C <= max(pitches) and max(pitches) - min(pitches) >= 19:
        upper = [n for n in notes if n.pitch >= MIDDLE_C]
        lower = [n for n in notes if n.pitch < MIDDLE_C]
        short = grand_name[:3] + "."
        return [
            Staff(grand_name, short, clef.TrebleClef(), [upper], ("unspecified",), ("upright",), grand=True),
            Staff(grand_name, short, clef.BassClef(), [lower], ("unspecified",), ("inverted",), grand=True),
        ]
    chosen = clef.TrebleClef() if sum(pitches) / len(pitches) >= MIDDLE_C - 1 else clef.BassClef()
    return [Staff(name, name[:3] + ".", chosen, [notes], ("unspecified",), ("upright",))]


def _staves(music: _Music, staves: int) -> list[Staff]:
    voices = sorted({n.voice for n in music.notes})
    by_voice = {v: [n for n in music.notes if n.voice == v] for v in (range(4) if music.satb else voices)}
    if music.satb and staves == 2:
        upper, lower = [by_voice[0], by_voice[1]], [by_voice[2], by_voice[3]]
        return [
            Staff("Soprano, Alto", "S. A.", clef.TrebleClef(), upper, ("up", "down"), ("upright", "")),
            Staff("Tenor, Bass", "T. B.", clef.BassClef(), lower, ("up", "down"), ("", "inverted")),
        ]
    if music.satb:
        clefs = (clef.TrebleClef(), clef.TrebleClef(), clef.Treble8vbClef(), clef.BassClef())
        return [
            Staff(name.capitalize(), name[0].upper() + ".", clefs[v], [by_voice[v]], ("unspecified",), ("upright",))
            for v, name in enumerate(VOICE_NAMES)
        ]
    if len(voices) == 1:
        return _one_staff(by_voice[voices[0]], "Melody", "Piano")
    names = [f"Voice {number + 1}" for number in range(len(voices))]
    return [staff for v, name in zip(voices, names, strict=True) for staff in _one_staff(by_voice[v], name, name)]


# ---------------------------------------------------------------- the public functions


def to_music21(
    music: Piece | Lines,
    title: str | None = None,
    staves: int = 2,
    key: str | m21key.Key | None = None,
    grid: int | None = None,
    satb: bool | None = None,
    fermatas: Sequence[float] | None = None,
    marks: Mapping[tuple[int, float], str] | None = None,
) -> stream.Score:
    """The music as a music21 score in bars, ready to write as MusicXML.

    ``staves`` (2 or 4) lays out four voices; ``key`` ('F major') overrides the piece's key and
    music21's analysis; ``grid`` (1, 2, 4 or 8 steps per beat) quantises first: pass it for music
    from a model or a MIDI file (music off the thirty-second grid is quantised to sixteenths anyway).
    ``satb`` says whether voices 0..3 are soprano, alto, tenor and bass (by default: for
    :class:`~course_lib.voices.Lines`, chorales and pieces whose four voices sing one note at a time
    from the top down). ``fermatas`` are beats (by default the chorale's or the lines' own). ``marks``
    colours notes, ``{(voice, onset beat): colour}``: :func:`course_lib.voice_leading.marks` finds
    the parallels and crossings of four voices. What was
    changed to engrave the music (quantising, the key found by analysis) is the score's
    ``metadata.description``, which MusicXML keeps.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """
    if staves not in STAVES:
        raise ScoreError(f"staves must be 2 or 4 (the layouts of four voices), not {staves}")
    prepared = _prepare(music, title, key, grid, satb, fermatas)
    bar = prepared.time_signature[0] * 4 / prepared.time_signature[1]
    edges = bar_edges(max(n.end for n in prepared.notes), bar, prepared.pickup)
    plan = _staves(prepared, staves)
    parts = [
        staff_part(
            staff,
            edges,
            prepared.key,
            prepared.time_signature,
            prepared.pickup,
            prepared.fermatas,
            bpm=prepared.bpm if i == 0 else None,  # a tempo mark on the top staff
            marks=marks,
        )
        for i, staff in enumerate(plan)
    ]
    score = stream.Score()
    score.insert(0, metadata.Metadata(title=prepared.title))
    if prepared.caption:
        score.metadata.add("description", prepared.caption)
    for part in parts:
        score.insert(0, part)
    if prepared.satb:
        score.insert(0, layout.StaffGroup(parts, symbol="bracket", barTogether=True))
    for first in _grand_staves(plan):
        score.insert(0, layout.StaffGroup(parts[first : first + 2], symbol="brace", barTogether=True))
    return score


def _grand_staves(plan: list[Staff]) -> list[int]:
    """The index of the upper staff of each grand staff in the plan."""
    firsts, index = [], 0
    while index < len(plan) - 1:
        if plan[index].grand and plan[index + 1].grand:
            firsts.append(index)
            index += 1
        index += 1
    return firsts


def to_musicxml(music: Piece | Lines | stream.Score, path: str | Path | None = None, **options) -> str:
    """The music (or a score from :func:`to_music21`) as MusicXML text; written to ``path`` if given.

    ``options`` are :func:`to_music21`'s.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """
    score = music if isinstance(music, stream.Score) else to_music21(music, **options)
    exporter = GeneralObjectExporter(score)
    exporter.makeNotation = False  # the score is already in bars, beamed, with its accidentals shown
    text = exporter.parse().decode("utf-8")
    text = re.sub(r'\s*<creator type="composer">Music21</creator>', "", text)  # music21's stand-in, not a composer
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def engrave(music: Piece | Lines, **options) -> Engraving:
    """The music engraved by Verovio: SVG pages, the MusicXML, a caption saying what was changed, the timemap.

    ``options`` are :func:`to_music21`'s (``title``, ``staves``, ``key``, ``grid``, ``satb``,
    ``fermatas``, ``marks``). In a notebook the result shows itself.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """
    import verovio

    score = to_music21(music, **options)
    text = to_musicxml(score)
    toolkit = verovio.toolkit()
    toolkit.setOptions(VEROVIO_OPTIONS)
    if not toolkit.loadData(text):
        raise ScoreError("Verovio could not read the MusicXML music21 wrote")
    pages = [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]
    pages[0] = fit_title(pages[0])
    return Engraving(pages, text, score.metadata.description or "", toolkit.renderToTimemap())


def fit_title(page: str) -> str:
    """The page with its heading's lines shrunk to fit its width: Verovio centres a title at one size, so a
    long title runs off both edges.

    Notebook: 09_four_voices (a harmonised melody's title)
    """
    width = float(re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) ', page).group(1))
    head = re.search(r'<g [^>]*class="pgHead[^"]*">.*?</g>', page, flags=re.S)
    if head is None:
        return page

    def fitted(line: re.Match) -> str:
        size, text = int(line.group(1)), line.group(2)
        widest = int(0.95 * width / (TITLE_EM_WIDTH * max(1, len(text))))
        return f'<tspan font-size="{min(size, widest)}px">{text}</tspan>'

    lines = re.sub(r'<tspan font-size="(\d+)px">([^<]*)</tspan>', fitted, head.group(0))
    return page[: head.start()] + lines + page[head.end() :]


def score_view(music: Piece | Lines, tempo: TempoMap, options: dict) -> tuple[str, list, str]:
    """What a player shows of a score: the SVG, :func:`sounding_notes`, and a caption (or why there is no score).

    Notebook: 00_setup_check (the Player's score)
    """
    try:
        engraving = engrave(music, **options)
    except CourseError as error:
        return "", [], f"No score: {error}"
    return engraving.svg, sounding_notes(engraving.timemap, tempo), engraving.caption


def sounding_notes(timemap: Sequence[dict], tempo: TempoMap) -> list[list]:
    """Verovio's timemap as ``[seconds, [ids of the notes sounding from then on]]``, for a player's highlight.

    ``tempo`` is the music's own: the times follow its audio, not the tempo mark in the score.

    Notebook: 00_setup_check (the Player's score)
    """
    sounding: list[str] = []
    out = []
    for entry in timemap:
        ended = set(entry.get("off", ()))
        sounding = [i for i in sounding if i not in ended] + list(entry.get("on", ()))
        out.append([round(tempo.seconds(float(entry["qstamp"])), 4), list(sounding)])
    return out


def stack_pages(pages: Sequence[str]) -> str:
    """SVG pages as one SVG, one page below the other.

    Notebook: 09_four_voices
    """
    if len(pages) == 1:
        return pages[0]
    sizes = [[float(v) for v in re.search(r'width="([\d.]+)px" height="([\d.]+)px"', p).groups()] for p in pages]
    width, top, body = max(w for w, _ in sizes), 0.0, []
    for page, (_, height) in zip(pages, sizes, strict=True):
        body.append(re.sub(r"^(<\?xml[^>]*>\s*)?<svg ", f'<svg y="{top}" ', page.strip(), count=1))
        top += height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width}px" height="{top}px" viewBox="0 0 {width} {top}">{"".join(body)}</svg>'
    )
