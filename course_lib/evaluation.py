"""Comparing every model of the course on the same music metrics, whatever its resolution.

The models make music at different grids (the melody LSTM at 4 steps per beat, the JSB models at
one frame per beat, the GAN at two steps per beat) and some in the original keys of the pieces.
The metrics here are therefore measured in beats and bars, on the merged roll of all voices, and
the scale test is key-free: the share of notes in the best-fitting major scale.

Notebook: 08_evaluation
"""

from __future__ import annotations

import numpy as np

from course_lib import metrics
from course_lib.pianoroll import PIANO_LOWEST

COMPARED = ("used_pitch_classes", "qualified_note_rate", "polyphony", "scale_consistency", "empty_bar_rate")


def scale_consistency(roll: np.ndarray, lowest: int = PIANO_LOWEST) -> float:
    """Share of notes in the major scale that fits them best (muspy's scale consistency).

    Notebook: 08_evaluation
    """
    return max(metrics.in_scale_rate(roll, lowest, tonic=tonic) for tonic in range(12))


def roll_metrics(
    rolls: list[np.ndarray],
    steps_per_beat: int,
    beats_per_bar: int = 4,
    reference_histogram: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics of pieces given as merged ``(time, 88)`` rolls at ``steps_per_beat``, averaged over pieces.

    A qualified note lasts at least one beat; ``empty_bar_rate`` counts bars where nothing sounds
    at all. With ``reference_histogram``, ``pch_distance`` compares pitch-class histograms.

    Notebook: 08_evaluation
    """
    steps_per_bar = steps_per_beat * beats_per_bar
    per_piece = {
        "used_pitch_classes": [metrics.used_pitch_classes(r, steps_per_bar) for r in rolls],
        "qualified_note_rate": [metrics.qualified_note_rate(r, steps_per_beat) for r in rolls],
        "polyphony": [metrics.polyphony(r) for r in rolls],
        "scale_consistency": [scale_consistency(r) for r in rolls],
        "empty_bar_rate": [metrics.empty_bar_rate(r, steps_per_bar) for r in rolls],
    }
    scores = {name: float(np.nanmean(values)) for name, values in per_piece.items()}
    if reference_histogram is not None:
        histogram = metrics.pitch_class_histogram(np.concatenate(rolls))
        scores["pch_distance"] = metrics.histogram_distance(histogram, reference_histogram)
    return scores
