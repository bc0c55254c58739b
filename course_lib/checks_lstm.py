"""Check cells for the exercises of notebooks 05 (sampling) and 06 (MADE masks), with targeted hints.

Notebook: 05_lstm_melody
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks import ExerciseError
from course_lib.models import masks_from_degrees
from course_lib.sampling import filter_logits

LOGITS = np.array([2.0, 0.5, 1.5, -1.0, 0.0, 1.0])  # lopsided: the best token is not the first or last
DRAWS = 4000


def _frequencies(sample_next: Callable, temperature: float, top_k: int | None) -> np.ndarray:
    rng = np.random.default_rng(0)
    draws = [sample_next(LOGITS.copy(), rng, temperature, top_k) for _ in range(DRAWS)]
    for draw in draws[:20]:
        if not isinstance(draw, int | np.integer):
            raise ExerciseError(f"sample_next returned {draw!r} ({type(draw).__name__}); return one token id, an int.")
    return np.bincount(np.asarray(draws, dtype=int), minlength=len(LOGITS)) / DRAWS


def check_sample_next(sample_next: Callable) -> None:
    """Check ``sample_next(logits, rng, temperature, top_k) -> token`` by the frequencies of its draws.

    Notebook: 05_lstm_melody
    """
    plain = _frequencies(sample_next, 1.0, None)
    expected = filter_logits(LOGITS)
    if np.abs(plain - np.eye(len(LOGITS))[np.argmax(LOGITS)]).max() < 1e-9:
        raise ExerciseError("every draw is the most likely token: that is argmax; draw with rng.choice(n, p=p).")
    if np.abs(plain - np.full(len(LOGITS), 1 / len(LOGITS))).max() < 0.03:
        raise ExerciseError("the draws are uniform: pass the probabilities to rng.choice as p=probabilities.")
    if np.abs(plain - LOGITS.clip(0) / LOGITS.clip(0).sum()).max() < 0.03:
        raise ExerciseError("logits are not probabilities: apply the softmax, exp(z) / sum(exp(z)), first.")
    if np.abs(plain - expected).max() > 0.03:
        raise ExerciseError(f"at temperature 1 draws should follow softmax(logits) = {expected.round(2)}, not {plain}")
    cold, hot = _frequencies(sample_next, 0.5, None), _frequencies(sample_next, 2.0, None)
    if abs(cold[0] - filter_logits(LOGITS * 2)[0]) > 0.03:
        if abs(cold[0] - filter_logits(LOGITS * 0.5)[0]) < 0.03:
            raise ExerciseError("temperature works backwards: divide the logits by the temperature, do not multiply.")
        raise ExerciseError("temperature 0.5 should sharpen the distribution: softmax(logits / temperature).")
    if abs(hot[0] - filter_logits(LOGITS / 2)[0]) > 0.03:
        raise ExerciseError("temperature 2 should flatten the distribution: softmax(logits / temperature).")
    top3 = _frequencies(sample_next, 1.0, 3)
    allowed = np.argsort(-LOGITS)[:3]
    outside = np.setdiff1d(np.flatnonzero(top3), allowed)
    if len(outside):
        raise ExerciseError(f"with top_k=3 only tokens {sorted(allowed.tolist())} may be drawn, not {outside[0]}.")
    if np.abs(top3 - filter_logits(LOGITS, top_k=3)).max() > 0.03:
        raise ExerciseError("with top_k=3, renormalise the three kept probabilities so they add up to 1.")
    print("sample_next: correct (temperature 1, 0.5, 2 and top-k 3, each checked over 4000 draws).")


def check_masks(masks: Callable) -> None:
    """Check ``masks(keys, hidden_degree) -> (input_to_hidden, hidden_to_output, input_to_output)``.

    Notebook: 06_lstm_chorales
    """
    keys, hidden_degree = 5, np.array([1, 4, 2, 2, 3, 1, 4])
    expected = masks_from_degrees(keys, hidden_degree)
    got = masks(keys, hidden_degree)
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise ExerciseError("return three masks: (input_to_hidden, hidden_to_output, input_to_output).")
    names = ("input_to_hidden", "hidden_to_output", "input_to_output")
    for name, mine, theirs in zip(names, got, expected, strict=True):
        mine = np.asarray(mine, dtype=float)
        if mine.shape != theirs.shape:
            if mine.shape == theirs.T.shape:
                raise ExerciseError(f"{name} has shape {mine.shape}, expected {theirs.shape}: transpose it (from, to).")
            raise ExerciseError(f"{name} has shape {mine.shape}, expected {theirs.shape} (from, to).")
        if not np.array_equal(mine, theirs):
            if name == "input_to_output" and np.array_equal(mine, theirs + np.eye(keys)):
                raise ExerciseError("input_to_output lets key d see itself: output d may read keys < d only.")
            if name == "hidden_to_output" and np.array_equal(mine, (hidden_degree[:, None] <= np.arange(1, 6)) * 1.0):
                raise ExerciseError("hidden_to_output uses m <= d: a unit of degree d has seen key d, so use m < d.")
            if name == "input_to_hidden" and np.array_equal(mine, (np.arange(1, 6)[:, None] < hidden_degree) * 1.0):
                raise ExerciseError("input_to_hidden uses k < m: a unit of degree m may see keys up to m, k <= m.")
            raise ExerciseError(f"{name} differs from the rule in the text; compare row k, column m by hand.")
    print("masks: correct; output d now depends on keys 1..d-1 only.")
