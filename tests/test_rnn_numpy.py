"""The NumPy RNN and LSTM give Keras's numbers, forward and backward, and a wrong cell is caught.

The backward passes are compared with the running Keras backend's autodiff (TensorFlow, JAX or PyTorch).
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import rnn_numpy as rn
from course_lib.autodiff import layer_gradients

keras = pytest.importorskip("keras")

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype(np.float32)


def keras_layer(kind: str, seed: int = 1):
    keras.utils.set_random_seed(seed)
    layer_class = keras.layers.LSTM if kind == "lstm" else keras.layers.SimpleRNN
    layer = layer_class(UNITS, return_sequences=True, return_state=True)
    layer.build((None, None, FEATURES))
    kernel, recurrent, bias = layer.get_weights()
    # a non-zero bias, different per gate, so a wrong bias block or gate order shows
    bias = np.random.default_rng(seed).normal(scale=0.5, size=bias.shape).astype(np.float32)
    layer.set_weights([kernel, recurrent, bias])
    return layer, (kernel, recurrent, bias)


def swap_input_and_forget(step):
    def wrong_step(x_t, h, c, W, U, b):
        n = h.shape[-1]
        order = np.r_[n : 2 * n, 0:n, 2 * n : 4 * n]
        return step(x_t, h, c, W[:, order], U[:, order], b[order])

    return wrong_step


def test_lstm_forward_equals_keras(x):
    layer, (W, U, b) = keras_layer("lstm")
    keras_out, keras_h, keras_c = (keras.ops.convert_to_numpy(t) for t in layer(x))
    out, (h, c), _ = rn.lstm_forward(x, W, U, b)
    assert out.dtype == np.float32
    assert np.abs(out - keras_out).max() <= 1e-5
    assert np.abs(h - keras_h).max() <= 1e-5 and np.abs(c - keras_c).max() <= 1e-5


def test_a_step_without_a_batch_axis_is_one_row_of_the_batched_step(x):
    """The harmoniser's sampler (notebook 09) steps one sequence at a time, with no batch axis."""
    _, (W, U, b) = keras_layer("lstm")
    h, c = np.random.default_rng(3).normal(size=(2, BATCH, UNITS))
    batched = rn.lstm_step(x[:, 0], h, c, W, U, b)
    for row in range(BATCH):
        single = rn.lstm_step(x[row, 0], h[row], c[row], W, U, b)
        for one, many in zip(single, batched, strict=True):  # h, c and the gates (4, units)
            assert one.shape == many.shape[1:]
            np.testing.assert_allclose(one, many[row], rtol=1e-6, atol=1e-7)


def test_rnn_forward_equals_keras(x):
    layer, (W, U, b) = keras_layer("rnn")
    keras_out, keras_h = (keras.ops.convert_to_numpy(t) for t in layer(x))
    out, _ = rn.rnn_forward(x, W, U, b)
    assert np.abs(out - keras_out).max() <= 1e-5 and np.abs(out[:, -1] - keras_h).max() <= 1e-5


def test_a_cell_with_input_and_forget_gates_swapped_is_caught(x):
    layer, (W, U, b) = keras_layer("lstm")
    keras_out = keras.ops.convert_to_numpy(layer(x)[0])
    wrong, _, _ = rn.lstm_forward(x, W, U, b, step=swap_input_and_forget(rn.lstm_step))
    assert np.abs(wrong - keras_out).max() > 1e-2


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_bptt_gradients_equal_the_backends_autodiff(kind, x):
    layer, (W, U, b) = keras_layer(kind)
    weights_out = np.random.default_rng(2).normal(size=(BATCH, STEPS, UNITS)).astype(np.float32)
    expected = layer_gradients(layer, x, lambda outputs: keras.ops.sum(keras.ops.multiply(outputs[0], weights_out)))
    if kind == "lstm":
        _, _, cache = rn.lstm_forward(x, W, U, b)
        grads = rn.lstm_backward(weights_out, cache)
    else:
        _, cache = rn.rnn_forward(x, W, U, b)
        grads = rn.rnn_backward(weights_out, cache)
    for name, want in zip(("x", "W", "U", "b"), expected, strict=True):
        assert rn.relative_error(grads[name], want) <= 1e-4, name


def float64_problem(seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 5, 3))
    W, U, b = rng.normal(size=(3, 16)) * 0.5, rng.normal(size=(4, 16)) * 0.5, rng.normal(size=16) * 0.5
    h0, c0 = rng.normal(size=(2, 4)) * 0.5, rng.normal(size=(2, 4)) * 0.5
    weights_out = rng.normal(size=(2, 5, 4))
    return x, W, U, b, h0, c0, weights_out


def test_lstm_gradient_check_float64():
    x, W, U, b, h0, c0, weights_out = float64_problem()

    def loss():
        out, (_, c_last), _ = rn.lstm_forward(x, W, U, b, h0, c0)
        return float((out * weights_out).sum() + c_last.sum())

    _, _, cache = rn.lstm_forward(x, W, U, b, h0, c0)
    grads = rn.lstm_backward(weights_out, cache, dc_last=np.ones_like(c0))
    for name, param in {"x": x, "W": W, "U": U, "b": b, "h0": h0, "c0": c0}.items():
        assert rn.relative_error(grads[name], rn.numerical_gradient(loss, param)) <= 1e-6, name


def test_rnn_gradient_check_float64():
    x, W, U, b, h0, _, weights_out = float64_problem()
    W, U, b = W[:, :4], U[:, :4], b[:4]

    def loss():
        return float((rn.rnn_forward(x, W, U, b, h0)[0] * weights_out).sum())

    grads = rn.rnn_backward(weights_out, rn.rnn_forward(x, W, U, b, h0)[1])
    for name, param in {"x": x, "W": W, "U": U, "b": b, "h0": h0}.items():
        assert rn.relative_error(grads[name], rn.numerical_gradient(loss, param)) <= 1e-6, name


def test_gradient_check_catches_a_wrong_sign():
    x, W, U, b, h0, c0, weights_out = float64_problem()

    def loss():
        return float((rn.lstm_forward(x, W, U, b, h0, c0)[0] * weights_out).sum())

    grads = rn.lstm_backward(weights_out, rn.lstm_forward(x, W, U, b, h0, c0)[2])
    assert rn.relative_error(-grads["W"], rn.numerical_gradient(loss, W)) > 0.5


def test_sigmoid_is_stable_and_exact():
    z = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    with np.errstate(over="raise"):
        s = rn.sigmoid(z)
    assert s.tolist() == pytest.approx([0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1)), 1.0])


def test_layer_gradients_of_a_dense_layer_are_known():
    """For loss = sum(w_out * (x @ K + b)): d/dx = w_out @ K.T, d/dK = x.T @ w_out, d/db = sum of w_out."""
    keras.utils.set_random_seed(0)
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.trainable_weights)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    w_out = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)
    dx, dkernel, dbias = layer_gradients(layer, x, lambda y: keras.ops.sum(keras.ops.multiply(y, w_out)))
    np.testing.assert_allclose(dx, w_out @ kernel.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dkernel, x.T @ w_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dbias, w_out.sum(axis=0), rtol=1e-5, atol=1e-6)
