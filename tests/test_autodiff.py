"""course_lib.autodiff: gradients by the running backend, and the one module that asks which backend runs."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np

import course_lib
from course_lib import autodiff

PACKAGE = Path(course_lib.__file__).parent
ASKS = re.compile(r"keras\.backend\.backend\(\)|keras\.config\.backend\(\)")
# notebook 07's lesson code: the TensorFlow train_step needs `tf`, imported only under TensorFlow
LESSON_CODE = 'if keras.backend.backend() == "tensorflow":\n    import tensorflow as tf\n'


def test_only_autodiff_asks_which_backend_runs():
    """Besides the lesson code, every backend check is in autodiff (tools/runner.py reads the
    KERAS_BACKEND a notebook subprocess will get, which is choosing the backend, not asking)."""
    asking = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if path.name == "gan.py":
            assert text.count(LESSON_CODE) == 1
            text = text.replace(LESSON_CODE, "")
        if ASKS.search(text):
            asking[path.relative_to(PACKAGE).as_posix()] = len(ASKS.findall(text))
    assert list(asking) == ["autodiff.py"]


def test_layer_gradients_match_the_gradients_of_a_dense_layer_by_hand():
    layer = keras.layers.Dense(3, use_bias=True)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    layer.build(x.shape)
    target = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
    gradients = autodiff.layer_gradients(layer, x, lambda y: keras.ops.sum(keras.ops.multiply(y, target)))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    # loss = sum(target * (x @ W + b)): d/dx = target @ W.T, d/dW = x.T @ target, d/db = column sums of target
    np.testing.assert_allclose(gradients[0], target @ kernel.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradients[1], x.T @ target, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradients[2], target.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_input_gradient_of_a_quadratic_is_twice_the_input():
    x = keras.ops.convert_to_tensor(np.arange(6, dtype="float32").reshape(2, 3))
    gradient = autodiff.input_gradient(lambda v: keras.ops.sum(v * v, axis=-1), x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gradient), 2 * np.arange(6).reshape(2, 3), rtol=1e-6)


def test_the_backend_settings_agree_with_the_running_backend():
    backend = keras.backend.backend()
    assert autodiff.backend_version().split()[0] == backend
    assert autodiff.steps_per_call() == (8 if backend == "tensorflow" else 1)
    assert autodiff.compiles_loops() == (backend != "torch")
    assert (autodiff.train_step_class() is None) == (backend == "tensorflow")
