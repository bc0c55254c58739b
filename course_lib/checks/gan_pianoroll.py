"""Checks for the exercises of notebook 07: the empty-bar rate and the gradient penalty.

Notebook: 07_gan_pianoroll
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from course_lib import gan, metrics
from course_lib.checks.hints import ExerciseError, exercise_check


def _penalty(critic, real, fake, alpha, axes) -> float:
    return _float(gan.gradient_penalty(critic, real, fake, alpha, axes))  # the library's, on other axes


def _float(value) -> float:
    """A scalar of any backend (a PyTorch one may still carry its gradient graph) as a Python float."""
    return float(keras.ops.convert_to_numpy(keras.ops.stop_gradient(value)))


@exercise_check
def check_gradient_penalty(gradient_penalty: Callable) -> None:
    """Check ``gradient_penalty(critic, real, fake, alpha) -> scalar`` on a small random critic.

    Notebook: 07_gan_pianoroll
    """
    keras.utils.set_random_seed(3)
    critic = keras.Sequential(
        [keras.Input((4, 3, 5)), keras.layers.Flatten(), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)]
    )
    rng = np.random.default_rng(3)
    real, fake = (keras.ops.convert_to_tensor(rng.random((6, 4, 3, 5)), "float32") for _ in range(2))
    alpha = keras.ops.convert_to_tensor(rng.random((6, 1, 1, 1)), "float32")
    expected = _penalty(critic, real, fake, alpha, (1, 2, 3))
    got = _float(gradient_penalty(critic, real, fake, alpha))
    if np.isclose(got, expected, rtol=1e-4):
        print("gradient_penalty: correct.")
        return
    if np.isclose(got, _penalty(critic, real, fake, alpha, (3,)), rtol=1e-4):
        raise ExerciseError("the norm must run over every axis but the batch: axis=(1, 2, 3), not just the last.")
    if np.isclose(got, _penalty(critic, real, fake, 1.0, (1, 2, 3)), rtol=1e-4):
        raise ExerciseError(
            "the gradient is taken at the fake excerpts only: evaluate it at real + alpha * (fake - real)."
        )
    raise ExerciseError(f"got {got:.5f}, expected {expected:.5f}: the mean over the batch of (||grad|| - 1) ** 2.")


@exercise_check
def check_empty_bar_rate(empty_bar_rate: Callable) -> None:
    """Check ``empty_bar_rate(roll, steps_per_bar) -> float`` on lopsided rolls.

    Notebook: 07_gan_pianoroll
    """
    roll = np.zeros((16, 88), dtype=bool)
    roll[5, 40] = True  # one note, in bar 2 of 4
    before = roll.copy()
    got = float(empty_bar_rate(roll, 4))
    if not (roll == before).all():
        raise ExerciseError("empty_bar_rate changed its input roll: compute on a copy, or without assigning into it.")
    if got == 0.25:
        raise ExerciseError(
            "1 of 4 bars has a note, so 3 of 4 are empty: 0.75. You returned the share of non-empty bars."
        )
    if got != 0.75:
        raise ExerciseError(f"1 of 4 bars has a note: the empty-bar rate is 0.75, you returned {got}.")
    for case in (np.zeros((8, 88), bool), np.ones((8, 88), bool), roll[:14]):
        if not np.isclose(float(empty_bar_rate(case, 4)), metrics.empty_bar_rate(case, 4)):
            raise ExerciseError(
                f"a roll of {len(case)} steps should give {metrics.empty_bar_rate(case, 4)} (whole bars only)."
            )
    print("empty_bar_rate: correct.")
