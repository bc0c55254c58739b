"""How notes are written on a staff: pitches spelled in the key, with the accidentals a reader needs;
bars (a pickup bar first); note values, cut at barlines and beats and tied; rests that show the beats;
beams by the meter's beat groups; fermatas.

:func:`staff_part` writes one :class:`Staff` (one or two voices) as a music21 part in bars, between
the barlines :func:`bar_edges` finds. :mod:`course_lib.score` decides what goes on which staff and
engraves the whole. The notes must already be on a grid of plain and dotted values: there are no
tuplets here (:func:`note_values` refuses a length it cannot write without them).

Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from music21 import beam, chord, clef, expressions, meter, note, pitch, stream, tempo, tie
from music21 import key as m21key

from course_lib.errors import CourseError
from course_lib.notes import Note

NOTE_VALUES = (6.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.75, 0.5, 0.375, 0.25, 0.125)  # dotted whole .. thirty-second
# How each of the 12 pitch classes above the tonic is spelled, as an interval: the scale's own notes,
# and for the others the alterations common in tonal music (the raised 4th and 5th of secondary
# dominants, the flat 7th and 3rd borrowed from minor; in minor the raised 6th and 7th and Picardy 3rd).
MAJOR_SPELLING = ("P1", "A1", "M2", "m3", "M3", "P4", "A4", "P5", "A5", "M6", "m7", "M7")
MINOR_SPELLING = ("P1", "m2", "M2", "m3", "M3", "P4", "A4", "P5", "m6", "M6", "m7", "M7")


class ScoreError(CourseError, ValueError):
    """Music or options that cannot be engraved; the message says what to change."""


# ---------------------------------------------------------------- spelling and accidentals


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


# ---------------------------------------------------------------- bars, note values and ties


def bar_edges(end: float, bar: float, pickup: float) -> list[float]:
    """Where the bars begin, and the end of the last: a pickup bar first; a last bar that completes it is short.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """
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


# ---------------------------------------------------------------- one voice in music21 notes, bar by bar


def _layer(
    notes: list[Note],
    stem: str,
    fermata: str,
    edges: list[float],
    key: m21key.Key,
    time_signature: tuple[int, int],
    pickup: float,
    fermatas: Sequence[float],
    marks: Mapping[tuple[int, float], str],
) -> dict[int, list]:
    """One voice of a staff as music21 notes, chords and rests: ``{bar index: [(offset in the bar, element)]}``."""
    bar = time_signature[0] * 4 / time_signature[1]
    written = _written(notes, edges, bar - pickup if pickup else 0.0, time_signature)
    names = spelling(key)
    elements = [_element(item, names, stem) for item in written]
    if fermata:
        _add_fermatas(written, elements, fermatas, fermata)
    _colour(notes, written, elements, marks)
    by_bar: dict[int, list] = {}
    for item, element in zip(written, elements, strict=True):
        number = bisect.bisect_right(edges, item.start) - 1
        by_bar.setdefault(number, []).append((item.start - edges[number], element))
    return by_bar


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


def _colour(
    notes: list[Note], layer: list[_Written], elements: list[note.GeneralNote], marks: Mapping[tuple[int, float], str]
) -> None:
    """Colour the written notes that begin a marked note, and the tied notes that continue it."""
    colours = {n.start: marks[(n.voice, n.start)] for n in notes if (n.voice, n.start) in marks}
    if not colours:
        return
    ends = {n.start: n.end for n in notes if n.start in colours}
    for item, element in zip(layer, elements, strict=True):
        begun = [start for start in colours if start <= item.start < ends[start]]
        if item.pitches and begun:
            element.style.color = colours[max(begun)]


def _beam(elements: list[note.GeneralNote], signature: meter.TimeSignature, padding: float) -> None:
    """Beam one voice's notes in one bar by the meter's beat groups."""
    if len(elements) > 1:
        for element, beams in zip(elements, signature.getBeams(elements, measureStartOffset=padding), strict=True):
            element.beams = beams if beams is not None else beam.Beams()


# ---------------------------------------------------------------- a staff as a music21 part


@dataclass
class Staff:
    """One staff: one or two layers (music21 voices) of notes, each with its stem direction and fermata.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """

    name: str
    abbreviation: str
    clef: clef.Clef
    layers: list[list[Note]]
    stems: tuple[str, ...]  # per layer: "up", "down" or "unspecified"
    fermatas: tuple[str, ...]  # per layer: "upright", "inverted" or "" (none)
    grand: bool = False  # one of the two staves of a grand staff


def staff_part(
    staff: Staff,
    edges: list[float],
    key: m21key.Key,
    time_signature: tuple[int, int],
    pickup: float = 0.0,
    fermatas: Sequence[float] = (),
    bpm: float | None = None,
    marks: Mapping[tuple[int, float], str] | None = None,
) -> stream.Part:
    """One staff as a music21 part of measures: clef, key and meter in the first, a tempo mark if ``bpm`` is given.

    The bars begin at ``edges`` (:func:`bar_edges`); ``pickup`` is the length of the pickup bar (0 for
    none); a layer with a fermata sign gets it on the note sounding at each of ``fermatas`` (beats).
    ``marks`` colours notes: ``{(voice, onset beat): colour}``.

    Notebook: 01_midi_bytes (a chorale), 02_representations (a melody), 09_four_voices (four voices)
    """
    part = stream.PartStaff() if staff.grand else stream.Part()
    part.partName, part.partAbbreviation = staff.name, staff.abbreviation
    numerator, denominator = time_signature
    signature, bar = meter.TimeSignature(f"{numerator}/{denominator}"), numerator * 4 / denominator
    layers = [
        _layer(notes, stem, fermata, edges, key, time_signature, pickup, fermatas, marks or {})
        for notes, stem, fermata in zip(staff.layers, staff.stems, staff.fermatas, strict=True)
    ]
    altered: set = set()
    for number, (start, end) in enumerate(pairwise(edges)):
        measure = stream.Measure(number=number if pickup else number + 1)
        if number == 0:
            measure.append([staff.clef, m21key.Key(key.tonic.name, key.mode), signature])
            if bpm is not None:
                measure.insert(0, tempo.MetronomeMark(number=round(bpm)))
            if pickup:
                measure.paddingLeft, measure.showNumber = bar - pickup, stream.enums.ShowNumber.NEVER
        elif end - start < bar:
            measure.paddingRight = bar - (end - start)
        contents = [layer.get(number, []) for layer in layers]
        altered = _show_accidentals([item for items in contents for item in items], key, altered)
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
