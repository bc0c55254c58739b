"""Step-by-step sampling against full-sequence runs; filters, compiled loops and samplers against their
probabilities."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib.models import MadeOutput, lstm_made, melody_lstm, pianoroll_lstm
from course_lib.sampling import (
    Stepper,
    categorical_from_uniform,
    filter_logits,
    filter_logits_ops,
    generate_frames,
    generate_tokens,
    sample_made_frame,
)


def test_filter_logits_temperature_top_k_top_p():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    np.testing.assert_allclose(filter_logits(logits), [0.5, 0.3, 0.15, 0.05])
    np.testing.assert_allclose(filter_logits(logits, top_k=2), [0.625, 0.375, 0, 0])
    np.testing.assert_allclose(filter_logits(logits, top_p=0.8), [0.625, 0.375, 0, 0])  # 0.5 + 0.3 reaches 0.8
    np.testing.assert_allclose(filter_logits(logits, top_p=0.81), [0.5, 0.3, 0.15, 0] / np.float64(0.95))
    cold = filter_logits(logits, temperature=0.1)
    assert cold[0] > 0.99
    hot = filter_logits(logits, temperature=100.0)
    assert np.ptp(hot) < 0.01
    with pytest.raises(ValueError, match="temperature"):
        filter_logits(logits, temperature=0)
    # both filters read the unfiltered probabilities: top-p 0.6 keeps 2 tokens (0.5 + 0.3), so with top-k 2 or 3
    # two remain (renormalising the top 2 first would give [0.625, 0.375], and 0.625 alone would reach 0.6)
    np.testing.assert_allclose(filter_logits(logits, top_k=2, top_p=0.6), [0.625, 0.375, 0, 0])
    np.testing.assert_allclose(filter_logits(logits, top_k=3, top_p=0.6), [0.625, 0.375, 0, 0])


def test_melody_stepper_matches_the_full_sequence_model():
    keras.utils.set_random_seed(1)
    model = melody_lstm(vocabulary_size=12, embedding=4, units=8)
    tokens = np.array([[3, 1, 1, 5, 0, 7, 1]], dtype="int32")
    full = keras.ops.convert_to_numpy(model(tokens))[0]
    stepper = Stepper(model)
    state = stepper.initial_state()
    for t, token in enumerate(tokens[0]):
        logits, state = stepper.step(token, state)
        np.testing.assert_allclose(logits, full[t], atol=1e-5)


@pytest.mark.parametrize("deep, recurrent_dropout", [(0, 0.0), (5, 0.0), (5, 0.5)])
def test_pianoroll_stepper_matches_the_full_sequence_model(deep, recurrent_dropout):
    keras.utils.set_random_seed(2)
    model = pianoroll_lstm(keys=10, units=6, recurrent_dropout=recurrent_dropout, deep=deep)
    frames = (np.random.default_rng(0).random((1, 6, 10)) < 0.3).astype("float32")
    full = keras.ops.convert_to_numpy(model(frames))[0]
    stepper = Stepper(model)
    state = stepper.initial_state()
    for t in range(6):
        logits, state = stepper.step(frames[0, t], state)
        np.testing.assert_allclose(logits, full[t], atol=1e-5)


def test_generation_keeps_the_primer_is_seeded_and_follows_the_temperature():
    keras.utils.set_random_seed(4)
    model = melody_lstm(vocabulary_size=6, embedding=3, units=4)
    a = generate_tokens(model, [2, 1], 20, seed=5)
    assert a[:2] == [2, 1] and len(a) == 22 and a == generate_tokens(model, [2, 1], 20, seed=5)
    assert generate_tokens(model, [2, 1], 20, top_k=1) == generate_tokens(model, [2, 1], 20, top_k=1, seed=9)  # greedy
    roll = generate_frames(pianoroll_lstm(keys=10, units=4), np.eye(10, dtype=bool)[:3], 5)
    assert roll.shape == (8, 10) and roll.dtype == bool and (roll[:3] == np.eye(10, dtype=bool)[:3]).all()


def test_made_frame_sampling_follows_the_conditionals():
    """Key k is on exactly when its uniform draw is below p(k | the keys drawn below it, context)."""
    keras.utils.set_random_seed(5)
    made = MadeOutput(keys=5, hidden=8)
    context = np.random.default_rng(1).normal(size=4).astype("float32")
    made([np.zeros((1, 5), "float32"), context[None]])  # build
    frames = []
    for seed, temperature in [(seed, temperature) for seed in range(12) for temperature in (1.0, 0.5)]:
        uniforms = np.random.default_rng(seed).random(5)  # what sample_made_frame draws from this generator
        expected = np.zeros((1, 5), "float32")
        for key in range(5):
            logit = keras.ops.convert_to_numpy(made([expected, context[None]]))[0, key] / temperature
            expected[0, key] = uniforms[key] < 1 / (1 + np.exp(-logit))
        frame = sample_made_frame(made, context, np.random.default_rng(seed), temperature)
        assert frame.dtype == bool and frame.shape == (5,)
        np.testing.assert_array_equal(frame, expected[0] > 0.5)
        frames.append(frame)
    assert 0.1 < np.mean(frames) < 0.9  # both outcomes were checked


@pytest.mark.parametrize("kind", ["melody", "pianoroll", "made"])
def test_compiled_loop_draws_what_the_step_by_step_path_draws(kind):
    """The one-call loop against Stepper.step + NumPy sampling, with the same keras.random uniforms."""
    keras.utils.set_random_seed(7)
    steps, temperature, top_k, top_p = 12, 0.8, 4, 0.9
    if kind == "melody":
        model, first, width = melody_lstm(vocabulary_size=9, embedding=3, units=6), 2, 1
    elif kind == "pianoroll":
        model, first, width = pianoroll_lstm(keys=10, units=6), np.eye(10, dtype=bool)[3], 10
    else:
        model, first, width = lstm_made(keys=10, units=6, hidden=12), np.eye(10, dtype=bool)[3], 10
    stepper = Stepper(model)
    output, state = stepper.step(first, stepper.initial_state())
    drawn = stepper.generate(output, state, steps, temperature, top_k, top_p, seed=3)
    uniforms = keras.ops.convert_to_numpy(keras.random.uniform((steps, width), seed=3))
    for step in range(steps):
        if kind == "melody":
            cumulative = np.cumsum(filter_logits(output, temperature, top_k, top_p))
            value = int(np.sum(cumulative <= uniforms[step, 0] * cumulative[-1]))
        elif kind == "pianoroll":
            value = uniforms[step] < 1 / (1 + np.exp(-output / temperature))
        else:
            value = np.zeros((1, 10), "float32")
            for key in range(10):
                logit = keras.ops.convert_to_numpy(model.get_layer("made")([value, output[None]]))[0, key]
                value[0, key] = uniforms[step, key] < 1 / (1 + np.exp(-logit / temperature))
            value = value[0] > 0.5
        np.testing.assert_array_equal(drawn[step], value)
        output, state = stepper.step(value, state)
    if kind != "melody":
        assert 0 < np.mean(drawn) < 1


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p"),
    [
        (1.0, None, None),
        (0.7, 5, None),
        (1.3, None, 0.6),
        (1.0, 3, 0.9),
        (1.0, 6, 0.4),
        (0.5, 1, None),
        (1.0, None, 1.0),
    ],
)
def test_compiled_filter_gives_the_numpy_probabilities(temperature, top_k, top_p):
    logits = np.random.default_rng(7).normal(size=(1, 12)) * 2
    filtered = keras.ops.convert_to_numpy(
        filter_logits_ops(
            logits.astype("float32"), temperature, 12 if top_k is None else top_k, 2.0 if top_p is None else top_p
        )
    )
    probabilities = np.exp(filtered - filtered.max())
    np.testing.assert_allclose(
        probabilities / probabilities.sum(), filter_logits(logits[0], temperature, top_k, top_p)[None], atol=1e-5
    )


def test_compiled_filter_known_values_and_combined_filters():
    logits = np.log(np.array([[0.05, 0.5, 0.15, 0.3]], dtype="float32"))
    cases = [
        (4, 2.0, [0.05, 0.5, 0.15, 0.3]),  # both off
        (2, 2.0, [0, 0.625, 0, 0.375]),
        (4, 0.8, [0, 0.625, 0, 0.375]),  # 0.5 + 0.3 reaches 0.8
        (2, 0.6, [0, 0.625, 0, 0.375]),  # p reads the unfiltered probabilities: 0.5 alone does not reach 0.6
        (1, 2.0, [0, 1, 0, 0]),
        (4, 0.81, [0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95]),
    ]
    for top_k, top_p, expected in cases:
        filtered = keras.ops.convert_to_numpy(filter_logits_ops(logits, 1.0, top_k, top_p))[0]
        np.testing.assert_allclose(np.exp(filtered) / np.exp(filtered).sum(), expected, atol=1e-6)
        assert np.isneginf(filtered[np.asarray(expected) == 0]).all()


def test_inverse_cdf_sampling_never_draws_a_filtered_token():
    logits = np.array([[-np.inf, 0.0, -np.inf, np.log(3.0)]], dtype="float32")  # p = [0, 0.25, 0, 0.75]
    uniforms = [0.0, 0.2, 0.2499, 0.2501, 0.9, 0.99999994]
    drawn = [int(keras.ops.convert_to_numpy(categorical_from_uniform(logits, np.float32(u)))[0]) for u in uniforms]
    assert drawn == [1, 1, 1, 3, 3, 3]


def test_compiled_generation_is_greedy_at_top_k_1_and_made_frames_come_out_whole():
    keras.utils.set_random_seed(6)
    model = melody_lstm(vocabulary_size=7, embedding=3, units=5)
    greedy = generate_tokens(model, [3], 15, top_k=1)
    stepper, state, expected = Stepper(model), None, [3]
    state = stepper.initial_state()
    for _ in range(15):  # the same path, one step at a time with argmax
        logits, state = stepper.step(expected[-1], state)
        expected.append(int(np.argmax(logits)))
    assert greedy == expected
    roll = generate_frames(lstm_made(keys=12, units=4, hidden=8), np.eye(12, dtype=bool)[:2], 4, seed=1)
    assert roll.shape == (6, 12) and roll.dtype == bool


def test_numpy_samplers_follow_their_probabilities():
    from course_lib.sampling import sample_keys, sample_token

    rng = np.random.default_rng(0)
    logits = np.log(np.array([0.7, 0.2, 0.1]))
    draws = [sample_token(logits, rng) for _ in range(3000)]
    assert np.bincount(draws, minlength=3) / 3000 == pytest.approx([0.7, 0.2, 0.1], abs=0.03)
    assert {sample_token(logits, rng, top_k=1) for _ in range(50)} == {0}
    keys = np.array([sample_keys(np.array([2.0, -2.0, 0.0]), rng) for _ in range(3000)]).mean(axis=0)
    assert keys == pytest.approx(1 / (1 + np.exp(-np.array([2.0, -2.0, 0.0]))), abs=0.03)
