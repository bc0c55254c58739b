"""Keras builders for the course's sequence models: a melody LSTM, a piano-roll LSTM, an LSTM-MADE.

All return logits (no final activation): losses use ``from_logits=True`` and samplers divide
by a temperature before the softmax or sigmoid.

Notebook: 05_lstm_melody (melody), 06_lstm_chorales (piano roll, MADE)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

KEYS = 88  # piano keys, MIDI 21..108


def melody_lstm(vocabulary_size: int, embedding: int = 32, units: int = 256, dropout: float = 0.3) -> keras.Model:
    """Next-token model for melody tokens: embedding, one LSTM, a dense layer of logits.

    Input ``(batch, time)`` token ids; output ``(batch, time, vocabulary_size)`` logits for the
    token that follows each position.

    Notebook: 05_lstm_melody
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = layers.Embedding(vocabulary_size, embedding, name="embedding")(tokens)
    x = layers.LSTM(units, return_sequences=True, name="lstm")(x)
    x = layers.Dropout(dropout)(x)
    logits = layers.Dense(vocabulary_size, name="logits")(x)
    return keras.Model(tokens, logits, name="melody_lstm")


def pianoroll_lstm(
    keys: int = KEYS,
    units: int = 256,
    dropout: float = 0.5,
    input_dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    deep: int = 0,
) -> keras.Model:
    """Frame model: the frames so far in, one independent sigmoid per key for the next frame out.

    Input ``(batch, time, keys)`` frames ``x_1..x_T-1``; output logits for ``x_2..x_T``. A
    direct connection from the last frame to the logits lets the LSTM spend its units on what
    changes rather than on copying held notes. ``input_dropout`` hides random notes of the
    history from the LSTM while training, a regulariser for this small data set;
    ``recurrent_dropout`` hides random units of the LSTM's state from the gates of its next step,
    the same units at every step of a sequence (Gal and Ghahramani 2016). ``deep`` > 0 puts a ReLU
    layer of that many units between the LSTM and the logits (a "deep output").

    Notebook: 06_lstm_chorales
    """
    frames = keras.Input((None, keys), name="previous_frames")
    lstm = layers.LSTM(units, return_sequences=True, recurrent_dropout=recurrent_dropout, name="lstm")
    hidden = layers.Dropout(dropout)(lstm(layers.Dropout(input_dropout)(frames)))
    if deep:
        hidden = layers.Dropout(dropout)(layers.Dense(deep, activation="relu", name="deep_output")(hidden))
    logits = layers.Add(name="logits")(
        [layers.Dense(keys, name="from_lstm")(hidden), layers.Dense(keys, use_bias=False, name="from_frame")(frames)]
    )
    return keras.Model(frames, logits, name="pianoroll_lstm")


