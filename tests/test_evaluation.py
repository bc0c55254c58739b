"""The key-free scale test and the metrics every model is compared on (course_lib.evaluation): known values."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import metrics
from course_lib.evaluation import COMPARED, roll_metrics, scale_consistency
from course_lib.pianoroll import PIANO_LOWEST


def roll_of(steps: list[list[int]]) -> np.ndarray:
    """A ``(time, 88)`` roll with the MIDI pitches of ``steps[t]`` sounding at step ``t``."""
    roll = np.zeros((len(steps), 88), dtype=bool)
    for t, pitches in enumerate(steps):
        roll[t, [p - PIANO_LOWEST for p in pitches]] = True
    return roll


def test_a_scale_in_any_key_is_wholly_consistent():
    g_major = roll_of([[p] for p in (67, 69, 71, 72, 74, 76, 78)])  # F# is outside C major
    assert metrics.in_scale_rate(g_major) == pytest.approx(6 / 7)
    assert scale_consistency(g_major) == 1.0
    chromatic = roll_of([[60 + k] for k in range(12)])
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)  # no major scale holds more than 7 of 12


def test_roll_metrics_average_over_pieces_of_unlike_kinds():
    chord_then_silence = roll_of([[60, 64, 67]] * 4 + [[]] * 4)  # two bars of 4/4 at a step per beat
    one_note_per_other_beat = roll_of([[60], [], [60], [], [62], [], [60], []])
    scores = roll_metrics([chord_then_silence, one_note_per_other_beat], steps_per_beat=1)
    assert set(scores) == set(COMPARED)
    assert scores["used_pitch_classes"] == pytest.approx((3 + 1.5) / 2)  # 3 in the chord's bar; 1 and 2
    assert scores["polyphony"] == pytest.approx((3 + 1) / 2)
    assert scores["empty_bar_rate"] == pytest.approx((0.5 + 0) / 2)
    assert scores["qualified_note_rate"] == 1.0  # every note lasts at least a beat
    assert scores["scale_consistency"] == 1.0
    halves = roll_metrics([one_note_per_other_beat], steps_per_beat=2)  # the same notes are now half beats
    assert halves["qualified_note_rate"] == 0.0


def test_a_histogram_compared_with_itself_is_no_distance():
    roll = roll_of([[60, 64], [67], [61], []])  # one whole bar
    scores = roll_metrics([roll], 1, reference_histogram=metrics.pitch_class_histogram(roll))
    assert scores["pch_distance"] == pytest.approx(0.0)
