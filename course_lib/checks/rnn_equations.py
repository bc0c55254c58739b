"""Checks for the exercises of notebook 03: the RNN step, its loss and its backward pass.

Notebook: 03_rnn_equations
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import rnn_numpy as rn
from course_lib.checks.hints import RNG_SEED, ExerciseError, exercise_check, random_problem, shape_hint


@exercise_check
def check_rnn_step(rnn_step: Callable) -> None:
    """Check ``rnn_step(x_t, h_prev, W, U, b) -> h_t``.

    Notebook: 03_rnn_equations
    """
    x_t, h_prev, _, W, U, b = random_problem()
    expected = rn.rnn_step(x_t, h_prev, W, U, b)
    got = np.asarray(rnn_step(x_t, h_prev, W, U, b))
    shape_hint(got, expected, "h_t")
    if np.allclose(got, expected, atol=1e-8):
        print("rnn_step: correct.")
        return
    if np.allclose(got, np.tanh(x_t @ W + h_prev @ U), atol=1e-8):
        raise ExerciseError("h_t is off by the bias: add b inside the tanh.")
    if np.allclose(got, x_t @ W + h_prev @ U + b, atol=1e-8):
        raise ExerciseError("h_t has no activation: wrap the sum in np.tanh.")
    if np.allclose(got, rn.sigmoid(x_t @ W + h_prev @ U + b), atol=1e-8):
        raise ExerciseError("the plain RNN uses tanh, not the sigmoid.")
    if np.allclose(got, np.tanh(x_t @ W + h_prev @ U.T + b), atol=1e-8):
        raise ExerciseError("U is transposed: the recurrent term is h_prev @ U.")
    raise ExerciseError("h_t differs from tanh(x_t @ W + h_prev @ U + b).")


@exercise_check
def check_rnn_step_backward(rnn_step_backward: Callable) -> None:
    """Check ``rnn_step_backward(dh, x_t, h_prev, h, W, U) -> (dx, dh_prev, dW, dU, db)``.

    Notebook: 03_rnn_equations
    """
    x_t, h_prev, _, W, U, b = random_problem()
    h = rn.rnn_step(x_t, h_prev, W, U, b)
    dh = np.random.default_rng(RNG_SEED + 1).normal(size=h.shape)
    da = dh * (1 - h**2)  # for the hints below
    names = ("dx", "dh_prev", "dW", "dU", "db")
    expected = dict(zip(names, rn.rnn_step_backward(dh, x_t, h_prev, h, W, U), strict=True))
    got = dict(zip(expected, rnn_step_backward(dh, x_t, h_prev, h, W, U), strict=True))
    for name, want in expected.items():
        value = np.asarray(got[name])
        if value.shape != want.shape:
            hint = " Transpose one factor: a gradient has the shape of the thing it is the gradient of."
            raise ExerciseError(f"{name} has shape {value.shape}, expected {want.shape}.{hint}")
        if np.allclose(value, want, atol=1e-8):
            continue
        no_tanh = {"dx": dh @ W.T, "dh_prev": dh @ U.T, "dW": x_t.T @ dh, "dU": h_prev.T @ dh, "db": dh.sum(axis=0)}[
            name
        ]
        if np.allclose(value, no_tanh, atol=1e-8):
            raise ExerciseError(f"{name}: go through the tanh first: da = dh * (1 - h**2).")
        if np.allclose(value, -want, atol=1e-8):
            raise ExerciseError(f"{name} has the wrong sign.")
        if name == "dU" and np.allclose(value, h.T @ da, atol=1e-8):
            raise ExerciseError("dU multiplies by the *previous* state h_prev, the one U acted on.")
        raise ExerciseError(f"{name} differs from the expected gradient.")
    print("rnn_step_backward: all five gradients correct.")


@exercise_check
def check_softmax_cross_entropy(softmax_cross_entropy: Callable) -> None:
    """Check ``softmax_cross_entropy(logits, targets) -> (mean loss, dlogits)``.

    Notebook: 03_rnn_equations
    """
    rng = np.random.default_rng(RNG_SEED)
    logits = rng.normal(size=(5, 6)) * 3
    targets = np.array([0, 5, 2, 2, 1])
    loss, grad = rn.softmax_cross_entropy(logits, targets)
    p = grad * len(targets)  # softmax minus one-hot, for the hints below
    p[np.arange(len(targets)), targets] += 1
    got_loss, got_grad = softmax_cross_entropy(logits, targets)
    if not np.isclose(got_loss, loss):
        hint = " Average over the rows (the time steps), do not sum." if np.isclose(got_loss, loss * 5) else ""
        raise ExerciseError(f"loss {float(got_loss):.4f}, expected {loss:.4f}.{hint}")
    got_grad = np.asarray(got_grad)
    if np.allclose(got_grad, grad * 5):
        raise ExerciseError(
            "dlogits is 5 times too big: the loss is a mean, so divide the gradient by the number of rows."
        )
    if np.allclose(got_grad, p / 5) or np.allclose(got_grad, p):
        raise ExerciseError("dlogits = softmax - one_hot(target): subtract 1 at each row's target.")
    if not np.allclose(got_grad, grad):
        raise ExerciseError("dlogits differs from (softmax(logits) - one_hot(targets)) / n_rows.")
    big = softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([0]))[0]
    if not np.isfinite(big):
        raise ExerciseError("a logit of 1000 overflows: subtract each row's maximum before np.exp.")
    print("softmax_cross_entropy: loss and gradient correct, and stable for large logits.")
