"""Check cells for the exercises of notebooks 03 (RNN) and 04 (LSTM), with targeted hints.

Notebook: 03_rnn_equations
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import rnn_numpy as rn
from course_lib.checks import ExerciseError

RNG_SEED = 7


def _problem(features=3, units=4, batch=2, gate_blocks=1):
    rng = np.random.default_rng(RNG_SEED)
    x_t = rng.normal(size=(batch, features))
    h_prev = rng.normal(size=(batch, units)) * 0.5
    c_prev = rng.normal(size=(batch, units)) * 0.5
    W = rng.normal(size=(features, gate_blocks * units)) * 0.5
    U = rng.normal(size=(units, gate_blocks * units)) * 0.5
    b = rng.normal(size=gate_blocks * units) * 0.5
    return x_t, h_prev, c_prev, W, U, b


def _shape_hint(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    got = np.asarray(got)
    if got.shape != expected.shape:
        hint = " Did you multiply in the wrong order? x_t has shape (batch, features) and W (features, units): x_t @ W."
        raise ExerciseError(f"{what} has shape {got.shape}, expected {expected.shape}.{hint}")


def check_rnn_step(rnn_step: Callable) -> None:
    """Check ``rnn_step(x_t, h_prev, W, U, b) -> h_t``.

    Notebook: 03_rnn_equations
    """
    x_t, h_prev, _, W, U, b = _problem()
    expected = rn.rnn_step(x_t, h_prev, W, U, b)
    got = np.asarray(rnn_step(x_t, h_prev, W, U, b))
    _shape_hint(got, expected, "h_t")
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


def check_rnn_step_backward(rnn_step_backward: Callable) -> None:
    """Check ``rnn_step_backward(dh, x_t, h_prev, h, W, U) -> (dx, dh_prev, dW, dU, db)``.

    Notebook: 03_rnn_equations
    """
    x_t, h_prev, _, W, U, b = _problem()
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


def check_lstm_step(lstm_step: Callable) -> None:
    """Check ``lstm_step(x_t, h_prev, c_prev, W, U, b) -> (h, c)`` in Keras's gate order i, f, g, o.

    Notebook: 04_lstm_equations
    """
    x_t, h_prev, c_prev, W, U, b = _problem(gate_blocks=4)
    want_h, want_c, _ = rn.lstm_step(x_t, h_prev, c_prev, W, U, b)
    result = lstm_step(x_t, h_prev, c_prev, W, U, b)
    got_h, got_c = (np.asarray(r) for r in result[:2])
    _shape_hint(got_h, want_h, "h")
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


def check_lstm_sequence(lstm_sequence: Callable) -> None:
    """Check ``lstm_sequence(x, W, U, b) -> (outputs, h_last, c_last)`` against the library's forward pass.

    Notebook: 04_lstm_equations
    """
    rng = np.random.default_rng(RNG_SEED)
    x = rng.normal(size=(2, 6, 3))
    _, _, _, W, U, b = _problem(gate_blocks=4)
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
