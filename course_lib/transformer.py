"""A decoder-only Transformer in Keras, with the Music Transformer's relative attention.

``RelativeSelfAttention`` is causal multi-head self-attention whose scores get, besides
``q_i · k_j``, a learned term for the distance ``j - i`` (Shaw et al. 2018), computed with the
skewing of Huang et al. 2018 (see :func:`course_lib.attention.skew`). With ``relative=False`` it
is ``keras.layers.MultiHeadAttention`` with a causal mask, weight for weight. ``DecoderBlock`` adds
the feed-forward layer, residual connections and layer normalisation; ``melody_transformer`` stacks
them over melody tokens. Everything is ``keras.ops``, so it runs on every Keras backend.

Notebook: 11_attention
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


def skew_ops(scores_by_distance):
    """:func:`course_lib.attention.skew` in ``keras.ops``, on ``(batch, heads, L, L)``.

    Notebook: 11_attention
    """
    batch, heads, length, _ = ops.shape(scores_by_distance)
    padded = ops.pad(scores_by_distance, [[0, 0], [0, 0], [0, 0], [1, 0]])
    return ops.reshape(padded, (batch, heads, length + 1, length))[:, :, 1:, :]


@keras.saving.register_keras_serializable(package="course_lib")
class RelativeSelfAttention(layers.Layer):
    """Causal multi-head self-attention, with a learned score per distance when ``relative``.

    ``call(x)`` returns ``(batch, length, features)``; ``call(x, return_weights=True)`` returns
    the output and the attention weights ``(batch, heads, length, length)``. Distances up to
    ``max_length - 1`` back have embeddings of their own, one set per head, so any length up to
    ``max_length`` works.

    Notebook: 11_attention
    """

    def __init__(
        self, heads: int, key_dim: int, max_length: int, dropout: float = 0.0, relative: bool = True, **kwargs
    ):
        super().__init__(**kwargs)
        self.heads, self.key_dim, self.max_length = heads, key_dim, max_length
        self.dropout, self.relative = dropout, relative
        self.weights_dropout = layers.Dropout(dropout)

    def build(self, input_shape) -> None:
        features = input_shape[-1]
        projection = (features, self.heads, self.key_dim)
        for name in ("query", "key", "value"):
            setattr(
                self,
                f"{name}_kernel",
                self.add_weight(shape=projection, initializer="glorot_uniform", name=f"{name}_kernel"),
            )
            setattr(
                self, f"{name}_bias", self.add_weight(shape=projection[1:], initializer="zeros", name=f"{name}_bias")
            )
        self.output_kernel = self.add_weight(
            shape=(self.heads, self.key_dim, features), initializer="glorot_uniform", name="output_kernel"
        )
        self.output_bias = self.add_weight(shape=(features,), initializer="zeros", name="output_bias")
        if self.relative:  # one row per distance: row r is distance r - (max_length - 1), the last row 0
            self.distances = self.add_weight(
                shape=(self.heads, self.max_length, self.key_dim),
                initializer=keras.initializers.RandomNormal(stddev=self.key_dim**-0.5),
                name="distances",
            )

    def call(self, x, training=None, return_weights: bool = False):
        q, k, v = (
            ops.einsum("blf,fhd->bhld", x, kernel) + bias[None, :, None, :]
            for kernel, bias in (
                (self.query_kernel, self.query_bias),
                (self.key_kernel, self.key_bias),
                (self.value_kernel, self.value_bias),
            )
        )
        scores = ops.einsum("bhid,bhjd->bhij", q, k)
        length = ops.shape(x)[1]
        if self.relative:  # the last `length` distances: -(length - 1) .. 0
            distances = ops.take(self.distances, ops.arange(length) + (self.max_length - length), axis=1)
            scores = scores + skew_ops(ops.einsum("bhid,hrd->bhir", q, distances))
        scores = scores / float(np.sqrt(self.key_dim))
        position = ops.arange(length)
        allowed = position[None, :] <= position[:, None]  # key j <= query i
        scores = ops.where(allowed[None, None], scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        attended = ops.einsum("bhij,bhjd->bhid", self.weights_dropout(weights, training=training), v)
        output = ops.einsum("bhid,hdf->bif", attended, self.output_kernel) + self.output_bias
        return (output, weights) if return_weights else output

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **{"heads": self.heads, "key_dim": self.key_dim, "max_length": self.max_length},
            **{"dropout": self.dropout, "relative": self.relative},
        }


@keras.saving.register_keras_serializable(package="course_lib")
class DecoderBlock(layers.Layer):
    """One Transformer decoder block, normalising first: ``x + attention(norm(x))``, then ``+ feed_forward(norm(.))``.

    Notebook: 11_attention
    """

    def __init__(
        self, heads: int, feed_forward: int, max_length: int, dropout: float = 0.1, relative: bool = True, **kwargs
    ):
        super().__init__(**kwargs)
        self.heads, self.feed_forward, self.max_length = heads, feed_forward, max_length
        self.dropout, self.relative = dropout, relative

    def build(self, input_shape) -> None:
        width = input_shape[-1]
        self.attention_norm = layers.LayerNormalization(name="attention_norm")
        self.attention = RelativeSelfAttention(
            self.heads, width // self.heads, self.max_length, self.dropout, self.relative, name="attention"
        )
        self.feed_forward_norm = layers.LayerNormalization(name="feed_forward_norm")
        self.expand = layers.Dense(self.feed_forward, activation="relu", name="expand")
        self.contract = layers.Dense(width, name="contract")
        self.residual_dropout = layers.Dropout(self.dropout)
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape)
        self.feed_forward_norm.build(input_shape)
        self.expand.build(input_shape)
        self.contract.build((*input_shape[:-1], self.feed_forward))

    def call(self, x, training=None, return_weights: bool = False):
        attended, weights = self.attention(self.attention_norm(x), training=training, return_weights=True)
        x = x + self.residual_dropout(attended, training=training)
        x = x + self.residual_dropout(self.contract(self.expand(self.feed_forward_norm(x))), training=training)
        return (x, weights) if return_weights else x

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **{"heads": self.heads, "feed_forward": self.feed_forward, "max_length": self.max_length},
            **{"dropout": self.dropout, "relative": self.relative},
        }


@keras.saving.register_keras_serializable(package="course_lib")
class AddPositions(layers.Layer):
    """Adds a code for each position to ``(batch, length, width)``: learned, or fixed sines and cosines.

    Notebook: 11_attention
    """

    def __init__(self, max_length: int, kind: str = "learned", **kwargs) -> None:
        super().__init__(**kwargs)
        if kind not in ("learned", "sinusoidal"):
            raise ValueError(f"positions are 'learned' or 'sinusoidal', not {kind!r}")
        self.max_length, self.kind = max_length, kind

    def build(self, input_shape) -> None:
        from course_lib.attention import sinusoidal_positions

        shape = (self.max_length, input_shape[-1])
        if self.kind == "learned":
            self.codes = self.add_weight(
                shape=shape, initializer=keras.initializers.RandomNormal(stddev=0.02), name="codes"
            )
        else:
            self.codes = self.add_weight(
                shape=shape,
                initializer=keras.initializers.Constant(sinusoidal_positions(*shape)),
                trainable=False,
                name="codes",
            )

    def call(self, x):
        return x + ops.take(self.codes, ops.arange(ops.shape(x)[1]), axis=0)[None]

    def get_config(self) -> dict:
        return {**super().get_config(), "max_length": self.max_length, "kind": self.kind}


def melody_transformer(
    vocabulary_size: int,
    max_length: int = 64,
    width: int = 64,
    heads: int = 4,
    depth: int = 2,
    feed_forward: int = 256,
    dropout: float = 0.1,
    positions: str = "relative",
) -> keras.Model:
    """Next-token model for melody tokens: embedding, ``depth`` decoder blocks, a final norm, logits.

    ``positions`` is ``"relative"`` (distances inside the attention), ``"learned"`` or
    ``"sinusoidal"`` (codes added to the embedding). Input ``(batch, time)`` token ids with
    ``time <= max_length``; output ``(batch, time, vocabulary_size)`` logits, as
    :func:`course_lib.models.melody_lstm`.

    Notebook: 11_attention
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = layers.Embedding(vocabulary_size, width, name="embedding")(tokens)
    if positions != "relative":
        x = AddPositions(max_length, positions, name="positions")(x)
    for n in range(depth):
        x = DecoderBlock(heads, feed_forward, max_length, dropout, positions == "relative", name=f"block_{n}")(x)
    x = layers.LayerNormalization(name="final_norm")(x)
    logits = layers.Dense(vocabulary_size, name="logits")(x)
    return keras.Model(tokens, logits, name="melody_transformer")


