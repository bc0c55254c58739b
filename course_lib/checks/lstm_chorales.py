"""Checks for the exercise of notebook 06: the MADE masks.

Notebook: 06_lstm_chorales
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks.hints import ExerciseError, exercise_check
from course_lib.models import masks_from_degrees


@exercise_check
def check_masks(masks: Callable) -> None:
    """Check ``masks(keys, hidden_degree) -> (input_to_hidden, hidden_to_output, input_to_output)``.

    Notebook: 06_lstm_chorales
    """
    keys, hidden_degree = 5, np.array([1, 4, 2, 2, 3, 1, 4])
    expected = masks_from_degrees(keys, hidden_degree)
    got = masks(keys, hidden_degree)
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise ExerciseError("return three masks: (input_to_hidden, hidden_to_output, input_to_output).")
    names = ("input_to_hidden", "hidden_to_output", "input_to_output")
    for name, mine, theirs in zip(names, got, expected, strict=True):
        mine = np.asarray(mine, dtype=float)
        if mine.shape != theirs.shape:
            if mine.shape == theirs.T.shape:
                raise ExerciseError(f"{name} has shape {mine.shape}, expected {theirs.shape}: transpose it (from, to).")
            raise ExerciseError(f"{name} has shape {mine.shape}, expected {theirs.shape} (from, to).")
        if not np.array_equal(mine, theirs):
            if name == "input_to_output" and np.array_equal(mine, theirs + np.eye(keys)):
                raise ExerciseError("input_to_output lets key d see itself: output d may read keys < d only.")
            if name == "hidden_to_output" and np.array_equal(mine, (hidden_degree[:, None] <= np.arange(1, 6)) * 1.0):
                raise ExerciseError("hidden_to_output uses m <= d: a unit of degree d has seen key d, so use m < d.")
            if name == "input_to_hidden" and np.array_equal(mine, (np.arange(1, 6)[:, None] < hidden_degree) * 1.0):
                raise ExerciseError("input_to_hidden uses k < m: a unit of degree m may see keys up to m, k <= m.")
            raise ExerciseError(f"{name} differs from the rule in the text; compare row k, column m by hand.")
    print("masks: correct; output d now depends on keys 1..d-1 only.")
