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
from course_lib.sampling import STEP_BUCKET, categorical_from_uniform, filter_logits_ops, made_key_loop


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


class FrameWindowLoop(keras.Model):
    """``call((window, filled, uniforms, temperature))``: the drawn frames ``(steps, keys)``, one per row of uniforms.

    The piano-roll counterpart of :class:`WindowLoop` for :func:`course_lib.transformer.transformer_made`:
    ``window`` ``(1, max_length, keys)`` holds the frames so far in its first ``filled`` rows; the
    blocks give the context of the last one, and the MADE fills the next frame key by key, as
    the LSTM-MADE's sampler does (:func:`course_lib.sampling.made_key_loop`).
    """

    def __init__(self, model: keras.Model) -> None:
        super().__init__(name=f"{model.name}_frame_loop")
        self.source = model
        self.context = keras.Model(model.inputs[0], model.get_layer("context").output)  # frames -> MADE context
        self.built = True
        if autodiff.compiles_loops():
            self.jit_compile = True

    def call(self, inputs):
        window, filled, uniforms, temperature = inputs
        length = ops.shape(window)[1]
        made = self.source.get_layer("made")

        def one(step, carry):
            window, filled, drawn = carry
            contexts = self.context(window, training=False)[0]  # (max_length, context size)
            last = ops.take(contexts, ops.minimum(filled, length) - 1, axis=0)[None, :]
            frame = made_key_loop(made, last, uniforms[step], temperature)[None, None, :]
            slid = ops.concatenate([window[:, 1:], frame], axis=1)
            placed = ops.where((ops.arange(length) == filled)[None, :, None], frame, window)
            window = ops.where(filled < length, placed, slid)
            drawn = ops.slice_update(drawn, (step, 0), frame[0])
            return window, ops.minimum(filled + 1, length), drawn

        start = (ops.cast(window, "float32"), ops.cast(filled, "int32"), ops.zeros_like(uniforms))
        return ops.fori_loop(0, ops.shape(uniforms)[0], one, start)[2]


@functools.lru_cache(maxsize=8)
def frame_window_loop(model: keras.Model) -> FrameWindowLoop:
    """The model's :class:`FrameWindowLoop`, made once (for the 8 models used last)."""
    return FrameWindowLoop(model)


def attend_one(attention, x, position, keys, values):
    """:class:`~course_lib.transformer.RelativeSelfAttention` for the newest position only, with a key/value cache.

    ``x`` ``(1, features)`` is the input at ``position``; ``keys`` and ``values``
    ``(1, heads, max_length, key_dim)`` hold those of the earlier positions. Returns the output
    ``(1, features)`` and the caches with this position's key and value written in: one query
    against the cached keys, where the layer itself recomputes every position's.

    Notebook: 11_attention
    """
    q, k, v = (
        ops.einsum("bf,fhd->bhd", x, kernel) + bias[None]
        for kernel, bias in (
            (attention.query_kernel, attention.query_bias),
            (attention.key_kernel, attention.key_bias),
            (attention.value_kernel, attention.value_bias),
        )
    )
    keys = ops.slice_update(keys, (0, 0, position, 0), k[:, :, None, :])
    values = ops.slice_update(values, (0, 0, position, 0), v[:, :, None, :])
    scores = ops.einsum("bhd,bhjd->bhj", q, keys)
    length = attention.max_length
    key_position = ops.arange(length)
    if attention.relative:  # key j is j - position away: the layer's row (max_length - 1) + j - position
        rows = ops.clip(key_position + (length - 1) - position, 0, length - 1)
        scores = scores + ops.einsum("bhd,hjd->bhj", q, ops.take(attention.distances, rows, axis=1))
    scores = scores / float(np.sqrt(attention.key_dim))
    weights = ops.softmax(ops.where((key_position <= position)[None, None], scores, -1e9), axis=-1)
    attended = ops.einsum("bhj,bhjd->bhd", weights, values)
    return ops.einsum("bhd,hdf->bf", attended, attention.output_kernel) + attention.output_bias, keys, values


def block_one(block, x, position, keys, values):
    """:class:`~course_lib.transformer.DecoderBlock` for the newest position only (see :func:`attend_one`).

    Notebook: 11_attention
    """
    attended, keys, values = attend_one(block.attention, block.attention_norm(x), position, keys, values)
    x = x + attended
    return x + block.contract(block.expand(block.feed_forward_norm(x))), keys, values


