"""Checks for the exercise of notebook 05: sampling the next token with temperature and top-k.

Notebook: 05_lstm_melody
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks.hints import ExerciseError, exercise_check
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


@exercise_check
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
