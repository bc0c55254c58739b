"""Checks for the exercises of notebook 04: the LSTM step, a sequence, the forget-gate product.

Notebook: 04_lstm_equations
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import rnn_numpy as rn
from course_lib.checks.hints import RNG_SEED, ExerciseError, exercise_check, random_problem, shape_hint


@exercise_check
def check_lstm_step(lstm_step: Callable) -> None:
    """Check ``lstm_step(x_t, h_prev, c_prev, W, U, b) -> (h, c)`` in Keras's gate order i, f, g, o.

    Notebook: 04_lstm_equations
    """
    x_t, h_prev, c_prev, W, U, b = random_problem(gate_blocks=4)
    want_h, want_c, _ = rn.lstm_step(x_t, h_prev, c_prev, W, U, b)
    result = lstm_step(x_t, h_prev, c_prev, W, U, b)
    got_h, got_c = (np.asarray(r) for r in result[:2])
    shape_hint(got_h, want_h, "h")
    if np.allclose(got_h, want_h, atol=1e-8) and np.allclose(got_c, want_c, atol=1e-8):
        print("lstm_step: h and c correct.")
        return
    n = h_prev.shape[1]

    def variant(order=(0, 1, 2, 3), bias=True):
        blocks = np.concatenate([np.arange(k * n, (k + 1) * n) for k in order])
        return rn.lstm_step(x_t, h_prev, c_prev, W[:, blocks], U[:, blocks], b[blocks] if bias else 0 * b)

    if np.allclose(got_c, variant((1, 0, 2, 3))[1], atol=1e-8):
        raise ExerciseError("the input and forget gates are swapped: Keras's order is i, f, g (candidate), o.")
    if np.allclose(got_c, variant((0, 1, 3, 2))[1], atol=1e-8) or np.allclose(
        got_h, variant((0, 1, 3, 2))[0], atol=1e-8
    ):
        raise ExerciseError("the candidate and output blocks are swapped: the order is i, f, g, o.")
    if np.allclose(got_h, variant(bias=False)[0], atol=1e-8):
        raise ExerciseError("the bias is missing: z = x_t @ W + h_prev @ U + b.")
    if np.allclose(got_c, want_c, atol=1e-8):
        raise ExerciseError("c is right but h is not: h = o * tanh(c), with the *new* c.")
    raise ExerciseError("h and c differ from the LSTM equations; print each gate and compare with the formulas.")


@exercise_check
def check_forget_product(forget_product: Callable) -> None:
    """Check ``forget_product(f) -> g`` with ``g[t] = f[t + 1] * ... * f[T - 1]`` (``g[T - 1] = 1``).

    Notebook: 04_lstm_equations
    """
    f = np.array([0.5, 0.9, 0.2, 0.99, 0.8])
    expected = np.array([0.9 * 0.2 * 0.99 * 0.8, 0.2 * 0.99 * 0.8, 0.99 * 0.8, 0.8, 1.0])
    got = np.asarray(forget_product(f), dtype=float)
    if got.shape != expected.shape:
        raise ExerciseError(f"expected one value per step, shape {expected.shape}; got {got.shape}.")
    if np.allclose(got, expected):
        print("forget_product: correct.")
        return
    if np.allclose(got, np.cumprod(f)):
        raise ExerciseError("this multiplies from the start; the gradient flows backwards from the last step.")
    if np.allclose(got, np.cumprod(f[::-1])[::-1]):
        raise ExerciseError(
            "off by one: c_t reaches c_T through the forget gates of steps t+1 .. T-1, not step t's own."
        )
    raise ExerciseError(f"expected {np.round(expected, 4).tolist()}, got {np.round(got, 4).tolist()}.")


@exercise_check
def check_lstm_sequence(lstm_sequence: Callable) -> None:
    """Check ``lstm_sequence(x, W, U, b) -> (outputs, h_last, c_last)`` against the library's forward pass.

    Notebook: 04_lstm_equations
    """
    rng = np.random.default_rng(RNG_SEED)
    x = rng.normal(size=(2, 6, 3))
    _, _, _, W, U, b = random_problem(gate_blocks=4)
    want_out, (want_h, want_c), cache = rn.lstm_forward(x, W, U, b)
    got_out, got_h, got_c = (np.asarray(r) for r in lstm_sequence(x, W, U, b))
    if got_out.shape != want_out.shape:
        hint = " Stack the states on axis 1: (batch, time, units)." if got_out.shape == (6, 2, 4) else ""
        raise ExerciseError(f"outputs have shape {got_out.shape}, expected {want_out.shape}.{hint}")
    if np.allclose(got_out, cache.hs[:, :-1]):
        raise ExerciseError("off by one: output t is the state *after* reading x_t, not before.")
    if not np.allclose(got_out, want_out):
        raise ExerciseError("outputs differ: carry both h and c from each step to the next, starting from zeros.")
    if not (np.allclose(got_h, want_h) and np.allclose(got_c, want_c)):
        raise ExerciseError("the outputs are right but the final states are not: return the last h and the last c.")
    print("lstm_sequence: outputs and final states correct.")
