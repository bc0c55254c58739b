"""Tune matching by soprano interval runs (course_lib.tune_matching): transposition, variants, unrelated tunes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.notes import Note, Piece
from course_lib.tune_matching import interval_runs, seen_runs, share_seen, soprano_intervals, tune_groups


def soprano(pitches, voice: int = 0) -> Piece:
    return Piece([Note(float(i), i + 1.0, int(p), voice=voice) for i, p in enumerate(pitches)])


HYMN = [67, 67, 69, 71, 71, 69, 67, 66, 64, 66, 67, 69, 67, 66, 64, 62, 64, 66, 67, 69, 71, 69, 67, 66, 67]


def test_intervals_are_read_from_the_soprano_in_time_order():
    notes = [Note(2.0, 3.0, 64), Note(0.0, 1.0, 60), Note(1.0, 2.0, 67), Note(0.0, 4.0, 36, voice=3)]
    assert soprano_intervals(Piece(notes)) == (7, -3)


def test_runs_survive_transposition_and_count_every_window():
    runs = interval_runs(soprano(HYMN), length=10)
    assert len(runs) == 24 - 10 + 1
    assert interval_runs(soprano(np.array(HYMN) - 5), length=10) == runs
    assert interval_runs(soprano([60, 62, 64]), length=10) == {(2, 2)}  # shorter than a run: one run


def test_share_seen():
    runs = {(1,), (2,), (3,), (4,)}
    assert share_seen(runs, {(1,), (9,)}) == pytest.approx(0.25)
    assert share_seen(set(), {(1,)}) == 0.0
    assert seen_runs([soprano([60, 62, 64]), soprano([60, 59])], length=1) == {(2,), (-1,)}


def test_a_variant_a_transposed_copy_and_a_variant_of_the_variant_are_one_tune():
    variant = list(HYMN)
    variant[2] += 2  # one changed note: 80% of the runs left
    further = list(variant)
    further[18] += 2  # one more: 53% of the variant's runs, 33% of the first tune's
    runs = [interval_runs(soprano(p)) for p in (HYMN, variant, further)]
    assert share_seen(runs[2], runs[0]) == pytest.approx(5 / 15)
    unrelated = [60, 64, 62, 65, 64, 67, 65, 69, 67, 71, 69, 72, 71, 74, 72, 76]
    pieces = [soprano(HYMN), soprano(unrelated), soprano(np.array(HYMN) + 3), soprano(variant), soprano(further)]
    assert tune_groups(pieces) == [[0, 2, 3, 4], [1]]
    assert tune_groups(pieces, same=1.0) == [[0, 2], [1], [3], [4]]  # exact copies only
