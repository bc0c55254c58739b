"""Shared helpers of the exercise checks: a passing line, array comparison with hints, a random problem."""

from __future__ import annotations

import numpy as np

from course_lib.exercises import ExerciseError, exercise_check

__all__ = ["ExerciseError", "all_pass", "compare_arrays", "exercise_check", "random_problem", "shape_hint"]


def all_pass(name: str, n_cases: int) -> None:
    """Say that every case of a check passed."""
    print(f"{name}: all {n_cases} cases pass.")


def compare_arrays(got, expected: np.ndarray, what: str) -> None:
    """Raise :class:`ExerciseError` with a targeted hint unless ``got`` equals ``expected``.

    Notebook: 02_representations
    """
    got_array = np.asarray(got)
    if got_array.shape != expected.shape:
        hint = ""
        if got_array.shape == expected.shape[::-1]:
            hint = " Did you transpose? Rows are time steps, columns are pitches."
        elif len(got_array.shape) == len(expected.shape):
            off = [g - e for g, e in zip(got_array.shape, expected.shape, strict=True)]
            if any(abs(o) == 1 for o in off):
                hint = " One axis is off by one: is the pitch range inclusive of `highest`?"
        raise ExerciseError(f"{what} has shape {got_array.shape}, expected {expected.shape}.{hint}")
    if not np.array_equal(got_array.astype(expected.dtype), expected):
        where = np.argwhere(got_array.astype(expected.dtype) != expected)[0]
        raise ExerciseError(
            f"{what} differs from the expected value first at index {tuple(int(i) for i in where)}: "
            f"got {got_array[tuple(where)]!r}, expected {expected[tuple(where)]!r}."
        )


RNG_SEED = 7


def random_problem(features=3, units=4, batch=2, gate_blocks=1):
    """A seeded ``(x_t, h_prev, c_prev, W, U, b)`` for checking an RNN or LSTM step (gate_blocks=4 for the LSTM)."""
    rng = np.random.default_rng(RNG_SEED)
    x_t = rng.normal(size=(batch, features))
    h_prev = rng.normal(size=(batch, units)) * 0.5
    c_prev = rng.normal(size=(batch, units)) * 0.5
    W = rng.normal(size=(features, gate_blocks * units)) * 0.5
    U = rng.normal(size=(units, gate_blocks * units)) * 0.5
    b = rng.normal(size=gate_blocks * units) * 0.5
    return x_t, h_prev, c_prev, W, U, b


def shape_hint(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Raise :class:`ExerciseError` with a hint about the order of a product when the shapes differ."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        hint = " Did you multiply in the wrong order? x_t has shape (batch, features) and W (features, units): x_t @ W."
        raise ExerciseError(f"{what} has shape {got.shape}, expected {expected.shape}.{hint}")
