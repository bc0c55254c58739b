"""Generating music step by step from the course's LSTMs, carrying the recurrent state.

A trained model reads a whole sequence at once. To *generate*, we need one step at a time:
feed the last token (or frame), update the LSTM's state ``(h, c)``, turn the output into a
distribution, draw from it, repeat. Re-feeding the whole history at every step would redo all
earlier steps each time (quadratic); carrying the state makes each step cost the same.
``bench/sampling.py`` measures the difference.

Everything here is ``keras.ops`` and ``keras.random``, so it runs on every Keras backend. The
steps are compiled the way Keras compiles ``model.predict``: each step function is the ``call``
of a small ``keras.Model`` that reuses the trained model's layers, and ``predict_on_batch``
compiles it for the running backend (``tf.function`` under TensorFlow, ``jax.jit`` under JAX,
eager under PyTorch). Calling a compiled function from Python costs about a millisecond, so the
generators compile the whole loop of steps, sampling included, into one call
(``keras.ops.fori_loop``); ``Stepper.step`` and the NumPy samplers here are the same algorithm
one step at a time, for reading and for the exercises.

Notebook: 05_lstm_melody (tokens), 06_lstm_chorales (frames, MADE)
"""

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import ops

from course_lib import autodiff


def filter_logits(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None):
    """Probabilities from logits after temperature, top-k and top-p (nucleus) filtering.

    ``temperature`` < 1 sharpens the distribution, > 1 flattens it. ``top_k`` keeps the k most
    likely tokens; ``top_p`` keeps the smallest set of most likely tokens whose probabilities
    add up to at least ``p``. The rest get probability 0 and the remainder is renormalised.

    Notebook: 05_lstm_melody
    """
    if temperature <= 0:
        raise ValueError("temperature must be positive (use a small value such as 0.01 for near-greedy sampling)")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    probabilities = np.exp(scaled - scaled.max())
    probabilities /= probabilities.sum()
    keep = np.ones_like(probabilities, dtype=bool)
    order = np.argsort(-probabilities, kind="stable")
    if top_k is not None:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        keep[order[top_k:]] = False
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        cumulative = np.cumsum(probabilities[order])
        cut = int(np.searchsorted(cumulative, top_p - 1e-9)) + 1  # the smallest prefix reaching top_p (rounding aside)
        keep[order[cut:]] = False
    probabilities = np.where(keep, probabilities, 0.0)
    return probabilities / probabilities.sum()


def sample_token(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0, top_k=None, top_p=None) -> int:
    """One token drawn from filtered logits.

    Notebook: 05_lstm_melody
    """
    probabilities = filter_logits(logits, temperature, top_k, top_p)
    return int(rng.choice(len(probabilities), p=probabilities))


def sample_keys(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
    """Independent Bernoulli draws, one per key: ``sigmoid(logit / temperature)``."""
    probabilities = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / temperature))
    return rng.random(probabilities.shape) < probabilities


def filter_logits_ops(logits, temperature, top_k, top_p):
    """:func:`filter_logits` in ``keras.ops``, for the compiled loop: filtered logits, ``-inf`` where removed.

    ``logits`` is ``(batch, vocabulary)``. ``top_k`` equal to the vocabulary size and ``top_p``
    above 1 switch those filters off. As in :func:`filter_logits`, both filters look at the
    unfiltered probabilities, so together they keep the shorter of the two prefixes.

    Notebook: 05_lstm_melody
    """
    logits = ops.divide(ops.convert_to_tensor(logits, "float32"), temperature)
    ordered = ops.flip(ops.sort(logits, axis=-1), axis=-1)  # most likely first
    probabilities = ops.softmax(ordered, axis=-1)
    mass_before = ops.cumsum(probabilities, axis=-1) - probabilities
    kept = ops.sum(ops.cast(mass_before < top_p - 1e-9, "int32"), axis=-1)  # the smallest prefix reaching p
    kept = ops.clip(ops.minimum(kept, ops.cast(top_k, "int32")), 1, ops.shape(logits)[-1])
    threshold = ops.take_along_axis(ordered, (kept - 1)[:, None], axis=-1)
    return ops.where(logits < threshold, -np.inf, logits)


def categorical_from_uniform(logits, uniform):
    """A token per row of ``logits`` ``(batch, vocabulary)``, given one uniform draw in [0, 1) per row.

    Inverse-CDF sampling: the first token whose cumulative probability exceeds the draw, so a
    token with probability 0 (a ``-inf`` logit) is never drawn.
    """
    cumulative = ops.cumsum(ops.softmax(logits, axis=-1), axis=-1)
    below = ops.cast(cumulative <= ops.reshape(uniform, (-1, 1)) * cumulative[:, -1:], "int32")
    return ops.minimum(ops.sum(below, axis=-1), ops.shape(logits)[-1] - 1)


