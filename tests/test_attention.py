"""NumPy attention (course_lib.attention) on hand-worked values, and the checks of notebook 11's exercises."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import attention
from course_lib.checks import attention as checks
from course_lib.exercises import ExerciseError


def test_softmax_rows_sum_to_one_and_a_fully_masked_row_is_zeros_not_nan():
    weights = attention.softmax(np.array([[1000.0, 1000.0, -np.inf], [-np.inf, -np.inf, -np.inf]]))
    np.testing.assert_allclose(weights[0], [0.5, 0.5, 0.0])
    assert np.array_equal(weights[1], [0.0, 0.0, 0.0])


def test_attention_on_a_hand_worked_example():
    # one query (1, 0) against keys (2, 0) and (0, 0): scores 2/√2 and 0, so the weights are e^√2 : 1
    q, k = np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 0.0]])
    v = np.array([[10.0], [0.0]])
    output, weights = attention.attention(q, k, v)
    first = np.exp(np.sqrt(2)) / (np.exp(np.sqrt(2)) + 1)
    np.testing.assert_allclose(weights, [[first, 1 - first]])
    np.testing.assert_allclose(output, [[10 * first]])


def test_the_causal_mask_hides_the_future_exactly():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, 2, 4, 5))  # two sequences of four positions
    output, weights = attention.attention(q, k, v, attention.causal_mask(4))
    assert np.array_equal(attention.causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    assert np.all(weights[:, np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0)
    np.testing.assert_allclose(output[:, 0], v[:, 0])  # the first position sees only itself
    changed = v.copy()
    changed[:, 3] += 100.0  # the last value changes: only the last position's output may move
    np.testing.assert_allclose(attention.attention(q, k, changed, attention.causal_mask(4))[0][:, :3], output[:, :3])


@pytest.mark.parametrize("length", [1, 2, 7])
def test_skewing_gives_the_direct_relative_scores_with_leading_axes(length):
    rng = np.random.default_rng(length)
    queries, distances = rng.normal(size=(2, 3, length, 4)), rng.normal(size=(length, 4))
    direct = attention.relative_scores_direct(queries, distances)
    lower = attention.causal_mask(length)
    skewed = attention.skew(queries @ distances.T)
    np.testing.assert_allclose(np.where(lower, skewed, 0.0), direct, atol=1e-12)
    # entry (i, j) holds distance j - i: with a table whose row r is the number r - (L - 1), on query (1, 0, 0, 0)
    table = np.zeros((length, 4))
    table[:, 0] = np.arange(length) - (length - 1)
    one = np.zeros((length, 4))
    one[:, 0] = 1.0
    i, j = np.indices((length, length))
    np.testing.assert_array_equal(np.where(lower, attention.skew(one @ table.T), 0), np.where(j <= i, j - i, 0))


def test_sinusoidal_positions_known_values():
    codes = attention.sinusoidal_positions(3, 4)
    np.testing.assert_allclose(codes[0], [0, 1, 0, 1])
    np.testing.assert_allclose(codes[1], [np.sin(1), np.cos(1), np.sin(0.01), np.cos(0.01)])
    assert attention.sinusoidal_positions(5, 6).shape == (5, 6)


def reference_attention(q, k, v, mask=None):
    return attention.attention(q, k, v, mask)


def unscaled(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = attention.softmax(scores)
    return weights @ v, weights


def masked_with_zero(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    weights = attention.softmax(scores)
    return weights @ v, weights


def transposed_keys(q, k, v, mask=None):  # k.T: right for one sequence, wrong with a batch axis
    scores = q @ k.T / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = attention.softmax(scores)
    return weights @ v, weights


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(unscaled, "√d"), (masked_with_zero, "np.inf"), (transposed_keys, "swapaxes")],
)
def test_the_attention_check_names_the_mistake(answer, hint):
    with pytest.raises(ExerciseError, match=hint):
        checks.check_attention.__wrapped__(answer)


def test_the_checks_pass_the_reference_answers(capsys):
    checks.check_attention(reference_attention)
    checks.check_causal_mask(attention.causal_mask)
    checks.check_skew(attention.skew)
    assert capsys.readouterr().out.count("correct") == 2  # attention and causal_mask; skew says what it checked


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda n: np.triu(np.ones((n, n), dtype=bool)), "transpose"),
        (lambda n: np.tril(np.ones((n, n), dtype=bool), -1), "diagonal"),
        (lambda n: np.tril(np.ones((n, n))), "booleans"),
    ],
)
def test_the_mask_check_names_the_mistake(answer, hint):
    with pytest.raises(ExerciseError, match=hint):
        checks.check_causal_mask.__wrapped__(answer)


def right_padded(scores):
    length = scores.shape[-1]
    return np.pad(scores, ((0, 0), (0, 1))).reshape(length + 1, length)[1:]


def last_row_dropped(scores):
    length = scores.shape[-1]
    return np.pad(scores, ((0, 0), (1, 0))).reshape(length + 1, length)[:-1]


@pytest.mark.parametrize(
    ("answer", "hint"), [(lambda s: s, "nothing moved"), (right_padded, "on the left"), (last_row_dropped, "first row")]
)
def test_the_skew_check_names_the_mistake(answer, hint):
    with pytest.raises(ExerciseError, match=hint):
        checks.check_skew.__wrapped__(answer)
