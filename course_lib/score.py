"""Engraved scores: the course's music as MusicXML (through music21) and as SVG pages (through Verovio).

A piano roll shows what sounds; a score is what a musician reads. :func:`to_music21` lays a
:class:`~course_lib.notes.Piece` or four-voice :class:`~course_lib.voices.Lines` out in bars:
the key signature (the piece's own key, else music21's key analysis), the meter and any pickup
bar, pitches spelled in the key, ties across barlines and beats, rests where a voice is silent,
and fermatas where the data has them. Four voices make a choir score on two staves (soprano and
alto in the treble clef, tenor and bass in the bass clef, stems up for the upper voice of each)
or on four (the tenor in the treble-8 clef). A melody is one staff; a voice that plays chords on
both sides of middle C gets a grand staff.

A score cannot show a note 0.23 beats long: music from a model or a MIDI file is quantised first
(``grid`` steps per beat, no tuplets), and :func:`engrave` says so in its caption.

Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from music21 import beam, chord, clef, expressions, layout, metadata, meter, note, pitch, stream, tempo, tie
from music21 import key as m21key
from music21.musicxml.m21ToXml import GeneralObjectExporter

from course_lib.datasets import VOICES as SATB_NAMES
from course_lib.datasets import Chorale
from course_lib.errors import CourseError, TooLargeError
from course_lib.notes import Note, Piece, quantise
from course_lib.voices import Lines

MAX_BEATS = 2000  # about 500 bars of 4/4: a longer piece is refused before any work
MAX_VOICES = 16  # as many as a MIDI file has channels
GRID_NAMES = {1: "quarter notes", 2: "eighth notes", 4: "sixteenth notes", 8: "thirty-second notes"}
FINEST_GRID = 8  # music on the thirty-second-note grid is engraved as it is; anything finer is quantised
DEFAULT_GRID = 4  # what music off that grid is quantised to
STAVES = (2, 4)  # the layouts of four voices
NOTE_VALUES = (6.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.75, 0.5, 0.375, 0.25, 0.125)  # dotted whole .. thirty-second
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
HTML_CLASS = "course-score"  # the figure a notebook shows; the notebook runner leaves it out of stored outputs
# How each of the 12 pitch classes above the tonic is spelled, as an interval: the scale's own notes,
# and for the others the alterations common in tonal music (the raised 4th and 5th of secondary
# dominants, the flat 7th and 3rd borrowed from minor; in minor the raised 6th and 7th and Picardy 3rd).
MAJOR_SPELLING = ("P1", "A1", "M2", "m3", "M3", "P4", "A4", "P5", "A5", "M6", "m7", "M7")
MINOR_SPELLING = ("P1", "m2", "M2", "m3", "M3", "P4", "A4", "P5", "m6", "M6", "m7", "M7")


class ScoreError(CourseError, ValueError):
    """Music or options that cannot be engraved; the message says what to change."""


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


@dataclass
class _Staff:
    """One staff: one or two layers (music21 voices) of notes, each with its stem direction and fermata."""

    name: str
    abbreviation: str
    clef: clef.Clef
    layers: list[list[Note]]
    stems: tuple[str, ...]  # per layer: "up", "down" or "unspecified"
    fermatas: tuple[str, ...]  # per layer: "upright", "inverted" or "" (none)
    grand: bool = False  # one of the two staves of a grand staff


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


# ---------------------------------------------------------------- spelling and staves


def spelling(key: m21key.Key) -> dict[int, str]:
    """How each pitch class is spelled in ``key`` (0 = C): 10 is 'B-' in F major, 'A#' in B major.

    Notebook: 09_four_voices
    """
    intervals = MAJOR_SPELLING if key.mode == "major" else MINOR_SPELLING
    names = {}
    for semitones, interval in enumerate(intervals):
        written = pitch.Pitch(key.tonic.name).transpose(interval)  # a fresh tonic: an analysed one respells
        if written.accidental is not None and abs(written.accidental.alter) > 1:
            written = written.simplifyEnharmonic(mostCommon=True)  # no double sharps or flats
        names[(key.tonic.pitchClass + semitones) % 12] = written.name
    return names


def _pitch(midi: int, names: dict[int, str]) -> pitch.Pitch:
    """MIDI pitch ``midi`` spelled with ``names`` (B#3 is MIDI 60, as C4 is)."""
    written = pitch.Pitch(names[midi % 12])
    written.octave = midi // 12 - 1
    written.octave += round((midi - written.midi) / 12)
    return written


def _one_staff(notes: list[Note], name: str, grand_name: str) -> list[_Staff]:
    """A voice on one staff (treble clef unless it lies mostly below middle C), or chords across middle C on two."""
    pitches = [n.pitch for n in notes]
    if _chordal(notes) and min(pitches) < MIDDLE_C <= max(pitches) and max(pitches) - min(pitches) >= 19:
        upper = [n for n in notes if n.pitch >= MIDDLE_C]
        lower = [n for n in notes if n.pitch < MIDDLE_C]
        short = grand_name[:3] + "."
        return [
            _Staff(grand_name, short, clef.TrebleClef(), [upper], ("unspecified",), ("upright",), grand=True),
            _Staff(grand_name, short, clef.BassClef(), [lower], ("unspecified",), ("inverted",), grand=True),
        ]
    chosen = clef.TrebleClef() if sum(pitches) / len(pitches) >= MIDDLE_C - 1 else clef.BassClef()
    return [_Staff(name, name[:3] + ".", chosen, [notes], ("unspecified",), ("upright",))]


def _staves(music: _Music, staves: int) -> list[_Staff]:
    voices = sorted({n.voice for n in music.notes})
    by_voice = {v: [n for n in music.notes if n.voice == v] for v in (range(4) if music.satb else voices)}
    if music.satb and staves == 2:
        upper, lower = [by_voice[0], by_voice[1]], [by_voice[2], by_voice[3]]
        return [
            _Staff("Soprano, Alto", "S. A.", clef.TrebleClef(), upper, ("up", "down"), ("upright", "")),
            _Staff("Tenor, Bass", "T. B.", clef.BassClef(), lower, ("up", "down"), ("", "inverted")),
        ]
    if music.satb:
        clefs = (clef.TrebleClef(), clef.TrebleClef(), clef.Treble8vbClef(), clef.BassClef())
        return [
            _Staff(name, name[0] + ".", clefs[v], [by_voice[v]], ("unspecified",), ("upright",))
            for v, name in enumerate(SATB_NAMES)
        ]
    if len(voices) == 1:
        return _one_staff(by_voice[voices[0]], "Melody", "Piano")
    names = [f"Voice {number + 1}" for number in range(len(voices))]
    return [staff for v, name in zip(voices, names, strict=True) for staff in _one_staff(by_voice[v], name, name)]


# ---------------------------------------------------------------- bars, note values and ties


def _bar_edges(end: float, bar: float, pickup: float) -> list[float]:
    """Where the bars begin, and the end of the last: a pickup bar first; a last bar that completes it is short."""
    edges = [0.0, pickup] if pickup else [0.0]
    while edges[-1] < end:
        edges.append(edges[-1] + bar)
    if pickup and len(edges) > 2 and math.isclose(edges[-1] - end, pickup):
        edges[-1] = end
    return edges


def _beat(time_signature: tuple[int, int]) -> float:
    """The beat in quarter notes: a dotted quarter in 6/8, 9/8 and 12/8, else the denominator's note."""
    numerator, denominator = time_signature
    compound = denominator >= 8 and numerator % 3 == 0 and numerator > 3
    return 4 / denominator * (3 if compound else 1)


def note_values(position: float, length: float, time_signature: tuple[int, int], rest: bool = False) -> list[float]:
    """The written values (tied, for a note) of ``length`` quarter notes from ``position`` in a bar.

    A note that starts off the beat is cut at the beat it crosses. A rest shows the beats: it ends
    where the largest unit it starts on (the bar, half the bar, a beat) ends, and in simple time it
    is never dotted. Each part is the longest value that fits: plain or dotted, and in compound time
    (6/8, 9/8, 12/8) a whole number of beats once it lasts a beat or more.

    Notebook: 09_four_voices
    """
    beat = _beat(time_signature)
    bar = time_signature[0] * 4 / time_signature[1]
    compound = beat != 4 / time_signature[1]
    allowed = [v for v in NOTE_VALUES if v < beat or not compound or (v / beat).is_integer()]
    if rest and not compound:
        allowed = [v for v in allowed if math.log2(v).is_integer()]
    units = [u for u in (bar, bar / 2, beat) if (bar / u).is_integer() and (u / beat).is_integer()]
    values = []
    while length > 1e-9:
        room, into_beat = length, position % beat
        if 1e-9 < into_beat < beat - 1e-9:
            room = min(room, beat - into_beat)
        elif rest:
            room = min(room, next(u for u in units if math.isclose(position / u, round(position / u))))
        value = next((v for v in allowed if v <= room + 1e-9), None)
        if value is None:
            raise ScoreError(f"{length} beats at {position} cannot be written without tuplets: quantise first")
        values.append(value)
        position, length = position + value, length - value
    return values


@dataclass
class _Written:
    """One written note, chord or rest: where it starts, its value, pitches, and each pitch's tie."""

    start: float
    length: float
    pitches: tuple[int, ...]
    struck: frozenset[int]  # pitches that begin here (the others continue a tie)
    ties: dict[int, str] = field(default_factory=dict)
    whole_bar: bool = False  # a rest for the whole bar, drawn as a whole rest in the middle of it


def _segments(notes: list[Note], edges: list[float]) -> list[tuple[float, float, tuple[int, ...], frozenset[int]]]:
    """``(start, end, sounding pitches, pitches struck at start)`` between every onset, release and barline."""
    cuts = sorted({*edges, *(n.start for n in notes), *(n.end for n in notes)})
    ordered = sorted(notes, key=lambda n: n.start)
    out, active, index = [], [], 0
    for start, end in pairwise(cuts):
        while index < len(ordered) and ordered[index].start <= start:
            active.append(ordered[index])
            index += 1
        active = [n for n in active if n.end > start]
        struck = frozenset(n.pitch for n in active if n.start == start)
        out.append((start, end, tuple(sorted({n.pitch for n in active})), struck))
    return out


def _written(notes: list[Note], edges: list[float], padding: float, time_signature: tuple[int, int]) -> list[_Written]:
    """A layer as written notes: cut at barlines and beats into plain or dotted values, rests merged, ties set."""
    segments: list[list] = []
    for start, end, pitches, struck in _segments(notes, edges):
        last = segments[-1] if segments else None
        if last and not pitches and not last[2] and start not in edges:
            last[1] = end  # a rest goes on where a rest in the same bar ended
        else:
            segments.append([start, end, pitches, struck])
    written: list[_Written] = []
    bar, bar_length = 0, time_signature[0] * 4 / time_signature[1]
    for start, end, pitches, struck in segments:
        while edges[bar + 1] <= start:
            bar += 1
        offset, length = start - edges[bar] + (padding if bar == 0 else 0.0), end - start
        full_bar = not pitches and offset == 0 and length == bar_length and length in NOTE_VALUES
        values = [length] if full_bar else note_values(offset, length, time_signature, rest=not pitches)
        for i, value in enumerate(values):
            written.append(_Written(start, value, pitches, struck if i == 0 else frozenset(), whole_bar=full_bar))
            start += value
    for before, after in pairwise(written):
        for p in set(before.pitches) & set(after.pitches) - after.struck:
            before.ties[p] = "continue" if before.ties.get(p) == "stop" else "start"
            after.ties[p] = "stop"
    return written


# ---------------------------------------------------------------- music21 objects


def _element(item: _Written, names: dict[int, str], stem: str) -> note.GeneralNote:
    if not item.pitches:
        rest = note.Rest(quarterLength=item.length)
        rest.fullMeasure = item.whole_bar
        return rest
    if len(item.pitches) == 1:
        element = note.Note(_pitch(item.pitches[0], names), quarterLength=item.length)
        if item.pitches[0] in item.ties:
            element.tie = tie.Tie(item.ties[item.pitches[0]])
    else:
        element = chord.Chord([_pitch(p, names) for p in item.pitches], quarterLength=item.length)
        for member, p in zip(element.notes, item.pitches, strict=True):
            if p in item.ties:
                member.tie = tie.Tie(item.ties[p])
    element.stemDirection = stem
    return element


def _add_fermatas(layer: list[_Written], elements: list[note.GeneralNote], beats: Sequence[float], kind: str) -> None:
    """A fermata on the note sounding at each of ``beats`` (upright above the staff, inverted below)."""
    index = 0
    for beat in sorted(beats):
        while index < len(layer) and layer[index].start + layer[index].length <= beat:
            index += 1
        if index < len(layer) and layer[index].start <= beat and layer[index].pitches:
            elements[index].expressions.append(expressions.Fermata())
            elements[index].expressions[-1].type = kind


def _show_accidentals(elements: list[tuple[float, note.GeneralNote]], key: m21key.Key, altered_before: set) -> set:
    """Show the accidentals a reader needs in one bar of a staff, in time order across its voices.

    An accidental holds to the end of the bar on its line and octave, and shows on every voice's note
    where it is set; a tied continuation needs none; a line altered in the bar before gets a reminder
    the first time it comes back. Returns the lines this bar leaves altered.
    """
    members = []
    for offset, element in elements:
        members += [(offset, m) for m in (element.notes if isinstance(element, chord.Chord) else [element])]
    in_force: dict[tuple[str, int], float] = {}
    shown_at: dict[tuple[str, int], float] = {}  # where each line's accidental was last shown
    for offset, member in sorted(members, key=lambda item: item[0]):
        if not isinstance(member, note.Note):
            continue  # a rest
        written = member.pitch
        line = (written.step, written.octave)
        alter = written.accidental.alter if written.accidental is not None else 0.0
        shown = False
        if member.tie is None or member.tie.type == "start":
            expected = in_force.get(line, _signature_alter(key, written.step))
            shown = alter != expected or (line not in in_force and line in altered_before)
            shown = shown or (shown_at.get(line) == offset and alter == expected)  # the other voice, same time
            in_force[line] = alter
            if shown:
                shown_at[line] = offset
        if shown and written.accidental is None:
            written.accidental = pitch.Accidental("natural")
        if written.accidental is not None:
            written.accidental.displayStatus = shown
    return {line for line, alter in in_force.items() if alter != _signature_alter(key, line[0])}


def _signature_alter(key: m21key.Key, step: str) -> float:
    """What the key signature does to ``step``: -1 for B in F major, 0 for a step it leaves alone."""
    accidental = key.accidentalByStep(step)
    return accidental.alter if accidental is not None else 0.0


def _layer(notes: list[Note], stem: str, fermata: str, music: _Music, edges: list[float]) -> dict[int, list]:
    """One voice of a staff as music21 notes, chords and rests: ``{bar index: [(offset in the bar, element)]}``."""
    bar = music.time_signature[0] * 4 / music.time_signature[1]
    written = _written(notes, edges, bar - music.pickup if music.pickup else 0.0, music.time_signature)
    names = spelling(music.key)
    elements = [_element(item, names, stem) for item in written]
    if fermata:
        _add_fermatas(written, elements, music.fermatas, fermata)
    by_bar: dict[int, list] = {}
    for item, element in zip(written, elements, strict=True):
        number = bisect.bisect_right(edges, item.start) - 1
        by_bar.setdefault(number, []).append((item.start - edges[number], element))
    return by_bar


def _beam(elements: list[note.GeneralNote], signature: meter.TimeSignature, padding: float) -> None:
    """Beam one voice's notes in one bar by the meter's beat groups."""
    if len(elements) > 1:
        for element, beams in zip(elements, signature.getBeams(elements, measureStartOffset=padding), strict=True):
            element.beams = beams if beams is not None else beam.Beams()


def _part(staff: _Staff, music: _Music, edges: list[float], first: bool) -> stream.Part:
    """One staff as a music21 part of measures: clef, key and meter in the first, a tempo mark on the top staff."""
    part = stream.PartStaff() if staff.grand else stream.Part()
    part.partName, part.partAbbreviation = staff.name, staff.abbreviation
    numerator, denominator = music.time_signature
    signature, bar = meter.TimeSignature(f"{numerator}/{denominator}"), numerator * 4 / denominator
    layers = [_layer(*layer, music, edges) for layer in zip(staff.layers, staff.stems, staff.fermatas, strict=True)]
    altered: set = set()
    for number, (start, end) in enumerate(pairwise(edges)):
        measure = stream.Measure(number=number if music.pickup else number + 1)
        if number == 0:
            measure.append([staff.clef, m21key.Key(music.key.tonic.name, music.key.mode), signature])
            if first:
                measure.insert(0, tempo.MetronomeMark(number=round(music.bpm)))
            if music.pickup:
                measure.paddingLeft, measure.showNumber = bar - music.pickup, stream.enums.ShowNumber.NEVER
        elif end - start < bar:
            measure.paddingRight = bar - (end - start)
        contents = [layer.get(number, []) for layer in layers]
        altered = _show_accidentals([item for items in contents for item in items], music.key, altered)
        for index, items in enumerate(contents):
            _beam([element for _, element in items], signature, measure.paddingLeft)
            target = stream.Voice(id=str(index + 1)) if len(layers) > 1 else measure
            for offset, element in items:
                target.coreInsert(offset, element)
            target.coreElementsChanged()
            if target is not measure:
                measure.insert(0, target)
        part.coreInsert(start, measure)
    part.coreElementsChanged()
    return part


# ---------------------------------------------------------------- the public functions


def to_music21(
    music: Piece | Lines,
    title: str | None = None,
    staves: int = 2,
    key: str | m21key.Key | None = None,
    grid: int | None = None,
    satb: bool | None = None,
    fermatas: Sequence[float] | None = None,
) -> stream.Score:
    """The music as a music21 score in bars, ready to write as MusicXML.

    ``staves`` (2 or 4) lays out four voices; ``key`` ('F major') overrides the piece's key and
    music21's analysis; ``grid`` (1, 2, 4 or 8 steps per beat) quantises first: pass it for music
    from a model or a MIDI file (music off the thirty-second grid is quantised to sixteenths anyway).
    ``satb`` says whether voices 0..3 are soprano, alto, tenor and bass (by default: for
    :class:`~course_lib.voices.Lines`, chorales and pieces whose four voices sing one note at a time
    from the top down). ``fermatas`` are beats (by default the chorale's or the lines' own). What was
    changed to engrave the music (quantising, the key found by analysis) is the score's
    ``metadata.description``, which MusicXML keeps.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """
    if staves not in STAVES:
        raise ScoreError(f"staves must be 2 or 4 (the layouts of four voices), not {staves}")
    prepared = _prepare(music, title, key, grid, satb, fermatas)
    bar = prepared.time_signature[0] * 4 / prepared.time_signature[1]
    edges = _bar_edges(max(n.end for n in prepared.notes), bar, prepared.pickup)
    plan = _staves(prepared, staves)
    parts = [_part(staff, prepared, edges, first=i == 0) for i, staff in enumerate(plan)]
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


def _grand_staves(plan: list[_Staff]) -> list[int]:
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


def engrave(
    music: Piece | Lines,
    title: str | None = None,
    staves: int = 2,
    key: str | m21key.Key | None = None,
    grid: int | None = None,
    satb: bool | None = None,
    fermatas: Sequence[float] | None = None,
) -> Engraving:
    """The music engraved by Verovio: SVG pages, the MusicXML, a caption saying what was changed, the timemap.

    The options are :func:`to_music21`'s. In a notebook the result shows itself.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """
    import verovio

    score = to_music21(music, title, staves, key, grid, satb, fermatas)
    text = to_musicxml(score)
    toolkit = verovio.toolkit()
    toolkit.setOptions(VEROVIO_OPTIONS)
    if not toolkit.loadData(text):
        raise ScoreError("Verovio could not read the MusicXML music21 wrote")
    pages = [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]
    return Engraving(pages, text, score.metadata.description or "", toolkit.renderToTimemap())


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
