"""The course's one in-memory music type: notes in beats, plus a tempo map.

Notebook: 01_midi_bytes
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

DEFAULT_TEMPO_BPM = 120.0


@dataclass(frozen=True, order=True)
class Note:
    """One sounding note.

    Times are in beats (quarter notes), so a note keeps its rhythm whatever the tempo.

    Attributes
    ----------
    start, end : float
        Onset and release, in beats from the start of the piece (``end > start``).
    pitch : int
        MIDI note number (60 is middle C, C4).
    velocity : int
        Loudness, 1..127.
    voice : int
        Which voice or track the note belongs to (0 = soprano for chorales).

    Notebook: 01_midi_bytes
    """

    start: float
    end: float
    pitch: int
    velocity: int = 80
    voice: int = 0

    @property
    def duration(self) -> float:
        """Length in beats."""
        return self.end - self.start

    def transposed(self, semitones: int) -> Note:
        """The same note moved by ``semitones``."""
        return replace(self, pitch=self.pitch + semitones)


@dataclass(frozen=True)
class TempoMap:
    """Tempo changes as ``(beat, bpm)`` pairs, sorted by beat; the first applies from beat 0.

    Notebook: 01_midi_bytes
    """

    changes: tuple[tuple[float, float], ...] = ((0.0, DEFAULT_TEMPO_BPM),)

    def __post_init__(self) -> None:
        changes = sorted(self.changes) or [(0.0, DEFAULT_TEMPO_BPM)]
        if changes[0][0] > 0:
            changes.insert(0, (0.0, changes[0][1]))
        if any(bpm <= 0 for _, bpm in changes):
            raise ValueError("tempo must be positive")
        object.__setattr__(self, "changes", tuple((float(b), float(t)) for b, t in changes))
        # Seconds at each change, summed once: seconds() is then a binary search, not a walk over
        # every change (a game-music file can hold hundreds of them, and every note asks).
        beats, starts = [b for b, _ in self.changes], [0.0]
        for (beat, bpm), next_beat in zip(self.changes[:-1], beats[1:], strict=True):
            starts.append(starts[-1] + (next_beat - beat) * 60.0 / bpm)
        object.__setattr__(self, "_beats", beats)
        object.__setattr__(self, "_starts", starts)

    @classmethod
    def constant(cls, bpm: float) -> TempoMap:
        """A single tempo for the whole piece."""
        return cls(((0.0, bpm),))

    def seconds(self, beat: float) -> float:
        """Time in seconds at which ``beat`` sounds: seconds up to the last change before it, then its tempo."""
        index = max(bisect.bisect_right(self._beats, beat) - 1, 0)
        change_beat, bpm = self.changes[index]
        return self._starts[index] + (beat - change_beat) * 60.0 / bpm

    def bpm_at(self, beat: float) -> float:
        """The tempo in force at ``beat``."""
        index = bisect.bisect_right(self._beats, beat) - 1
        return self.changes[max(index, 0)][1]


@dataclass
class Piece:
    """Notes with the tempo map and time signature they were written in.

    Notebook: 01_midi_bytes
    """

    notes: list[Note]
    tempo: TempoMap = field(default_factory=TempoMap)
    time_signature: tuple[int, int] = (4, 4)
    pickup: float = 0.0  # beats before the first full bar (an anacrusis)
    drum_voices: tuple[int, ...] = ()  # voices played on MIDI channel 10: unpitched percussion
    key: str = ""  # the key signature the music was written with, e.g. "G major" ("" where none is known)

    @property
    def pitched_notes(self) -> list[Note]:
        """The notes that are not drum hits (what a piano roll shows)."""
        drums = set(self.drum_voices)
        return [n for n in self.notes if n.voice not in drums] if drums else list(self.notes)

    @property
    def end(self) -> float:
        """Beat at which the last note ends (0 for an empty piece)."""
        return max((n.end for n in self.notes), default=0.0)

    @property
    def beats_per_bar(self) -> float:
        """Bar length in quarter-note beats (3/2 has 6, 6/8 has 3)."""
        numerator, denominator = self.time_signature
        return numerator * 4.0 / denominator if denominator > 0 else 0.0

    def voices(self) -> list[int]:
        """The voice numbers present, ascending."""
        return sorted({n.voice for n in self.notes})

    def voice(self, voice: int) -> list[Note]:
        """The notes of one voice, by onset."""
        return sorted(n for n in self.notes if n.voice == voice)

    def seconds(self, beat: float) -> float:
        """Seconds at ``beat`` under this piece's tempo map."""
        return self.tempo.seconds(beat)


def as_notes(music: Piece | Iterable[Note]) -> list[Note]:
    """The notes of a piece, or a list of notes unchanged."""
    return list(music.notes if isinstance(music, Piece) else music)


def transpose(notes: Sequence[Note], semitones: int) -> list[Note]:
    """Every note moved by ``semitones``.

    Notebook: 00_setup_check
    """
    return [n.transposed(semitones) for n in notes]


def quantise(notes: Sequence[Note], steps_per_beat: int) -> list[Note]:
    """Snap onsets and releases to the nearest step (half a step rounds up); every note keeps at least one step.

    Notebook: 02_representations
    """

    def step(beat: float) -> int:
        return math.floor(beat * steps_per_beat + 0.5)

    out = []
    for note in notes:  # whole steps first, then one division: a grid time is the same float however reached
        start = step(note.start)
        end = max(step(note.end), start + 1)
        out.append(replace(note, start=start / steps_per_beat, end=end / steps_per_beat))
    return out


def monophonic(notes: Sequence[Note]) -> list[Note]:
    """One note at a time: of notes starting together keep the highest; a note is cut where the next begins.

    Notebook: 02_representations
    """
    line: list[Note] = []
    for note in sorted(notes, key=lambda n: (n.start, -n.pitch)):
        if line and note.start == line[-1].start:
            continue  # a lower note of a chord
        if line and note.start < line[-1].end:
            line[-1] = replace(line[-1], end=note.start)
        line.append(note)
    return line


def skyline(notes: Sequence[Note]) -> list[Note]:
    """The highest note sounding at each moment, as one line (a piano piece's melody, roughly).

    Unlike :func:`monophonic`, a held high note is not cut by a later, lower one; a lower note
    shows only where no higher note sounds, and where it comes back from under one it counts as a
    new note. Of two notes of the same pitch, the later one leads (of two struck together, the longer).

    Notebook: 10_your_own_music
    """
    cuts = sorted({t for n in notes for t in (n.start, n.end)})
    line: list[Note] = []
    owner = None
    for start, end in zip(cuts, cuts[1:], strict=False):
        sounding = [n for n in notes if n.start <= start < n.end]
        top = max(sounding, key=lambda n: (n.pitch, n.start, n.end), default=None)
        if top is None:
            owner = None
        elif top is owner and line[-1].end == start:
            line[-1] = replace(line[-1], end=end)
        else:
            line.append(replace(top, start=start, end=end))
            owner = top
    return line


PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI number: 60 -> 'C4', 70 -> 'Bb4'.

    Notebook: 01_midi_bytes
    """
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"
