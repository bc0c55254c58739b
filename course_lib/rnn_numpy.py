"""Recurrent cells in NumPy: a plain RNN and an LSTM, forward over a sequence and backward through time.

Weights use the layout of ``keras.layers.SimpleRNN`` and ``keras.layers.LSTM``, so a Keras
layer's ``get_weights()`` can be passed straight in and both give the same numbers:

- ``kernel`` ``W``: ``(features, units)`` (LSTM: ``(features, 4 * units)``)
- ``recurrent_kernel`` ``U``: ``(units, units)`` (LSTM: ``(units, 4 * units)``)
- ``bias`` ``b``: ``(units,)`` (LSTM: ``(4 * units,)``)

The LSTM's four blocks are in Keras's gate order: input ``i``, forget ``f``, candidate ``g``
(Keras calls it ``c``), output ``o``. Inputs are ``(batch, time, features)``.

Notebook: 03_rnn_equations
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, computed without overflow for large ``|z|``.

    Notebook: 04_lstm_equations
    """
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


# ---------------------------------------------------------------- plain RNN


def rnn_step(x_t: np.ndarray, h_prev: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One step of the plain RNN: ``tanh(x_t W + h_prev U + b)``.

    Notebook: 03_rnn_equations
    """
    return np.tanh(x_t @ W + h_prev @ U + b)


def rnn_step_backward(dh, x_t, h_prev, h, W, U):
    """Gradients of one RNN step given dLoss/dh (both paths added): ``(dx, dh_prev, dW, dU, db)``.

    Notebook: 03_rnn_equations
    """
    da = dh * (1.0 - h**2)  # through tanh
    return da @ W.T, da @ U.T, x_t.T @ da, h_prev.T @ da, da.sum(axis=0)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer ``targets`` under ``softmax(logits)``, and its gradient.

    Each row's maximum is subtracted before ``exp``, so large logits do not overflow.

    Notebook: 03_rnn_equations
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    rows = np.arange(len(targets))
    grad = p.copy()
    grad[rows, targets] -= 1
    return float(-np.log(p[rows, targets]).mean()), grad / len(targets)


def forget_product(f: np.ndarray) -> np.ndarray:
    """``g[t] = f[t+1] * ... * f[T-1]`` (``g[T-1] = 1``): the cell path's gain from step t to the last.

    Notebook: 04_lstm_equations
    """
    return np.append(np.cumprod(f[:0:-1])[::-1], 1.0)


@dataclass
class RNNCache:
    """What the backward pass needs from the forward pass."""

    x: np.ndarray
    hs: np.ndarray  # (batch, time + 1, units): h_0 .. h_T
    W: np.ndarray
    U: np.ndarray


def rnn_forward(x: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None):
    """Run ``h_t = tanh(x_t W + h_{t-1} U + b)`` over a sequence.

    Returns ``(outputs, cache)`` with ``outputs`` of shape ``(batch, time, units)``.

    Notebook: 03_rnn_equations
    """
    batch, steps, _ = x.shape
    units = U.shape[0]
    hs = np.zeros((batch, steps + 1, units), dtype=np.result_type(x, W))
    if h0 is not None:
        hs[:, 0] = h0
    for t in range(steps):
        hs[:, t + 1] = rnn_step(x[:, t], hs[:, t], W, U, b)
    return hs[:, 1:], RNNCache(x, hs, W, U)


def rnn_backward(d_outputs: np.ndarray, cache: RNNCache) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`rnn_forward`.

    ``d_outputs`` is dLoss/dh_t for every step, shape ``(batch, time, units)``. Returns the
    gradients ``x``, ``W``, ``U``, ``b`` and ``h0``.

    Notebook: 03_rnn_equations
    """
    x, hs, W, U = cache.x, cache.hs, cache.W, cache.U
    grads = {
        "x": np.zeros_like(x),
        "W": np.zeros_like(W),
        "U": np.zeros_like(U),
        "b": np.zeros(W.shape[1], dtype=W.dtype),
    }
    dh_next = np.zeros_like(hs[:, 0])
    for t in reversed(range(x.shape[1])):
        dh = d_outputs[:, t] + dh_next  # from the output at t and from step t + 1
        grads["x"][:, t], dh_next, dW, dU, db = rnn_step_backward(dh, x[:, t], hs[:, t], hs[:, t + 1], W, U)
        grads["W"] += dW
        grads["U"] += dU
        grads["b"] += db
    grads["h0"] = dh_next
    return grads


# ---------------------------------------------------------------- LSTM


@dataclass
class LSTMCache:
    """Per-step gate activations and states kept by the forward pass."""

    x: np.ndarray
    hs: np.ndarray  # (batch, time + 1, units)
    cs: np.ndarray  # (batch, time + 1, units)
    gates: np.ndarray  # (batch, time, 4, units): i, f, g, o after their activations
    W: np.ndarray
    U: np.ndarray


def lstm_step(x_t, h_prev, c_prev, W, U, b):
    """One LSTM step; returns ``(h, c, gates)`` with ``gates`` of shape ``(batch, 4, units)``.

    ``x_t`` is ``(batch, features)`` and the states ``(batch, units)``; without the batch axis
    (one sequence: ``(features,)`` and ``(units,)``) it works the same, as the harmoniser's
    sampler in notebook 09 uses it.

    .. math::
        i = \\sigma(z_i),\\ f = \\sigma(z_f),\\ g = \\tanh(z_g),\\ o = \\sigma(z_o),\\quad
        c_t = f \\odot c_{t-1} + i \\odot g,\\quad h_t = o \\odot \\tanh(c_t)

    where ``z = x_t W + h_{t-1} U + b`` split into four blocks.

    Notebook: 04_lstm_equations, 09_four_voices
    """
    units = h_prev.shape[-1]
    z = x_t @ W + h_prev @ U + b
    i = sigmoid(z[..., :units])
    f = sigmoid(z[..., units : 2 * units])
    g = np.tanh(z[..., 2 * units : 3 * units])
    o = sigmoid(z[..., 3 * units :])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, np.stack([i, f, g, o], axis=-2)


def lstm_forward(x, W, U, b, h0=None, c0=None, step: Callable = lstm_step):
    """Run an LSTM over ``x``; returns ``(outputs, (h_T, c_T), cache)``.

    ``step`` may be replaced (the notebook passes the student's own step function).

    Notebook: 04_lstm_equations
    """
    batch, steps, _ = x.shape
    units = U.shape[0]
    dtype = np.result_type(x, W)
    hs = np.zeros((batch, steps + 1, units), dtype=dtype)
    cs = np.zeros((batch, steps + 1, units), dtype=dtype)
    gates = np.zeros((batch, steps, 4, units), dtype=dtype)
    if h0 is not None:
        hs[:, 0] = h0
    if c0 is not None:
        cs[:, 0] = c0
    for t in range(steps):
        hs[:, t + 1], cs[:, t + 1], gates[:, t] = step(x[:, t], hs[:, t], cs[:, t], W, U, b)
    return hs[:, 1:], (hs[:, -1], cs[:, -1]), LSTMCache(x, hs, cs, gates, W, U)


def lstm_backward(d_outputs, cache: LSTMCache, dh_last=None, dc_last=None) -> dict[str, np.ndarray]:
    """Backpropagation through time for :func:`lstm_forward`.

    ``d_outputs``: dLoss/dh_t, ``(batch, time, units)``; ``dh_last``, ``dc_last``: extra
    gradients on the final states. Returns gradients ``x``, ``W``, ``U``, ``b``, ``h0``, ``c0``.

    Notebook: 04_lstm_equations
    """
    x, hs, cs, gates, W, U = cache.x, cache.hs, cache.cs, cache.gates, cache.W, cache.U
    grads = {
        "x": np.zeros_like(x),
        "W": np.zeros_like(W),
        "U": np.zeros_like(U),
        "b": np.zeros(W.shape[1], dtype=W.dtype),
    }
    dh_next = np.zeros_like(hs[:, 0]) if dh_last is None else dh_last.copy()
    dc_next = np.zeros_like(cs[:, 0]) if dc_last is None else dc_last.copy()
    for t in reversed(range(x.shape[1])):
        i, f, g, o = (gates[:, t, k] for k in range(4))
        tanh_c = np.tanh(cs[:, t + 1])
        dh = d_outputs[:, t] + dh_next
        dc = dc_next + dh * o * (1.0 - tanh_c**2)
        dz = np.concatenate(
            [
                dc * g * i * (1.0 - i),  # input gate, through its sigmoid
                dc * cs[:, t] * f * (1.0 - f),  # forget gate
                dc * i * (1.0 - g**2),  # candidate, through tanh
                dh * tanh_c * o * (1.0 - o),  # output gate
            ],
            axis=1,
        )
        grads["W"] += x[:, t].T @ dz
        grads["U"] += hs[:, t].T @ dz
        grads["b"] += dz.sum(axis=0)
        grads["x"][:, t] = dz @ W.T
        dh_next = dz @ U.T
        dc_next = dc * f
    grads["h0"], grads["c0"] = dh_next, dc_next
    return grads


# ---------------------------------------------------------------- checking gradients


def numerical_gradient(loss: Callable[[], float], param: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(L(p + eps) - L(p - eps)) / 2 eps`` for every entry of ``param``.

    ``param`` is changed in place while ``loss()`` is evaluated, then restored.

    Use float64: in float32 the rounding error swamps the difference.

    Notebook: 03_rnn_equations
    """
    grad = np.zeros_like(param)
    for index in np.ndindex(param.shape):
        original = param[index]
        param[index] = original + eps
        plus = loss()
        param[index] = original - eps
        minus = loss()
        param[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(|a|, |b|)``, elementwise maximum; 0 when both are zero.

    Notebook: 03_rnn_equations
    """
    scale = np.maximum(np.abs(a), np.abs(b)).max()
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)
