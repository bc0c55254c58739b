"""The Transformer layers of notebook 11 against NumPy and Keras.

Run under every backend (conftest.BACKEND_MATRIX_FILES).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers, ops

from course_lib import attention
from course_lib.transformer import AddPositions, RelativeSelfAttention, melody_transformer, skew_ops, transformer_made


@pytest.fixture(scope="module")
def keras_attention():
    keras.utils.set_random_seed(0)
    layer = layers.MultiHeadAttention(num_heads=3, key_dim=4)
    x = np.random.default_rng(1).normal(size=(2, 9, 12)).astype("float32")
    layer(x, x)  # builds it
    # nonzero biases, so that a bias in the wrong place shows
    rng = np.random.default_rng(2)
    layer.set_weights(
        [w if w.ndim == 3 else rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()]
    )
    return layer, x, ops.convert_to_numpy(layer(x, x, use_causal_mask=True))


def test_numpy_multi_head_attention_gives_keras_numbers(keras_attention):
    layer, x, expected = keras_attention
    got, weights = attention.multi_head_attention(x, layer.get_weights())
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert weights.shape == (2, 3, 9, 9)


def test_without_relative_positions_the_course_layer_is_keras_multi_head_attention(keras_attention):
    layer, x, expected = keras_attention
    ours = RelativeSelfAttention(3, 4, max_length=16, relative=False)
    ours.build(x.shape)
    ours.set_weights(layer.get_weights())
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), expected, atol=1e-5)


@pytest.mark.parametrize("length", [2, 16])
def test_relative_attention_with_skewing_is_the_direct_computation(length):
    keras.utils.set_random_seed(length)
    layer = RelativeSelfAttention(2, 3, max_length=16)
    x = np.random.default_rng(length).normal(size=(2, length, 6)).astype("float32")
    layer.build(x.shape)
    output, weights = layer(x, return_weights=True)
    expected_output, expected_weights = attention.multi_head_attention(x, layer.get_weights())
    np.testing.assert_allclose(ops.convert_to_numpy(weights), expected_weights, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(output), expected_output, atol=1e-5)
    without = attention.multi_head_attention(x, layer.get_weights()[:8])[1]  # the distances do change the weights
    assert not np.allclose(without, expected_weights, atol=1e-3)


def test_skewing_in_keras_ops_is_the_numpy_skewing():
    scores = np.random.default_rng(0).normal(size=(2, 3, 6, 6)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(skew_ops(scores)), attention.skew(scores), atol=1e-6)


@pytest.mark.parametrize("positions", ["relative", "learned", "sinusoidal"])
def test_the_melody_transformer_never_looks_ahead_and_reloads_exactly(positions, tmp_path):
    """Causal with every kind of position; the saved relative model (the course's kind) reloads to the same numbers."""
    keras.utils.set_random_seed(0)
    model = melody_transformer(11, max_length=16, width=8, heads=2, depth=2, feed_forward=16, positions=positions)
    tokens = np.random.default_rng(0).integers(0, 11, size=(2, 12)).astype("int32")
    logits = ops.convert_to_numpy(model(tokens))
    assert logits.shape == (2, 12, 11)
    changed = tokens.copy()
    changed[:, 7:] = (changed[:, 7:] + 1) % 11  # change the future of position 6
    np.testing.assert_allclose(ops.convert_to_numpy(model(changed))[:, :7], logits[:, :7], atol=1e-5)
    assert not np.allclose(ops.convert_to_numpy(model(changed))[:, 7:], logits[:, 7:])
    if positions != "relative":
        return
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras")  # safe mode: the course's layers are registered
    np.testing.assert_allclose(ops.convert_to_numpy(again(tokens)), logits, atol=1e-6)


def test_sinusoidal_codes_are_fixed_and_learned_ones_train():
    fixed, learned = AddPositions(8, "sinusoidal"), AddPositions(8, "learned")
    for layer in (fixed, learned):
        layer.build((None, None, 4))
    assert [len(layer.trainable_weights) for layer in (fixed, learned)] == [0, 1]
    np.testing.assert_allclose(
        ops.convert_to_numpy(fixed(np.zeros((1, 3, 4), "float32")))[0], attention.sinusoidal_positions(3, 4), atol=1e-6
    )
    with pytest.raises(ValueError, match="learned' or 'sinusoidal"):
        AddPositions(8, "rotary")


def test_the_melody_transformer_learns_a_repeated_phrase():
    keras.utils.set_random_seed(0)
    model = melody_transformer(6, max_length=16, width=16, heads=2, depth=1, feed_forward=32, dropout=0.0)
    phrase = np.tile(np.array([1, 2, 3, 4, 5, 2, 3, 4], "int32"), 3)[:17]
    windows = np.stack([phrase] * 8)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(windows[:, :-1], windows[:, 1:], batch_size=8, epochs=30, verbose=0).history
    assert history["loss"][-1] < 0.3 < history["loss"][0]


def test_the_transformer_made_never_looks_ahead_in_time_or_up_the_keyboard():
    """A frame's logits depend on earlier frames and, within the frame, on lower keys only (as the LSTM-MADE's)."""
    keras.utils.set_random_seed(0)
    model = transformer_made(keys=12, max_length=16, width=8, heads=2, depth=1, feed_forward=16, hidden=24)
    rolls = (np.random.default_rng(1).random((2, 10, 12)) < 0.3).astype("float32")
    previous, current = rolls[:, :-1], rolls[:, 1:]
    logits = ops.convert_to_numpy(model([previous, current]))
    assert logits.shape == (2, 9, 12)
    later = previous.copy()
    later[:, 5:] = 1 - later[:, 5:]  # change the frames from step 5 on
    np.testing.assert_allclose(ops.convert_to_numpy(model([later, current]))[:, :5], logits[:, :5], atol=1e-5)
    higher = current.copy()
    higher[:, :, 7:] = 1 - higher[:, :, 7:]  # change keys 7 and up of every frame being scored
    np.testing.assert_allclose(ops.convert_to_numpy(model([previous, higher]))[..., :8], logits[..., :8], atol=1e-5)
    assert not np.allclose(ops.convert_to_numpy(model([previous, higher]))[..., 8:], logits[..., 8:])
