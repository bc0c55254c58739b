"""Checks for the exercises of notebook 11: attention, the causal mask, the skewing.

Notebook: 11_attention
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import attention as reference
from course_lib.checks.hints import RNG_SEED, ExerciseError, exercise_check


def _problem(length: int = 5, depth: int = 3, values: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded queries, keys and values with keys of different lengths, so that a missing √d shows."""
    rng = np.random.default_rng(RNG_SEED)
    return (
        rng.normal(size=(length, depth)) * 1.5,
        rng.normal(size=(length, depth)) * 1.5,
        rng.normal(size=(length, values)),
    )


@exercise_check
def check_attention(attention: Callable) -> None:
    """Check ``attention(q, k, v, mask=None) -> (output, weights)`` against softmax(QKᵀ/√d)V.

    Notebook: 11_attention
    """
    q, k, v = _problem()
    want_out, want_weights = reference.attention(q, k, v)
    result = attention(q, k, v)
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise ExerciseError("return a tuple of two arrays: (output, weights).")
    out, weights = (np.asarray(r, dtype=float) for r in result)
    if weights.shape != want_weights.shape:
        raise ExerciseError(
            f"weights have shape {weights.shape}, expected {want_weights.shape}: one row per query, one column per key."
        )
    if out.shape != want_out.shape:
        raise ExerciseError(f"the output has shape {out.shape}, expected {want_out.shape}: weights @ v.")
    if not np.allclose(weights.sum(axis=-1), 1.0):
        if np.allclose(weights.sum(axis=0), 1.0):
            raise ExerciseError("each column sums to 1: take the softmax over the keys, the last axis (axis=-1).")
        raise ExerciseError("each row of weights must sum to 1: did you apply the softmax?")
    unscaled = reference.softmax(q @ k.T)
    if np.allclose(weights, unscaled):
        raise ExerciseError("the scores are not scaled: divide Q Kᵀ by √d, d = q.shape[-1].")
    if np.allclose(weights, reference.softmax(q @ k.T / q.shape[-1])):
        raise ExerciseError("the scores are divided by d; divide by √d.")
    if np.allclose(weights, want_weights.T):
        raise ExerciseError("the weights are transposed: row i is query i (Q Kᵀ, not K Qᵀ).")
    if not np.allclose(weights, want_weights, atol=1e-8):
        raise ExerciseError("the weights differ from softmax(Q Kᵀ / √d); print both for a small case.")
    if not np.allclose(out, want_out, atol=1e-8):
        raise ExerciseError("the weights are right but the output is not: output = weights @ v.")
    mask = reference.causal_mask(len(q))
    masked_out, masked_weights = (np.asarray(r, dtype=float) for r in attention(q, k, v, mask))
    want_masked_out, want_masked_weights = reference.attention(q, k, v, mask)
    if np.allclose(masked_weights, want_weights):
        raise ExerciseError("the mask is ignored: set the scores where mask is False to -inf before the softmax.")
    if np.any(masked_weights[~mask] != 0):
        raise ExerciseError(
            "masked weights must be exactly 0: set masked scores to -np.inf (not 0) before the softmax."
        )
    if not np.allclose(masked_weights, want_masked_weights, atol=1e-8) or not np.allclose(masked_out, want_masked_out):
        raise ExerciseError(
            "with a mask the weights differ: mask the scaled scores, then take the softmax of each row."
        )
    batch = np.stack([q, q[::-1]]), np.stack([k, k[::-1]]), np.stack([v, v[::-1]])
    want_batch = reference.attention(*batch, mask)
    try:
        got_batch = [np.asarray(r, dtype=float) for r in attention(*batch, mask)]
        right = all(np.allclose(g, w) for g, w in zip(got_batch, want_batch, strict=True))
    except ValueError:  # shapes that do not multiply
        right = False
    if not right:
        raise ExerciseError(
            "right for one sequence, wrong for a batch (2, L, d): count from the end, q.shape[-1] for d, "
            "axis=-1 for the softmax, and np.swapaxes(k, -1, -2) for the keys (k.T reverses every axis)."
        )
    print("attention: correct, with and without a mask, for one sequence and a batch.")


@exercise_check
def check_causal_mask(causal_mask: Callable) -> None:
    """Check ``causal_mask(length)``: True where query ``i`` may see key ``j``, i.e. ``j <= i``.

    Notebook: 11_attention
    """
    for length in (1, 4):
        got = np.asarray(causal_mask(length))
        want = reference.causal_mask(length)
        if got.shape != want.shape:
            raise ExerciseError(f"causal_mask({length}) has shape {got.shape}, expected {want.shape}.")
        if got.dtype != bool:
            raise ExerciseError("return booleans (True: may look), for example with .astype(bool).")
        if np.array_equal(got, want):
            continue
        if np.array_equal(got, want.T):
            raise ExerciseError("this is the transpose: row i is query i, and it may see keys 0..i (lower triangle).")
        if np.array_equal(got, np.tril(want, -1)):
            raise ExerciseError("the diagonal is False: a position may look at itself (j <= i, not j < i).")
        raise ExerciseError(f"causal_mask({length}) should be\n{want.astype(int)}\ngot\n{got.astype(int)}")
    print("causal_mask: correct.")


@exercise_check
def check_skew(skew: Callable) -> None:
    """Check ``skew(scores_by_distance)`` against the direct relative scores, on the lower triangle.

    Notebook: 11_attention
    """
    rng = np.random.default_rng(RNG_SEED)
    length, depth = 6, 3
    queries, distances = rng.normal(size=(length, depth)), rng.normal(size=(length, depth))
    by_distance = queries @ distances.T
    got = np.asarray(skew(by_distance), dtype=float)
    if got.shape != (length, length):
        raise ExerciseError(
            f"skew gave shape {got.shape}, expected {(length, length)}: "
            "pad to (L, L + 1), reshape to (L + 1, L), drop row 0."
        )
    want = reference.relative_scores_direct(queries, distances)
    lower = reference.causal_mask(length)
    if np.allclose(got[lower], want[lower]):
        print("skew: entry (i, j) holds distance j - i, as the direct computation.")
        return
    if np.allclose(got, by_distance):
        raise ExerciseError("nothing moved: pad a column of zeros on the left, then reshape, then drop the first row.")
    right = np.concatenate([by_distance, np.zeros((length, 1))], axis=1).reshape(length + 1, length)[1:]
    if np.allclose(got, right) or np.allclose(got, right[:-1] if len(right) > length else right):
        raise ExerciseError("the zeros go on the left (the column before distance -(L-1)), not on the right.")
    kept_first = np.concatenate([np.zeros((length, 1)), by_distance], axis=1).reshape(length + 1, length)[:-1]
    if np.allclose(got, kept_first):
        raise ExerciseError("drop the first row of the (L + 1, L) array, not the last.")
    raise ExerciseError("entry (i, j) should be q_i · e_(j - i), column L - 1 + j - i of row i of Q Eᵀ.")
