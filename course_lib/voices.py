"""Four voices as four lines on a beat grid: the representation the four-voice model reads and writes.

A piano roll says which keys sound; it cannot say *who* sings them. Here each of soprano,
alto, tenor and bass has its own line of tokens, one per grid step (eighth notes by default):

========  ==============  ===========================================
token     name            meaning
========  ==============  ===========================================
0         ``VOICE_PAD``   padding (after the end of a piece in a batch)
1         ``VOICE_REST``  rest
2         ``VOICE_HOLD``  hold: the voice keeps singing its note
3 + k                     a new note of MIDI pitch ``LOWEST + k``
========  ==============  ===========================================

(The melody tokens of :mod:`course_lib.tokens` number rest and hold differently, ``REST = 0``
and ``HOLD = 1``, hence the ``VOICE_`` names here.)

Beside the tokens a :class:`Lines` keeps the step's position in the bar and where the
soprano's fermatas (the pauses that end each phrase of a chorale) fall.

Notebook: 09_four_voices
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from course_lib.datasets import CHORALE_TEMPO_BPM
from course_lib.errors import CourseError
from course_lib.notes import Note, Piece, TempoMap, monophonic, quantise
from course_lib.pianoroll import PIANO_LOWEST, from_pianoroll

VOICE_PAD, VOICE_REST, VOICE_HOLD = 0, 1, 2
VOICE_NAMES = ("soprano", "alto", "tenor", "bass")  # voices 0..3 of a chorale (capitalised: music21's part names)
# The voices' ranges, all in one place (MIDI pitches, lowest and highest):
LOWEST, HIGHEST = 28, 88  # E1..E6: every chorale voice after transposition to C major / A minor (the tokens)
GAN_LOWEST, GAN_HIGHEST = 36, 81  # C2..A5: the GAN's narrower window (course_lib.gan); rarer notes are dropped
RANGES = ((60, 79), (55, 74), (48, 67), (40, 60))  # textbook ranges S C4-G5, A G3-D5, T C3-G4, B E2-C4
VOCABULARY = HIGHEST - LOWEST + 1 + 3
STEPS_PER_BEAT = 2  # eighth notes: a sixteenth passing note is rounded onto the grid
POSITIONS = 12  # steps within a bar that the position feature tells apart (3/2 has 12 eighths)
FEATURES = POSITIONS + 2  # position in the bar (one-hot), fermata sounding, fermata begins


class VoiceError(CourseError, ValueError):
    """A melody or a set of lines that the four-voice representation cannot hold."""


def token_of(pitch: int) -> int:
    """The token of a new note of MIDI ``pitch``.

    Notebook: 09_four_voices
    """
    if not LOWEST <= pitch <= HIGHEST:
        raise VoiceError(f"pitch {pitch} is outside the range the voices cover (MIDI {LOWEST}..{HIGHEST})")
    return pitch - LOWEST + 3


def pitch_of(token: int) -> int:
    """The MIDI pitch of a note token (3 and up).

    Notebook: 09_four_voices
    """
    return int(token) - 3 + LOWEST


@dataclass
class Lines:
    """Four voices on a grid: ``tokens[step, voice]`` plus the bar position and fermatas of each step.

    Notebook: 09_four_voices
    """

    tokens: np.ndarray  # (steps, 4) int: VOICE_PAD, VOICE_REST, VOICE_HOLD or a note token
    position: np.ndarray  # (steps,) int: step within the bar (0 = downbeat)
    fermata: np.ndarray  # (steps,) bool: a soprano note with a fermata sounds here
    steps_per_beat: int = STEPS_PER_BEAT
    time_signature: tuple[int, int] = (4, 4)
    pickup: float = 0.0
    name: str = ""
    transposition: int = 0  # semitones added to the pitches the music was written at (moved to C major / A minor)

    @property
    def steps(self) -> int:
        """Number of grid steps."""
        return len(self.tokens)

    def pitches(self) -> np.ndarray:
        """``(steps, 4)`` sounding MIDI pitch of each voice, -1 where it rests.

        Notebook: 09_four_voices
        """
        out = np.full(self.tokens.shape, -1, dtype=np.int64)
        for voice in range(self.tokens.shape[1]):
            current = -1
            for step, token in enumerate(self.tokens[:, voice]):
                current = pitch_of(token) if token > VOICE_HOLD else -1 if token in (VOICE_PAD, VOICE_REST) else current
                out[step, voice] = current
        return out

    def onsets(self) -> np.ndarray:
        """``(steps, 4)`` True where a voice begins a note.

        Notebook: 09_four_voices
        """
        return self.tokens > VOICE_HOLD

    def fermata_starts(self) -> list[int]:
        """Steps where a fermata note begins.

        Notebook: 09_four_voices
        """
        before = np.concatenate([[False], self.fermata[:-1]])
        begins = self.fermata & (~before | self.onsets()[:, 0])
        return np.flatnonzero(begins).tolist()

    def fermata_spans(self) -> list[tuple[int, int]]:
        """``(first, end)`` steps of each fermata note (``end`` exclusive).

        Notebook: 09_four_voices
        """
        spans = []
        for first in self.fermata_starts():
            end = first + 1
            while end < self.steps and self.fermata[end] and self.tokens[end, 0] == VOICE_HOLD:
                end += 1
            spans.append((first, end))
        return spans

    def features(self) -> np.ndarray:
        """``(steps, FEATURES)`` float32: position in the bar one-hot, fermata sounding, fermata begins.

        Notebook: 09_four_voices
        """
        out = np.zeros((self.steps, FEATURES), dtype=np.float32)
        out[np.arange(self.steps), np.minimum(self.position, POSITIONS - 1)] = 1.0
        out[:, POSITIONS] = self.fermata
        out[self.fermata_starts(), POSITIONS + 1] = 1.0
        return out

    def head(self, steps: int) -> Lines:
        """The first ``steps`` steps (for an excerpt).

        Notebook: 09_four_voices
        """
        return replace(self, tokens=self.tokens[:steps], position=self.position[:steps], fermata=self.fermata[:steps])

    def with_voices(self, tokens: np.ndarray) -> Lines:
        """The same grid with other tokens (for example, generated alto, tenor and bass)."""
        return replace(self, tokens=np.asarray(tokens))

    def to_piece(self, tempo_bpm: float = CHORALE_TEMPO_BPM) -> Piece:
        """The lines as notes (voice 0..3 = soprano..bass), for the player, audio and MIDI.

        Notebook: 09_four_voices
        """
        notes = []
        pitches, onsets = self.pitches(), self.onsets()
        for voice in range(self.tokens.shape[1]):
            start = None
            for step in range(self.steps + 1):
                ends = step == self.steps or onsets[step, voice] or pitches[step, voice] < 0
                if start is not None and ends:
                    pitch = int(pitches[start, voice])
                    notes.append(Note(start / self.steps_per_beat, step / self.steps_per_beat, pitch, 80, voice))
                    start = None
                if step < self.steps and onsets[step, voice]:
                    start = step
        notes.sort(key=lambda n: (n.start, n.voice))
        return Piece(notes, TempoMap.constant(tempo_bpm), self.time_signature, self.pickup)


def bar_positions(steps: int, steps_per_beat: int, beats_per_bar: float, pickup: float = 0.0) -> np.ndarray:
    """The step-within-bar of each grid step, counting the pickup (anacrusis) as the end of a bar.

    Notebook: 09_four_voices
    """
    per_bar = max(1, round(beats_per_bar * steps_per_beat))
    offset = round(pickup * steps_per_beat)
    return (np.arange(steps) - offset) % per_bar


def line_tokens(notes: Iterable[Note], steps: int, steps_per_beat: int = STEPS_PER_BEAT) -> np.ndarray:
    """One voice's notes as ``steps`` tokens: quantised to the grid, one note at a time (the highest).

    Notebook: 09_four_voices
    """
    tokens = np.full(steps, VOICE_REST, dtype=np.int32)
    for note in monophonic(quantise(list(notes), steps_per_beat)):
        first = round(note.start * steps_per_beat)
        last = min(round(note.end * steps_per_beat), steps)
        if first >= steps:
            continue
        tokens[first] = token_of(note.pitch)
        tokens[first + 1 : last] = VOICE_HOLD
    return tokens


def fermata_mask(
    soprano: np.ndarray, fermata_beats: Sequence[float], steps_per_beat: int = STEPS_PER_BEAT
) -> np.ndarray:
    """True on the steps of every soprano note that starts at one of ``fermata_beats``.

    Notebook: 09_four_voices
    """
    mask = np.zeros(len(soprano), dtype=bool)
    for beat in fermata_beats:
        step = round(beat * steps_per_beat)
        if 0 <= step < len(soprano):
            mask[step] = True
            step += 1
            while step < len(soprano) and soprano[step] == VOICE_HOLD:
                mask[step] = True
                step += 1
    return mask


def from_notes(
    notes: Sequence[Note],
    fermatas: Sequence[float] = (),
    time_signature: tuple[int, int] = (4, 4),
    pickup: float = 0.0,
    voices: int = 4,
    steps_per_beat: int = STEPS_PER_BEAT,
    name: str = "",
    transposition: int = 0,
) -> Lines:
    """Lines from notes whose ``voice`` is 0..3 (voices without notes rest throughout).

    ``transposition``: the semitones the notes were moved by from the pitch they were written at.

    Notebook: 09_four_voices
    """
    if not notes:
        raise VoiceError("there are no notes to put on the grid")
    steps = int(np.ceil(max(n.end for n in notes) * steps_per_beat - 1e-9))
    tokens = np.stack(
        [line_tokens([n for n in notes if n.voice == v], steps, steps_per_beat) for v in range(voices)], 1
    )
    beats_per_bar = time_signature[0] * 4.0 / time_signature[1]
    return Lines(
        tokens=tokens,
        position=bar_positions(steps, steps_per_beat, beats_per_bar, pickup),
        fermata=fermata_mask(tokens[:, 0], fermatas, steps_per_beat),
        steps_per_beat=steps_per_beat,
        time_signature=tuple(time_signature),
        pickup=pickup,
        name=name,
        transposition=transposition,
    )


def from_chorale(chorale, steps_per_beat: int = STEPS_PER_BEAT) -> Lines:
    """A bundled chorale (:func:`course_lib.datasets.load_chorales`) as four lines with its fermatas.

    Notebook: 09_four_voices
    """
    return from_notes(
        chorale.notes,
        getattr(chorale, "fermatas", ()),
        chorale.time_signature,
        chorale.pickup,
        steps_per_beat=steps_per_beat,
        name=getattr(chorale, "name", ""),
        transposition=getattr(chorale, "transposition", 0),
    )


def from_chords(
    chords: Sequence[Sequence[int]], fermatas: Sequence[int] = (), steps_per_chord: int = 2, beats_per_bar: int = 4
) -> Lines:
    """Lines from a list of (S, A, T, B) chords in MIDI pitches, each ``steps_per_chord`` steps long.

    A voice that repeats its pitch in the next chord holds it; -1 is a rest. ``fermatas`` are
    chord indices. Handy for small hand-written examples.
    """
    chords = np.asarray(chords, dtype=int).reshape(len(chords), 4)
    tokens = np.full((len(chords) * steps_per_chord, 4), VOICE_HOLD, dtype=np.int32)
    for i, chord in enumerate(chords):
        for voice, pitch in enumerate(chord):
            held = i > 0 and pitch >= 0 and chords[i - 1, voice] == pitch
            token = VOICE_REST if pitch < 0 else VOICE_HOLD if held else token_of(int(pitch))
            tokens[i * steps_per_chord, voice] = token
            if pitch < 0:
                tokens[i * steps_per_chord : (i + 1) * steps_per_chord, voice] = VOICE_REST
    fermata = np.zeros(len(tokens), dtype=bool)
    for i in fermatas:
        fermata[i * steps_per_chord : (i + 1) * steps_per_chord] = True
    position = bar_positions(len(tokens), steps_per_chord, beats_per_bar)
    return Lines(tokens, position, fermata, steps_per_beat=steps_per_chord, time_signature=(beats_per_bar, 4))


def readable_as_voices(roll: np.ndarray, lowest: int = PIANO_LOWEST) -> bool:
    """True if :func:`from_roll` keeps every note: at most four keys a frame, all within the voices' range.

    Notebook: 06_lstm_chorales
    """
    frames = np.asarray(roll, dtype=bool)
    keys = np.flatnonzero(frames.any(axis=0)) + lowest
    return bool(frames.sum(axis=1).max(initial=0) <= 4 and all(LOWEST <= k <= HIGHEST for k in keys.tolist()))


def roll_to_piece(roll: np.ndarray, steps_per_beat: int, lowest: int, tempo_bpm: float = CHORALE_TEMPO_BPM) -> Piece:
    """A chorale model's roll as music to hear and engrave: soprano, alto, tenor and bass, read top-down
    (:func:`from_roll`), where that keeps every note (:func:`readable_as_voices`); else every note in one
    voice, which a score lays out on a piano's grand staff, split at middle C.

    Notebook: 06_lstm_chorales
    """
    if readable_as_voices(roll, lowest):
        piece = from_roll(roll, steps_per_beat, lowest).to_piece(tempo_bpm)
        if piece.voices() == [0, 1, 2, 3]:
            return piece
    return Piece(from_pianoroll(roll, steps_per_beat, lowest), TempoMap.constant(tempo_bpm))


def from_roll(roll: np.ndarray, steps_per_beat: int = 1, lowest: int = PIANO_LOWEST) -> Lines:
    """A piano roll read as four voices, the only way a roll allows: top-down.

    In each frame the highest key is the soprano, the lowest the bass, the second and third
    highest alto and tenor (with three keys the tenor rests; extra middle keys are dropped). A
    key sounding in two frames running is one held note. Such voices can never cross, and a
    unison shows as one key: the roll has lost who sang what. Keys outside ``LOWEST..HIGHEST``
    (no chorale voice goes there) are left out.

    Notebook: 09_four_voices
    """
    notes: list[Note] = []
    open_notes: dict[int, Note] = {}
    frames = np.asarray(roll, dtype=bool)
    for t, frame in enumerate(frames):
        keys = [k for k in (np.flatnonzero(frame)[::-1] + lowest).tolist() if LOWEST <= k <= HIGHEST]
        chosen = {0: keys[0], 3: keys[-1]} if len(keys) >= 2 else {0: keys[0]} if keys else {}
        if len(keys) >= 3:
            chosen[1] = keys[1]
        if len(keys) >= 4:
            chosen[2] = keys[2]
        for voice in range(4):
            pitch = chosen.get(voice)
            held = open_notes.get(voice)
            if held is not None and held.pitch == pitch:
                open_notes[voice] = replace(held, end=(t + 1) / steps_per_beat)
                continue
            if held is not None:
                notes.append(held)
                del open_notes[voice]
            if pitch is not None:
                open_notes[voice] = Note(t / steps_per_beat, (t + 1) / steps_per_beat, pitch, 80, voice)
    notes += open_notes.values()
    return from_notes(sorted(notes), name="roll")


def soprano_only(lines: Lines) -> Lines:
    """The same grid with alto, tenor and bass resting: what the harmoniser is given.

    Notebook: 09_four_voices
    """
    tokens = np.full_like(lines.tokens, VOICE_REST)
    tokens[:, 0] = lines.tokens[:, 0]
    return lines.with_voices(tokens)
