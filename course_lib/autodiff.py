"""Gradients by the running Keras backend's automatic differentiation, to check hand-written backward passes.

Keras 3 has no backend-neutral ``grad``: each backend differentiates in its own way (TensorFlow
records a ``GradientTape``, JAX transforms a pure function with ``jax.grad``, PyTorch follows the
tensors that ``requires_grad``). :func:`layer_gradients` has the three, a few lines each.

Notebook: 04_lstm_equations
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np


def layer_gradients(layer: keras.layers.Layer, x: np.ndarray, loss: Callable) -> list[np.ndarray]:
    """``d loss(layer(x)) / d x`` and ``d ... / d w`` for each of ``layer.trainable_variables``, as NumPy arrays.

    ``loss`` takes the layer's outputs and returns a scalar, in ``keras.ops``.

    Notebook: 04_lstm_equations
    """
    backend = keras.backend.backend()
    x = keras.ops.convert_to_tensor(x)
    if backend == "tensorflow":
        import tensorflow as tf

        x_variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = loss(layer(x_variable))
        gradients = tape.gradient(value, [x_variable, *layer.trainable_variables])
    elif backend == "jax":
        import jax

        non_trainable = [weight.value for weight in layer.non_trainable_variables]

        def value(x, trainable):  # a pure function of the input and the weights: what jax.grad differentiates
            outputs, _ = layer.stateless_call(trainable, non_trainable, x)
            return loss(outputs)

        x_gradient, weight_gradients = jax.grad(value, argnums=(0, 1))(
            x, [weight.value for weight in layer.trainable_variables]
        )
        gradients = [x_gradient, *weight_gradients]
    elif backend == "torch":
        import torch

        x.requires_grad_(True)
        weights = [weight.value for weight in layer.trainable_variables]  # torch parameters: they require grad
        gradients = torch.autograd.grad(loss(layer(x)), [x, *weights])
    else:
        raise NotImplementedError(f"no gradients for the Keras backend {backend!r}")
    return [keras.ops.convert_to_numpy(gradient) for gradient in gradients]
