"""Generating melody tokens from a Transformer: a sliding window, the whole loop compiled into one call.

A Transformer has no state to carry (the LSTM's ``(h, c)``, :mod:`course_lib.sampling`): each new
token reads the context again, at most the ``max_length`` tokens the model was trained on. The
context is kept in a window of that fixed size, filled from the left and then slid, so one compiled
function serves every step; the causal mask makes the empty places to the right harmless. Notebook
11 writes the same loop in Python, one call per token; here ``keras.ops.fori_loop`` runs all the
steps, sampling included, in one call, as the LSTM's generator does.

Notebook: 11_attention
"""

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import ops

from course_lib import autodiff
from course_lib.sampling import STEP_BUCKET, categorical_from_uniform, filter_logits_ops


def context_length(model: keras.Model) -> int:
    """The longest context a Transformer reads: its attention layers' ``max_length``.

    Notebook: 11_attention
    """
    lengths = {layer.max_length for layer in model.layers if hasattr(layer, "max_length")}
    if len(lengths) != 1:
        raise ValueError(f"{model.name} is not one of the course's Transformers (no single max_length)")
    return lengths.pop()


class WindowLoop(keras.Model):
    """``call((window, filled, uniforms, temperature, top_k, top_p))``: the drawn tokens, one per uniform.

    ``window`` ``(1, max_length)`` holds the context in its first ``filled`` places. A
    ``keras.Model`` so that ``predict_on_batch`` compiles it for the running backend; it adds no
    weights of its own.
    """

    def __init__(self, model: keras.Model) -> None:
        super().__init__(name=f"{model.name}_loop")
        self.source = model
        self.built = True
        if autodiff.compiles_loops():
            self.jit_compile = True

    def call(self, inputs):
        window, filled, uniforms, temperature, top_k, top_p = inputs
        length = ops.shape(window)[1]

        def one(step, carry):
            window, filled, drawn = carry
            logits = self.source(window, training=False)[0]  # (max_length, vocabulary)
            last = ops.take(logits, ops.minimum(filled, length) - 1, axis=0)[None, :]
            token = categorical_from_uniform(filter_logits_ops(last, temperature, top_k, top_p), uniforms[step])
            token = ops.cast(token, "int32")
            slid = ops.concatenate([window[:, 1:], token[:, None]], axis=1)  # full: forget the oldest
            placed = ops.where(ops.arange(length)[None, :] == filled, token[:, None], window)  # not yet: append
            window = ops.where(filled < length, placed, slid)
            drawn = ops.slice_update(drawn, (step,), token)
            return window, ops.minimum(filled + 1, length), drawn

        steps = ops.shape(uniforms)[0]
        start = (ops.cast(window, "int32"), ops.cast(filled, "int32"), ops.zeros((steps,), "int32"))
        return ops.fori_loop(0, steps, one, start)[2]


@functools.lru_cache(maxsize=8)
def window_loop(model: keras.Model) -> WindowLoop:
    """The model's :class:`WindowLoop`, made once, so that it is compiled once (for the 8 models used last)."""
    return WindowLoop(model)


def generate_transformer_tokens(
    model: keras.Model,
    primer: list[int],
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
) -> list[int]:
    """Continue ``primer`` by ``steps`` tokens drawn from a Transformer, in one compiled call.

    The same options and seeding as :func:`course_lib.sampling.generate_tokens`.

    Notebook: 11_attention
    """
    if not primer:
        raise ValueError("the primer needs at least one token")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    length = context_length(model)
    context = np.asarray(primer[-length:], "int32")
    window = np.zeros((1, length), "int32")
    window[0, : len(context)] = context
    vocabulary = model.output_shape[-1]
    uniforms = ops.convert_to_numpy(keras.random.uniform((steps,), seed=seed))
    loop = window_loop(model)
    if loop.jit_compile:  # compiled for each number of steps: round it up, so that few are compiled
        uniforms = np.pad(uniforms, (0, -steps % STEP_BUCKET))
    drawn = loop.predict_on_batch(
        (
            window,
            np.array(len(context), "int32"),
            uniforms,
            np.array(temperature, "float32"),
            np.array(vocabulary if top_k is None else min(top_k, vocabulary), "int32"),
            np.array(2.0 if top_p is None else top_p, "float32"),
        )
    )
    return list(primer) + np.asarray(drawn[:steps]).astype(int).tolist()


def generate_melody_tokens(model: keras.Model, primer: list[int], steps: int, **options) -> list[int]:
    """Continue ``primer`` with either melody model: the LSTM carrying its state, or the Transformer.

    ``options`` are those of :func:`course_lib.sampling.generate_tokens`. The recipes' ``generate``
    and copy check call this, so the command line treats both models alike.
    """
    from course_lib.sampling import generate_tokens

    if any(layer.name == "lstm" for layer in model.layers):
        return generate_tokens(model, primer, steps, **options)
    return generate_transformer_tokens(model, primer, steps, **options)
