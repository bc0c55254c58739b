"""The Transformers' compiled generation loops draw what a plain Python loop over the same window draws."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib.models import lstm_made, melody_lstm
from course_lib.sampling import filter_logits, generate_frames, generate_tokens
from course_lib.transformer import melody_transformer, transformer_made
from course_lib.transformer_sampling import (
    context_length,
    generate_melody_tokens,
    generate_roll,
    generate_transformer_frames,
    generate_transformer_tokens,
)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return melody_transformer(11, max_length=16, width=8, heads=2, depth=1, feed_forward=16)


def python_loop(model, primer, steps, temperature, top_k, uniforms):
    """Notebook 11's loop: pad the last 16 tokens on the right, read the last real position, draw by inverse CDF."""
    tokens = list(primer)
    for step in range(steps):
        context = tokens[-16:]
        window = np.zeros((1, 16), "int32")
        window[0, : len(context)] = context
        probabilities = filter_logits(model.predict_on_batch(window)[0, len(context) - 1], temperature, top_k)
        cumulative = np.cumsum(probabilities)
        tokens.append(int(min(np.sum(cumulative <= uniforms[step] * cumulative[-1]), 10)))
    return tokens


def test_the_compiled_loop_draws_what_the_python_loop_draws_past_the_window(model):
    steps = 30  # 3 + 30 tokens: the window of 16 fills, then slides
    uniforms = keras.ops.convert_to_numpy(keras.random.uniform((steps,), seed=5))
    expected = python_loop(model, [1, 2, 3], steps, 1.3, 5, uniforms)
    assert generate_transformer_tokens(model, [1, 2, 3], steps, temperature=1.3, top_k=5, seed=5) == expected
    greedy = generate_transformer_tokens(model, [4], steps, top_k=1)
    assert greedy == python_loop(model, [4], steps, 1.0, 1, np.zeros(steps))


def test_a_long_primer_is_kept_whole_and_read_through_the_window(model):
    primer = [int(t) for t in np.random.default_rng(0).integers(0, 11, size=40)]
    tokens = generate_transformer_tokens(model, primer, 5, top_k=1)
    assert tokens[:40] == primer and len(tokens) == 45
    assert tokens == python_loop(model, primer, 5, 1.0, 1, np.zeros(5))
    assert context_length(model) == 16
    with pytest.raises(ValueError, match="at least one token"):
        generate_transformer_tokens(model, [], 5)


def test_either_melody_model_generates_through_one_function(model):
    keras.utils.set_random_seed(1)
    lstm = melody_lstm(11, embedding=4, units=8)
    options = {"temperature": 1.2, "top_k": 6, "seed": 3}
    assert generate_melody_tokens(lstm, [1, 2], 20, **options) == generate_tokens(lstm, [1, 2], 20, **options)
    assert generate_melody_tokens(model, [1, 2], 20, **options) == generate_transformer_tokens(
        model, [1, 2], 20, **options
    )


def test_the_compiled_frame_loop_draws_what_a_python_loop_over_the_model_draws():
    """Window, context and key-by-key MADE draws, past the window's end, for the Transformer-MADE."""
    keras.utils.set_random_seed(2)
    model = transformer_made(keys=10, max_length=8, width=8, heads=2, depth=1, feed_forward=16, hidden=20)
    primer = np.random.default_rng(0).random((3, 10)) < 0.4
    steps = 9  # 3 + 9 frames: the window of 8 fills, then slides
    uniforms = keras.ops.convert_to_numpy(keras.random.uniform((steps, 10), seed=4))
    roll = [frame.astype("float32") for frame in primer]
    for step in range(steps):
        previous = np.asarray(roll[-8:])[None]
        frame = np.zeros(10, "float32")
        for key in range(10):  # lowest key first, each seeing the keys below it
            logits = model.predict_on_batch([previous, np.concatenate([previous[:, 1:], frame[None, None]], 1)])
            frame[key] = uniforms[step, key] < 1 / (1 + np.exp(-logits[0, -1, key] / 0.9))
        roll.append(frame)
    expected = np.asarray(roll) > 0.5
    drawn = generate_transformer_frames(model, primer, steps, temperature=0.9, seed=4)
    np.testing.assert_array_equal(drawn, expected)
    np.testing.assert_array_equal(generate_roll(model, primer, steps, 0.9, seed=4), expected)


def test_either_frame_model_generates_through_one_function():
    keras.utils.set_random_seed(1)
    lstm = lstm_made(keys=10, units=8, hidden=20)
    primer = np.random.default_rng(0).random((2, 10)) < 0.4
    np.testing.assert_array_equal(generate_roll(lstm, primer, 6, 1.1, seed=3), generate_frames(lstm, primer, 6, 1.1, 3))


@pytest.fixture(scope="module")
def frame_model():
    keras.utils.set_random_seed(3)
    return transformer_made(keys=10, max_length=80, width=8, heads=2, depth=2, feed_forward=16, hidden=20)


@pytest.mark.parametrize("positions", ["relative", "learned"])
def test_the_key_value_cache_draws_what_the_window_draws(positions, frame_model):
    """One position per frame through the cached keys and values, or the whole window again: the same frames."""
    keras.utils.set_random_seed(3)
    model = (
        frame_model
        if positions == "relative"
        else transformer_made(
            keys=10, max_length=80, width=8, heads=2, depth=2, feed_forward=16, hidden=20, positions=positions
        )
    )
    primer = np.random.default_rng(1).random((5, 10)) < 0.4
    cached = generate_transformer_frames(model, primer, 11, temperature=1.2, seed=6)
    window = generate_transformer_frames(model, primer, 11, temperature=1.2, seed=6, cache=False)
    assert cached.shape == (16, 10) and cached[5:].any()
    np.testing.assert_array_equal(cached, window)


def test_past_the_models_length_the_window_loop_draws(frame_model):
    primer = np.random.default_rng(2).random((75, 10)) < 0.4  # 75 + 11 frames > max_length 80: no cache
    drawn = generate_transformer_frames(frame_model, primer, 11, seed=2)
    assert drawn.shape == (86, 10)
    np.testing.assert_array_equal(drawn, generate_transformer_frames(frame_model, primer, 11, seed=2, cache=False))
