"""Generating music step by step from the course's LSTMs, carrying the recurrent state.

A trained model reads a whole sequence at once. To *generate*, we need one step at a time:
feed the last token (or frame), update the LSTM's state ``(h, c)``, turn the output into a
distribution, draw from it, repeat. Re-feeding the whole history at every step would redo all
earlier steps each time (quadratic); carrying the state makes each step cost the same.
``bench/sampling.py`` measures the difference.

The step functions are compiled with ``tf.function`` (the TensorFlow backend). Calling a
compiled function from Python costs about a millisecond, so the generators compile the whole
loop of steps, sampling included, into one call; ``Stepper.step`` and the NumPy samplers here
are the same algorithm one step at a time, for reading and for the exercises.

Notebook: 05_lstm_melody (tokens), 06_lstm_chorales (frames, MADE)
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf


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
    """Independent Bernoulli draws, one per key: ``sigmoid(logit / temperature)``.
    """
    probabilities = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / temperature))
    return rng.random(probabilities.shape) < probabilities


class Stepper:
    """One compiled step of a trained model: ``(input, state) -> (logits, state)``.

    Works for :func:`~course_lib.models.melody_lstm` (input: a token id, output: logits),
    :func:`~course_lib.models.pianoroll_lstm` (a frame in, logits out) and
    :func:`~course_lib.models.lstm_made` (a frame in, the MADE's context out). The model's own
    layers are reused, so the stepper always has the trained weights. :meth:`generate` runs
    many steps, sampling included, in one compiled call.

    Notebook: 05_lstm_melody
    """

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.cell = model.get_layer("lstm").cell
        self.units = self.cell.units
        names = {layer.name for layer in model.layers}
        self.kind = "melody" if "embedding" in names else "made" if "made" in names else "pianoroll"
        self._step = tf.function(self._step_graph, reduce_retracing=True)
        self._generate = None

    def initial_state(self) -> list[np.ndarray]:
        """Zeros for ``h`` and ``c``, batch of one."""
        return [np.zeros((1, self.units), "float32"), np.zeros((1, self.units), "float32")]

    def _step_graph(self, inputs, h, c):
        model = self.model
        if self.kind == "melody":
            x = model.get_layer("embedding")(inputs)
        else:
            x = inputs
        output, (h, c) = self.cell(x, [h, c], training=False)
        if self.kind == "melody":
            return model.get_layer("logits")(output), h, c
        if self.kind == "pianoroll":
            if any(layer.name == "deep_output" for layer in model.layers):
                output = model.get_layer("deep_output")(output)
            return model.get_layer("from_lstm")(output) + model.get_layer("from_frame")(inputs), h, c
        return tf.concat([output, inputs], axis=-1), h, c  # MADE: the context for the frame's keys

    def _sample_graph(self, output, step, temperature, top_k, top_p, seed):
        """Draw the next token (melody) or frame from a step's output, inside the compiled loop."""
        if self.kind == "melody":
            logits = filter_logits_tf(output, temperature, top_k, top_p)
            return tf.cast(tf.random.stateless_categorical(logits, 1, seed=tf.stack([seed, step]))[:, 0], tf.int32)
        if self.kind == "pianoroll":
            uniforms = tf.random.stateless_uniform(tf.shape(output), seed=tf.stack([seed, step]))
            return tf.cast(uniforms < tf.sigmoid(output / temperature), tf.float32)
        made = self.model.get_layer("made")
        uniforms = tf.random.stateless_uniform((made.keys,), seed=tf.stack([seed, step]))
        return made_key_loop(made, output, uniforms, temperature)[None, :]

    def _generate_graph(self, output, h, c, steps, temperature, top_k, top_p, seed):
        dtype = tf.int32 if self.kind == "melody" else tf.float32
        drawn = tf.TensorArray(dtype, size=steps)
        for step in tf.range(steps):
            value = self._sample_graph(output, step, temperature, top_k, top_p, seed)
            drawn = drawn.write(step, value[0])
            output, h, c = self._step_graph(value, h, c)
        return drawn.stack()

    def generate(self, output, state, steps: int, temperature: float = 1.0, top_k=None, top_p=None, seed: int = 0):
        """``steps`` new tokens or frames after a step that gave ``output`` and ``state``, in one compiled call."""
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        if self._generate is None:
            self._generate = tf.function(self._generate_graph, reduce_retracing=True)
        output = np.asarray(output, dtype="float32")[None, :]
        vocabulary = output.shape[-1]
        drawn = self._generate(
            output,
            *state,
            tf.constant(steps, tf.int32),
            tf.constant(temperature, tf.float32),
            tf.constant(vocabulary if top_k is None else min(top_k, vocabulary), tf.int32),
            tf.constant(2.0 if top_p is None else top_p, tf.float32),
            tf.constant(seed, tf.int32),
        )
        return drawn.numpy()

    def step(self, value, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Feed one token id (melody) or one frame; returns the output (logits or context) and the new state."""
        if self.kind == "melody":
            inputs = np.array([int(value)], dtype="int32")
        else:
            inputs = np.asarray(value, dtype="float32").reshape(1, -1)
        out, h, c = self._step(inputs, *state)
        return out.numpy()[0], [h, c]


_steppers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def stepper_for(model: keras.Model) -> Stepper:
    """The model's :class:`Stepper`, made once: its compiled functions are traced once, not per call.

    Notebook: 05_lstm_melody
    """
    if model not in _steppers:
        _steppers[model] = Stepper(model)
    return _steppers[model]


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


def filter_logits_tf(logits, temperature, top_k, top_p):
    """:func:`filter_logits` in TensorFlow ops, for the compiled loop: filtered logits, ``-inf`` where removed.

    ``top_k`` equal to the vocabulary size and ``top_p`` above 1 switch those filters off.

    Notebook: 05_lstm_melody
    """
    logits = logits / temperature
    kth_largest = tf.math.top_k(logits, k=top_k).values[:, -1:]
    logits = tf.where(logits < kth_largest, -np.inf, logits)
    ordered = tf.sort(logits, direction="DESCENDING")
    mass_before = tf.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)
    kept = tf.reduce_sum(tf.cast(mass_before < top_p - 1e-9, tf.int32), axis=-1)  # the smallest prefix reaching p
    threshold = tf.gather(ordered, tf.maximum(kept, 1) - 1, axis=-1, batch_dims=1)[:, None]
    return tf.where(logits < threshold, -np.inf, logits)


def made_key_loop(made, context, uniforms, temperature):
    """Fill one frame key by key, lowest first: key ``k`` is on when ``uniforms[k] < p(k | keys below, context)``.

    Runs inside a compiled function (``tf.range`` becomes a while loop).

    Notebook: 06_lstm_chorales
    """
    keys = made.keys
    frame = tf.zeros((1, keys))
    for key in tf.range(keys):
        logit = made([frame, context])[0, key] / temperature
        on = tf.cast(uniforms[key] < tf.sigmoid(logit), tf.float32)
        frame = frame + on * tf.one_hot(key, keys)[None, :]
    return frame[0]


_made_key_loops: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # compiled loop per MADE layer


def sample_made_frame(made, context: np.ndarray, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
    """Draw one frame from a MADE output layer, key by key (lowest first), in one compiled call.

    Notebook: 06_lstm_chorales
    """
    loop = _made_key_loops.get(made)
    if loop is None:
        layer = weakref.ref(made)  # the cache must not keep the layer alive
        loop = _made_key_loops[made] = tf.function(
            lambda context, uniforms, temperature: made_key_loop(layer(), context, uniforms, temperature)
        )
    uniforms = rng.random(made.keys).astype("float32")
    frame = loop(context.reshape(1, -1).astype("float32"), uniforms, np.float32(temperature))
    return frame.numpy() > 0.5