class CachedFrameLoop(keras.Model):
    """:class:`FrameWindowLoop` with a key/value cache: the drawn frames, each costing one position, not the window.

    ``call((window, filled, uniforms, temperature))`` as :class:`FrameWindowLoop`; the primer's
    ``filled`` frames go through the blocks one at a time to fill the caches, then each drawn
    frame is added at the next position. Every position must fit in ``max_length``
    (:func:`generate_transformer_frames` falls back to the window loop where it does not).
    """

    def __init__(self, model: keras.Model) -> None:
        super().__init__(name=f"{model.name}_cached_loop")
        self.source = model
        self.blocks = [layer for layer in model.layers if layer.name.startswith("block_")]
        self.built = True
        if autodiff.compiles_loops():
            self.jit_compile = True

    def context(self, position, frame, caches):
        """The MADE's context after ``frame`` ``(1, keys)`` at ``position``, and the updated caches."""
        x = self.source.get_layer("frame_embedding")(frame)
        if any(layer.name == "positions" for layer in self.source.layers):  # absolute codes
            x = x + ops.take(self.source.get_layer("positions").codes, position, axis=0)[None]
        updated = []
        for block, (keys, values) in zip(self.blocks, caches, strict=True):
            x, keys, values = block_one(block, x, position, keys, values)
            updated.append((keys, values))
        return ops.concatenate([self.source.get_layer("final_norm")(x), frame], axis=-1), updated

    def call(self, inputs):
        window, filled, uniforms, temperature = inputs
        window, filled = ops.cast(window, "float32"), ops.cast(filled, "int32")
        made = self.source.get_layer("made")
        shape = [(1, b.attention.heads, b.attention.max_length, b.attention.key_dim) for b in self.blocks]
        caches = [(ops.zeros(size), ops.zeros(size)) for size in shape]
        context = ops.zeros((1, self.source.get_layer("final_norm").output.shape[-1] + ops.shape(window)[-1]))

        def read(position, carry):  # the primer's frames, through the caches
            return self.context(position, ops.take(window, position, axis=1), carry[1])

        context, caches = ops.fori_loop(0, filled, read, (context, caches))

        def one(step, carry):
            context, caches, drawn = carry
            frame = made_key_loop(made, context, uniforms[step], temperature)[None, :]
            drawn = ops.slice_update(drawn, (step, 0), frame)
            context, caches = self.context(filled + step, frame, caches)
            return context, caches, drawn

        return ops.fori_loop(0, ops.shape(uniforms)[0], one, (context, caches, ops.zeros_like(uniforms)))[2]


@functools.lru_cache(maxsize=8)
def cached_frame_loop(model: keras.Model) -> CachedFrameLoop:
    """The model's :class:`CachedFrameLoop`, made once (for the 8 models used last)."""
    return CachedFrameLoop(model)


def generate_transformer_frames(
    model: keras.Model, primer: np.ndarray, steps: int, temperature: float = 1.0, seed: int = 0, cache: bool = True
) -> np.ndarray:
    """Continue a piano roll ``primer`` ``(time, keys)`` by ``steps`` frames from a Transformer-MADE, in one call.

    The same arguments, seeding and result as :func:`course_lib.sampling.generate_frames`. With
    ``cache`` (and while primer and new frames fit in the model's ``max_length``) each frame costs
    one position through the blocks (:class:`CachedFrameLoop`); else the whole window is read
    again for every frame (:class:`FrameWindowLoop`). Both draw the same frames.

    Notebook: 11_attention
    """
    primer = np.asarray(primer, dtype=bool)
    if primer.ndim != 2 or len(primer) == 0:
        raise ValueError(f"the primer must be a (time, keys) roll with at least one frame, got shape {primer.shape}")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    length, keys = context_length(model), primer.shape[1]
    context = primer[-length:]
    window = np.zeros((1, length, keys), "float32")
    window[0, : len(context)] = context
    uniforms = ops.convert_to_numpy(keras.random.uniform((steps, keys), seed=seed))
    rounded = steps + (-steps % STEP_BUCKET if autodiff.compiles_loops() else 0)
    loop = cached_frame_loop(model) if cache and len(context) + rounded <= length else frame_window_loop(model)
    if loop.jit_compile:  # compiled for each number of steps: round it up, so that few are compiled
        uniforms = np.pad(uniforms, ((0, rounded - steps), (0, 0)))
    drawn = loop.predict_on_batch((window, np.array(len(context), "int32"), uniforms, np.array(temperature, "float32")))
    return np.concatenate([primer, np.asarray(drawn[:steps]) > 0.5])


def generate_roll(model: keras.Model, primer: np.ndarray, steps: int, temperature: float = 1.0, seed: int = 0):
    """Continue a piano roll with any frame model: the LSTMs carrying their state, or the Transformer-MADE.

    The recipes' ``generate`` and copy check call this, so the command line treats them alike.
    """
    from course_lib.sampling import generate_frames

    if any(layer.name == "lstm" for layer in model.layers):
        return generate_frames(model, primer, steps, temperature, seed)
    return generate_transformer_frames(model, primer, steps, temperature, seed)