def transformer_made(
    keys: int = 88,
    max_length: int = 512,
    width: int = 128,
    heads: int = 4,
    depth: int = 2,
    feed_forward: int = 512,
    dropout: float = 0.3,
    input_dropout: float = 0.6,
    hidden: int = 2048,
    positions: str = "relative",
) -> keras.Model:
    """Notebook 06's LSTM-MADE with the LSTM replaced by decoder blocks: frames in, the MADE's logits out.

    The same inputs ``[previous_frames, frames]`` and output as
    :func:`course_lib.models.lstm_made`: each previous frame is projected to ``width`` (after
    ``input_dropout`` hides some of its notes while training), the blocks let every step attend
    to all the frames before it, and the MADE reads that context beside the last frame.
    ``max_length`` must cover the longest training row (512 frames, ``training.LONGEST``).

    Notebook: 11_attention
    """
    from course_lib.models import MadeOutput

    previous = keras.Input((None, keys), name="previous_frames")
    current = keras.Input((None, keys), name="frames")
    x = layers.Dense(width, name="frame_embedding")(layers.Dropout(input_dropout)(previous))
    if positions != "relative":
        x = AddPositions(max_length, positions, name="positions")(x)
    for n in range(depth):
        x = DecoderBlock(heads, feed_forward, max_length, dropout, positions == "relative", name=f"block_{n}")(x)
    x = layers.LayerNormalization(name="final_norm")(x)
    context = layers.Concatenate(name="context")([x, previous])
    logits = MadeOutput(keys, hidden, name="made")([current, context])
    return keras.Model([previous, current], logits, name="transformer_made")
