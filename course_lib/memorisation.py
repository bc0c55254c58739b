"""Does a model copy its training data? The longest run it shares with the data, and its copied excerpts.

Music metrics (:mod:`course_lib.evaluation`) reward a model that copies: copied music has the
data's statistics. Comparing samples with each other (notebook 07's diversity) cannot see it either.
Only a comparison with the training data itself can, frame by frame:

- the **longest copied run**: the most consecutive steps of a sample found, in the same order, in
  one training piece, in beats;
- the **copied excerpts**: the share of a sample's two-bar excerpts (one starting at every bar)
  found exactly, at any step, in a training piece.

Both work on piano rolls (``(steps, pitches)`` booleans) on one grid, so every model of the course
is measured alike, beside the same figures for held-out pieces of the data, which share cadence
formulae and held chords with the training pieces but were never copied from them.

Each distinct frame gets a number and each run of frames a 64-bit rolling hash, so a search is a
sorted-array lookup, not a comparison of arrays.

Notebook: 08_evaluation
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BASE = 1_000_003  # the rolling hash's multiplier
MASK = 2**64 - 1  # hashes wrap at 2**64, as numpy's uint64 arithmetic does
BEATS_PER_BAR = 4


class CopyFinder:
    """The training rolls of one model, indexed to find what a sample copies from them.

    Notebook: 08_evaluation
    """

    def __init__(self, training_rolls: Sequence[np.ndarray]) -> None:
        self._frame_ids: dict[bytes, int] = {}
        self._training = [_prefix_hashes(self._ids(roll, learn=True)) for roll in training_rolls]
        self._known: dict[int, np.ndarray] = {}  # run length -> sorted hashes of the training runs

    def _ids(self, roll: np.ndarray, learn: bool = False) -> np.ndarray:
        """Each frame's number; a frame no training piece has gets a number of its own, so it matches nothing."""
        packed = np.packbits(np.asarray(roll, dtype=bool), axis=1)
        ids = np.empty(len(packed), dtype=np.uint64)
        for step, frame in enumerate(packed):
            key = frame.tobytes()
            if key not in self._frame_ids and learn:
                self._frame_ids[key] = len(self._frame_ids) + 1
            ids[step] = self._frame_ids.get(key, 0)
        return ids

    def _training_runs(self, length: int) -> np.ndarray:
        if length not in self._known:
            runs = [_runs(prefix, length) for prefix in self._training]
            self._known[length] = np.unique(np.concatenate([np.empty(0, np.uint64), *runs]))
        return self._known[length]

    def _found(self, hashes: np.ndarray, length: int) -> np.ndarray:
        """True for each hash that some training run of ``length`` frames has."""
        known = self._training_runs(length)
        if not len(known) or not len(hashes):
            return np.zeros(len(hashes), dtype=bool)
        where = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
        return known[where] == hashes

    def longest_run(self, roll: np.ndarray) -> int:
        """The most consecutive frames of ``roll`` found, in order, in one training roll (0 if none).

        Notebook: 08_evaluation
        """
        ids = self._ids(roll)
        prefix = _prefix_hashes(ids)
        low, high = 0, _longest_true_stretch(ids != 0)  # a copied run holds known frames only
        while low < high:  # a run of n frames found means every shorter one is found too
            middle = (low + high + 1) // 2
            if self._found(_runs(prefix, middle), middle).any():
                low = middle
            else:
                high = middle - 1
        return low

    def copied_excerpts(self, roll: np.ndarray, steps_per_beat: int, bars: int = 2) -> tuple[int, int]:
        """``(copied, excerpts)``: how many of ``roll``'s ``bars``-bar excerpts, one per bar, a training roll holds.

        Notebook: 08_evaluation
        """
        bar = BEATS_PER_BAR * steps_per_beat
        length = bars * bar
        runs = _runs(_prefix_hashes(self._ids(roll)), length)[::bar]
        return int(self._found(runs, length).sum()), len(runs)


def _prefix_hashes(ids: np.ndarray) -> np.ndarray:
    """``prefix[i]``: the rolling hash of the first ``i`` frames."""
    prefix, current = [0], 0
    for frame in ids.tolist():
        current = (current * BASE + frame) & MASK
        prefix.append(current)
    return np.array(prefix, dtype=np.uint64)


def _runs(prefix: np.ndarray, length: int) -> np.ndarray:
    """The hash of every run of ``length`` consecutive frames (none if the roll is shorter)."""
    if len(prefix) - 1 < length or length <= 0:
        return np.empty(0, dtype=np.uint64)
    power = np.uint64(pow(BASE, length, 2**64))
    return prefix[length:] - prefix[:-length] * power  # uint64 arrays wrap silently


def _longest_true_stretch(flags: np.ndarray) -> int:
    best = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        best = max(best, current)
    return best


def copy_scores(finder: CopyFinder, rolls: Sequence[np.ndarray], steps_per_beat: int) -> dict[str, float]:
    """What ``rolls`` copy from the finder's training rolls: runs in beats (mean and longest), copied excerpts.

    Notebook: 08_evaluation
    """
    runs = [finder.longest_run(roll) / steps_per_beat for roll in rolls]
    copied = [finder.copied_excerpts(roll, steps_per_beat) for roll in rolls]
    excerpts = sum(total for _, total in copied)
    return {
        "mean_longest_run_beats": float(np.mean(runs)) if runs else float("nan"),
        "longest_run_beats": float(max(runs, default=float("nan"))),
        "copied_excerpts": sum(found for found, _ in copied) / excerpts if excerpts else float("nan"),
        "excerpts": excerpts,
    }


COPY_PIECES, COPY_BARS = 12, 16  # what a model card's copy check generates: 12 pieces of 16 bars


def copy_card(
    training: Sequence[np.ndarray], held_out: Sequence[np.ndarray], generated: Sequence[np.ndarray], steps_per_beat: int
) -> dict[str, dict[str, float]]:
    """A card's copy check: :func:`copy_scores` of the generated rolls and of held-out data, rounded.

    Notebook: 08_evaluation
    """
    finder = CopyFinder(training)
    return {
        name: {
            key: None if np.isnan(value) else round(value, 4)  # NaN (nothing to compare): null in JSON
            for key, value in copy_scores(finder, rolls, steps_per_beat).items()
        }
        for name, rolls in (("generated", generated), ("held_out", held_out))
    }