def made_masks(keys: int, hidden: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks that make a dense network autoregressive over keys, lowest key first (Germain et al. 2015).

    Each hidden unit gets a random degree ``m`` in ``1..keys-1`` (fixed by ``seed``); see
    :func:`masks_from_degrees`. Returns ``(input_to_hidden, hidden_to_output, input_to_output)``.

    Notebook: 06_lstm_chorales
    """
    return masks_from_degrees(keys, np.random.default_rng(seed).integers(1, keys, size=hidden))


def masks_from_degrees(keys: int, hidden_degree: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MADE masks for keys of degree ``1..keys`` and hidden units of the given degrees.

    A hidden unit of degree ``m`` sees keys ``<= m``; output ``d`` sees hidden units with
    ``m < d`` and, directly, the keys ``< d``. So output ``d`` depends on keys ``1..d-1`` only.
    Returns float32 0/1 arrays ``(keys, hidden)``, ``(hidden, keys)``, ``(keys, keys)``.

    Notebook: 06_lstm_chorales
    """
    key_degree = np.arange(1, keys + 1)
    hidden_degree = np.asarray(hidden_degree)
    input_to_hidden = (key_degree[:, None] <= hidden_degree[None, :]).astype("float32")
    hidden_to_output = (hidden_degree[:, None] < key_degree[None, :]).astype("float32")
    input_to_output = (key_degree[:, None] < key_degree[None, :]).astype("float32")
    return input_to_hidden, hidden_to_output, input_to_output


@keras.saving.register_keras_serializable(package="course_lib")
class MaskedDense(layers.Layer):
    """A dense layer whose kernel is multiplied by a fixed 0/1 mask (no bias).

    Notebook: 06_lstm_chorales
    """

    def __init__(self, mask: np.ndarray | list, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mask_values = np.asarray(mask, dtype="float32")

    def build(self, input_shape) -> None:
        self.kernel = self.add_weight(shape=self.mask_values.shape, initializer="glorot_uniform", name="kernel")

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel * ops.convert_to_tensor(self.mask_values))

    def get_config(self) -> dict:
        return {**super().get_config(), "mask": self.mask_values.tolist()}


@keras.saving.register_keras_serializable(package="course_lib")
class MadeOutput(layers.Layer):
    """Autoregressive output layer over the keys of one frame, conditioned on a context vector.

    ``call([frame, context])``: logit ``d`` depends on the context and on keys ``< d`` of
    ``frame`` only, so a whole frame's probabilities come from one pass in training (the true
    frame goes in) while sampling fills the keys one at a time.

    Notebook: 06_lstm_chorales
    """

    def __init__(self, keys: int = KEYS, hidden: int = 256, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.keys, self.hidden, self.seed = keys, hidden, seed
        to_hidden, to_output, direct = made_masks(keys, hidden, seed)
        self.frame_to_hidden = MaskedDense(to_hidden, name="frame_to_hidden")
        self.hidden_to_output = MaskedDense(to_output, name="hidden_to_output")
        self.frame_to_output = MaskedDense(direct, name="frame_to_output")
        self.context_to_hidden = layers.Dense(hidden, name="context_to_hidden")
        self.context_to_output = layers.Dense(keys, name="context_to_output")

    def build(self, input_shapes) -> None:
        frame_shape, context_shape = input_shapes
        self.frame_to_hidden.build(frame_shape)
        self.frame_to_output.build(frame_shape)
        self.context_to_hidden.build(context_shape)
        self.context_to_output.build(context_shape)
        self.hidden_to_output.build((*frame_shape[:-1], self.hidden))

    def call(self, inputs):
        frame, context = inputs
        hidden = ops.relu(self.frame_to_hidden(frame) + self.context_to_hidden(context))
        return self.hidden_to_output(hidden) + self.frame_to_output(frame) + self.context_to_output(context)

    def get_config(self) -> dict:
        return {**super().get_config(), "keys": self.keys, "hidden": self.hidden, "seed": self.seed}


def lstm_made(
    keys: int = KEYS, units: int = 256, hidden: int = 256, dropout: float = 0.5, input_dropout: float = 0.0
) -> keras.Model:
    """An LSTM over frames with an autoregressive (MADE) output layer, so chords are modelled jointly.

    Inputs ``[previous_frames, frames]``, both ``(batch, time, keys)``: the LSTM reads
    ``x_1..x_T-1``, the MADE sees ``x_2..x_T`` through its masks and returns logits for them.
    ``input_dropout`` hides random notes of the history from the LSTM while training (the MADE
    still sees the whole last frame).

    Notebook: 06_lstm_chorales
    """
    previous = keras.Input((None, keys), name="previous_frames")
    current = keras.Input((None, keys), name="frames")
    context = layers.LSTM(units, return_sequences=True, name="lstm")(layers.Dropout(input_dropout)(previous))
    context = layers.Dropout(dropout)(context)
    context = layers.Concatenate(name="context")([context, previous])
    logits = MadeOutput(keys, hidden, name="made")([current, context])
    return keras.Model([previous, current], logits, name="lstm_made")
