"""Monophonic melodies <-> token sequences: one token per time step.

Each step is a pitch (a new note starts), ``HOLD`` (the previous note goes on) or ``REST``.
This keeps rhythm in the sequence: a half note at 4 steps per beat is one pitch token and
seven holds.

Notebook: 02_representations
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from course_lib.notes import Note, Piece, as_notes, pitch_name

REST = 0
HOLD = 1


@dataclass(frozen=True)
class MelodyVocabulary:
    """Tokens ``REST=0``, ``HOLD=1``, then one token per pitch ``lowest..highest``.

    Notebook: 02_representations
    """

    lowest: int = 48
    highest: int = 84

    @property
    def size(self) -> int:
        """Number of distinct tokens."""
        return 2 + self.highest - self.lowest + 1

    def token(self, pitch: int) -> int:
        """The token of ``pitch``."""
        if not self.lowest <= pitch <= self.highest:
            raise ValueError(
                f"pitch {pitch} ({pitch_name(pitch)}) is outside the vocabulary {self.lowest}..{self.highest}"
            )
        return 2 + pitch - self.lowest

    def pitch(self, token: int) -> int:
        """The pitch of a pitch token."""
        if not 2 <= token < self.size:
            raise ValueError(f"token {token} is not a pitch token")
        return self.lowest + token - 2

    def name(self, token: int) -> str:
        """Readable name: 'REST', 'HOLD' or a pitch name like 'C4'."""
        if token == REST:
            return "REST"
        if token == HOLD:
            return "HOLD"
        return pitch_name(self.pitch(token))

    def encode(self, melody: Piece | Iterable[Note], steps_per_beat: int = 4, n_steps: int | None = None) -> list[int]:
        """Tokens for a monophonic melody whose times lie on the step grid.

        Raises ``ValueError`` if notes overlap or fall between grid steps.
        """
        notes = sorted(as_notes(melody))
        steps = [(self._grid(n.start, steps_per_beat), self._grid(n.end, steps_per_beat), n.pitch) for n in notes]
        total = max((end for _, end, _ in steps), default=0) if n_steps is None else n_steps
        tokens = [REST] * total
        previous_end = 0
        for start, end, pitch in steps:
            if start < previous_end:
                raise ValueError(f"notes overlap at step {start}: a melody must be monophonic")
            if end > total:
                raise ValueError(f"note ends at step {end}, after n_steps={total}")
            tokens[start] = self.token(pitch)
            tokens[start + 1 : end] = [HOLD] * (end - start - 1)
            previous_end = end
        return tokens

    def decode(self, tokens: Sequence[int], steps_per_beat: int = 4, velocity: int = 80) -> list[Note]:
        """Notes from tokens; a ``HOLD`` after a rest (or at the start) is treated as a rest."""
        notes: list[Note] = []
        start = pitch = None
        for step, token in enumerate(list(tokens) + [REST]):
            if token == HOLD and pitch is not None:
                continue
            if pitch is not None:
                notes.append(Note(start / steps_per_beat, step / steps_per_beat, pitch, velocity))
                start = pitch = None
            if token >= 2:
                start, pitch = step, self.pitch(int(token))
        return notes

    @staticmethod
    def _grid(beat: float, steps_per_beat: int) -> int:
        step = beat * steps_per_beat
        if abs(step - round(step)) > 1e-6:
            raise ValueError(f"beat {beat} is not on the grid of {steps_per_beat} steps per beat: quantise first")
        return int(round(step))