def made_key_loop(made, context, uniforms, temperature):
    """Fill one frame key by key, lowest first: key ``k`` is on when ``uniforms[k] < p(k | keys below, context)``.

    ``context`` is ``(1, context size)``; returns the frame ``(keys,)`` as 0.0/1.0. A
    ``keras.ops.fori_loop``, so inside a compiled function the keys become one loop.

    Notebook: 06_lstm_chorales
    """
    keys = made.keys

    def fill(key, frame):
        logit = ops.take(made([frame, context])[0], key) / temperature
        on = ops.cast(ops.take(uniforms, key) < ops.sigmoid(logit), "float32")
        return frame + on * ops.one_hot(key, keys)[None, :]

    return ops.fori_loop(0, keys, fill, ops.zeros((1, keys), "float32"))[0]


STEP_BUCKET = 64  # a compiled generation loop runs a multiple of this many steps (the extra ones are dropped)


class StepModel(keras.Model):
    """A trained model's own layers run one step (``call((value, h, c))``) or many (``call((output, h, c, ...))``).

    A ``keras.Model`` so that ``predict_on_batch`` compiles ``call`` for the running backend and
    hands it the current weights (under JAX the weights are arguments of the compiled function,
    so training the model further is seen by the next call). It adds no weights of its own.
    """

    def __init__(self, model: keras.Model, kind: str, loop: bool) -> None:
        super().__init__(name=f"{model.name}_{'loop' if loop else 'step'}")
        self.source, self.kind, self.loop = model, kind, loop
        self.built = True  # nothing to build: the source model is
        if loop and autodiff.compiles_loops():
            self.jit_compile = True  # XLA, also for TensorFlow on a CPU: about 6 times faster (bench/sampling.py)

    def step(self, inputs, h, c):
        """One LSTM step: ``(output, h, c)``, the output being logits (melody, chorale) or the MADE's context."""
        model = self.source
        x = model.get_layer("embedding")(inputs) if self.kind == "melody" else inputs
        output, (h, c) = model.get_layer("lstm").cell(x, [h, c], training=False)
        if self.kind == "melody":
            return model.get_layer("logits")(output), h, c
        if self.kind == "chorale":
            if any(layer.name == "deep_output" for layer in model.layers):
                output = model.get_layer("deep_output")(output)
            return model.get_layer("from_lstm")(output) + model.get_layer("from_frame")(inputs), h, c
        return ops.concatenate([output, inputs], axis=-1), h, c  # MADE: the context for the frame's keys

    def draw(self, output, uniforms, temperature, top_k, top_p):
        """The next token ``(1,)`` (melody) or frame ``(1, keys)`` from a step's output and this step's uniforms."""
        if self.kind == "melody":
            return ops.cast(
                categorical_from_uniform(filter_logits_ops(output, temperature, top_k, top_p), uniforms), "int32"
            )
        if self.kind == "chorale":
            return ops.cast(ops.expand_dims(uniforms, 0) < ops.sigmoid(output / temperature), "float32")
        return made_key_loop(self.source.get_layer("made"), output, uniforms, temperature)[None, :]

    def call(self, inputs):
        if not self.loop:
            return self.step(*inputs)
        output, h, c, uniforms, temperature, top_k, top_p = inputs
        width = ops.shape(uniforms)[1]

        def one(step, carry):
            output, h, c, drawn = carry
            row = ops.slice(uniforms, (step, 0), (1, width))[0]
            value = self.draw(output, row, temperature, top_k, top_p)
            drawn = ops.slice_update(drawn, (step, 0), ops.reshape(ops.cast(value, "float32"), (1, width)))
            output, h, c = self.step(value, h, c)
            return output, h, c, drawn

        steps = ops.shape(uniforms)[0]
        return ops.fori_loop(0, steps, one, (output, h, c, ops.zeros_like(uniforms)))[3]


