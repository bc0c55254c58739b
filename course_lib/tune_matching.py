"""When are two chorales the same hymn tune? Runs of soprano intervals, matched over the whole melody.

Bach harmonised many hymn tunes several times, in other keys and with small changes to the
melody (a passing note here, a changed cadence there). A melody model tested on one
harmonisation of a tune it learned from another is not tested on an unseen tune. Comparing
openings is not enough: variants often begin differently. So each soprano becomes the set of its
*runs*: every stretch of :data:`RUN` successive intervals (in semitones, so a transposed copy
has the same runs). Two sopranos share a tune when :data:`SAME_TUNE` of the runs of one of them
occur in the other; :func:`tune_groups` joins every such pair into groups, which
:func:`course_lib.datasets.split_by_tune` keeps in one split.

Short runs are common to unrelated tunes (scales, cadence formulae), so :func:`share_seen`
measures how much of a held-out soprano occurs anywhere in training: a tune is *seen* when half
of its runs are (:data:`SEEN`).

Notebook: 05_lstm_melody
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from course_lib.notes import Piece

RUN = 10  # intervals in a run: eleven notes, about two phrases' worth of a chorale's opening line
SAME_TUNE = 0.4  # the share of one soprano's runs found in another that makes them one tune
SEEN = 0.5  # the share of a soprano's runs found in training sopranos that marks it as seen


def soprano_intervals(piece: Piece) -> tuple[int, ...]:
    """The semitones between successive soprano notes (voice 0), repeated notes included.

    Notebook: 05_lstm_melody
    """
    pitches = [note.pitch for note in sorted(piece.voice(0), key=lambda n: n.start)]
    return tuple(int(step) for step in np.diff(pitches))


def interval_runs(piece: Piece, length: int = RUN) -> set[tuple[int, ...]]:
    """Every run of ``length`` successive soprano intervals; a soprano shorter than that is one run.

    Notebook: 05_lstm_melody
    """
    return runs_of(soprano_intervals(piece), length)


def runs_of(steps: tuple[int, ...], length: int = RUN) -> set[tuple[int, ...]]:
    """Every run of ``length`` successive intervals of ``steps`` (all of them, if fewer)."""
    if len(steps) <= length:
        return {steps}
    return {steps[i : i + length] for i in range(len(steps) - length + 1)}


def share_seen(runs: set[tuple[int, ...]], seen: set[tuple[int, ...]]) -> float:
    """The fraction of ``runs`` found in ``seen`` (0 for no runs).

    Notebook: 05_lstm_melody
    """
    return len(runs & seen) / len(runs) if runs else 0.0


def seen_runs(pieces: Iterable[Piece], length: int = RUN) -> set[tuple[int, ...]]:
    """The runs of all ``pieces`` together: what a model trained on them has seen.

    Notebook: 05_lstm_melody
    """
    return set().union(*(interval_runs(piece, length) for piece in pieces))


def tune_groups(pieces: Sequence[Piece], same: float = SAME_TUNE, length: int = RUN) -> list[list[int]]:
    """Indices of ``pieces`` grouped by tune, in order of their first piece.

    Two pieces share a group when ``same`` of either's runs occur in the other; groups are
    joined through shared members (a variant of a variant is the same tune).
    """
    return group_by_runs([interval_runs(piece, length) for piece in pieces], same)


def group_by_runs(runs: Sequence[set[tuple[int, ...]]], same: float = SAME_TUNE) -> list[list[int]]:
    """:func:`tune_groups` from each piece's runs (for a caller that has the intervals without the pieces).

    Notebook: 05_lstm_melody
    """
    parent = list(range(len(runs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    holders: dict[tuple[int, ...], list[int]] = {}  # each run -> the pieces that have it
    for i, piece_runs in enumerate(runs):
        for run in piece_runs:
            holders.setdefault(run, []).append(i)
    for i, piece_runs in enumerate(runs):
        shared = Counter(j for run in piece_runs for j in holders[run] if j > i)  # runs in common
        for j, count in shared.items():
            if max(count / len(piece_runs), count / len(runs[j])) >= same:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(runs)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())