class Stepper:
    """One compiled step of a trained model: ``(input, state) -> (logits, state)``.

    Works for :func:`~course_lib.models.melody_lstm` (input: a token id, output: logits),
    :func:`~course_lib.models.pianoroll_lstm` (a frame in, logits out) and
    :func:`~course_lib.models.lstm_made` (a frame in, the MADE's context out). The model's own
    layers are reused, so the stepper always has the trained weights. :meth:`generate` runs
    many steps, sampling included, in one compiled call. ``kind`` is the model's name in the
    recipe table (:mod:`course_lib.recipes`): ``"melody"``, ``"chorale"`` or ``"chorale-made"``.

    Notebook: 05_lstm_melody
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.cell = model.get_layer("lstm").cell
        self.units = self.cell.units
        names = {layer.name for layer in model.layers}
        self.kind = "melody" if "embedding" in names else "chorale-made" if "made" in names else "chorale"
        self.one_step = StepModel(model, self.kind, loop=False)
        self.loop = StepModel(model, self.kind, loop=True)

    def initial_state(self) -> list[np.ndarray]:
        """Zeros for ``h`` and ``c``, batch of one."""
        return [np.zeros((1, self.units), "float32"), np.zeros((1, self.units), "float32")]

    def generate(self, output, state, steps: int, temperature: float = 1.0, top_k=None, top_p=None, seed: int = 0):
        """``steps`` new tokens or frames after a step that gave ``output`` and ``state``, in one compiled call.

        The random draws come from ``keras.random.uniform`` with ``seed``: the same seed gives the
        same result on the same backend.
        """
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        output = np.asarray(output, dtype="float32")[None, :]
        vocabulary = output.shape[-1]
        width = (
            1
            if self.kind == "melody"
            else self.model.get_layer("made").keys
            if self.kind == "chorale-made"
            else vocabulary
        )
        uniforms = ops.convert_to_numpy(keras.random.uniform((steps, width), seed=seed))
        if self.loop.jit_compile:  # compiled for each number of steps: round it up, so that few are compiled
            uniforms = np.pad(uniforms, ((0, -steps % STEP_BUCKET), (0, 0)))
        drawn = self.loop.predict_on_batch(
            (
                output,
                *(np.asarray(part, dtype="float32") for part in state),
                uniforms,
                np.array(temperature, "float32"),
                np.array(vocabulary if top_k is None else min(top_k, vocabulary), "int32"),
                np.array(2.0 if top_p is None else top_p, "float32"),
            )
        )
        return drawn[:steps, 0].astype("int32") if self.kind == "melody" else drawn[:steps]

    def step(self, value, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Feed one token id (melody) or one frame; returns the output (logits or context) and the new state."""
        if self.kind == "melody":
            inputs = np.array([int(value)], dtype="int32")
        else:
            inputs = np.asarray(value, dtype="float32").reshape(1, -1)
        out, h, c = self.one_step.predict_on_batch((inputs, *(np.asarray(part, dtype="float32") for part in state)))
        return out[0], [h, c]


@functools.lru_cache(maxsize=8)
def stepper_for(model: keras.Model) -> Stepper:
    """The model's :class:`Stepper`, made once: its compiled functions are traced once, not per call.

    The last 8 models' steppers are kept.

    Notebook: 05_lstm_melody
    """
    return Stepper(model)


def generate_tokens(
    model: keras.Model,
    primer: list[int],
    steps: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
) -> list[int]:
    """Continue ``primer`` (at least one token) by ``steps`` tokens, one compiled step each.

    Notebook: 05_lstm_melody
    """
    if not primer:
        raise ValueError("the primer needs at least one token")
    stepper = stepper_for(model)
    state = stepper.initial_state()
    for token in primer:  # read the primer: only the state matters
        logits, state = stepper.step(token, state)
    return list(primer) + stepper.generate(logits, state, steps, temperature, top_k, top_p, seed).tolist()


def generate_frames(
    model: keras.Model, primer: np.ndarray, steps: int, temperature: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Continue a piano roll ``primer`` ``(time, keys)`` by ``steps`` frames.

    For a piano-roll LSTM each key is drawn independently; for an LSTM-MADE the keys of a frame
    are drawn one after the other, lowest first, each conditioned on those below it.

    Notebook: 06_lstm_chorales
    """
    primer = np.asarray(primer, dtype=bool)
    if primer.ndim != 2 or len(primer) == 0:
        raise ValueError(f"the primer must be a (time, keys) roll with at least one frame, got shape {primer.shape}")
    stepper = stepper_for(model)
    state = stepper.initial_state()
    for frame in primer:
        output, state = stepper.step(frame, state)
    new = stepper.generate(output, state, steps, temperature, seed=seed) > 0.5
    return np.concatenate([primer, new.reshape(steps, primer.shape[1])])


class MadeSampler(keras.Model):
    """``call((context, uniforms, temperature))``: :func:`made_key_loop` on one MADE layer.

    A ``keras.Model`` so that ``predict_on_batch`` compiles it for the running backend.
    """

    def __init__(self, made) -> None:
        super().__init__(name=f"{made.name}_sampler")
        self.made = made
        self.built = True

    def call(self, inputs):
        context, uniforms, temperature = inputs
        return made_key_loop(self.made, context, uniforms, temperature)


@functools.lru_cache(maxsize=8)
def made_sampler(made) -> MadeSampler:
    """The :class:`MadeSampler` of a MADE layer, made once (for the 8 layers used last)."""
    return MadeSampler(made)


def sample_made_frame(made, context: np.ndarray, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
    """Draw one frame from a MADE output layer, key by key (lowest first), in one compiled call.

    Notebook: 06_lstm_chorales
    """
    uniforms = rng.random(made.keys).astype("float32")
    frame = made_sampler(made).predict_on_batch(
        (np.asarray(context, dtype="float32").reshape(1, -1), uniforms, np.array(temperature, "float32"))
    )
    return frame > 0.5
