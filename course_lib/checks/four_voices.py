"""Checks for the exercises of notebook 09's exercises: spotting parallels, and drawing the voices in order.

Notebook: 09_four_voices
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks.hints import ExerciseError, exercise_check
from course_lib.satb_model import sample_in_order
from course_lib.voice_leading import parallel_kind

# (before, after, what is right, the hint when a wrong answer is given)
PARALLEL_CASES = [
    (((67, 60), (69, 62)), "fifth", "G4/C4 -> A4/D4 is a parallel fifth: both move up a step, a fifth apart."),
    (((79, 60), (81, 62)), "fifth", "G5 over C4 is a twelfth, a compound fifth: compare intervals modulo 12."),
    (((72, 60), (74, 62)), "octave", "C5/C4 -> D5/D4 are parallel octaves (12 semitones, 12 % 12 == 0)."),
    (((60, 60), (62, 62)), "unison", "two voices on C4 both moving to D4: parallel unisons (interval 0)."),
    (((67, 60), (62, 55)), "fifth", "both voices moving down a fifth apart are parallel too: same direction."),
    (((67, 48), (74, 43)), None, "G4/C3 -> D5/G2: opposite directions; this evaluator does not count contrary fifths."),
    (((67, 60), (67, 62)), None, "the upper voice holds G4: oblique motion is never parallel; both must move."),
    (((67, 60), (69, 63)), None, "a fifth followed by a sixth (A4/Eb4) is not a parallel fifth."),
    (((72, 60), (74, 60)), None, "the lower voice holds: an octave followed by a ninth is not parallel."),
    (((60, 60), (72, 72)), "unison", "C4/C4 -> C5/C5: both leap an octave in unison, still parallel unisons."),
    (((67, 60), (67, 60)), None, "nothing moves: a repeated chord is not a parallel."),
    (((72, 60), (71, 59)), "octave", "both moving down a semitone an octave apart: parallel octaves."),
]


@exercise_check
def check_parallel_kind(student: Callable) -> None:
    """Check ``parallel_kind(before, after) -> "fifth" | "octave" | "unison" | None`` on tricky cases.

    Notebook: 09_four_voices
    """
    for (before, after), expected, hint in PARALLEL_CASES:
        assert parallel_kind(before, after) == expected, "the reference disagrees with its own case"
        got = student(before, after)
        if got != expected:
            raise ExerciseError(f"parallel_kind({before}, {after}) returned {got!r}, expected {expected!r}: {hint}")
    print(f"parallel_kind: correct on all {len(PARALLEL_CASES)} cases (fifths, octaves, unisons, contrary, oblique).")


def _fake_logits(voice: str, chosen: list[int]) -> np.ndarray:
    """Lopsided logits that depend on the voices already chosen (so the order can be seen)."""
    logits = np.array([0.0, 1.0, 2.0, 0.5, -1.0])
    logits[(len(chosen) * 2 + sum(chosen)) % 5] += 1.5
    return logits


def _draws(student: Callable, temperature: float, count: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.array([student(_fake_logits, rng, temperature) for _ in range(count)])


@exercise_check
def check_sample_in_order(student: Callable) -> None:
    """Check ``sample_in_order(logits_for, rng, temperature) -> [alto, tenor, bass]``.

    Notebook: 09_four_voices
    """
    calls: list[tuple[str, list[int]]] = []

    def recording(voice: str, chosen: list[int]) -> np.ndarray:
        calls.append((voice, list(chosen)))
        return _fake_logits(voice, chosen)

    drawn = student(recording, np.random.default_rng(1), 1.0)
    if not isinstance(drawn, list | tuple) or len(drawn) != 3:
        raise ExerciseError(f"return a list of three tokens [alto, tenor, bass], not {drawn!r}.")
    if not all(isinstance(t, int | np.integer) for t in drawn):
        raise ExerciseError(f"each token should be an int (use int(rng.choice(...))), not {drawn!r}.")
    if [v for v, _ in calls] != ["alto", "tenor", "bass"]:
        raise ExerciseError(f"call logits_for for 'alto', 'tenor', 'bass' in that order, once each, not {calls}.")
    if [c for _, c in calls] != [[], [drawn[0]], [drawn[0], drawn[1]]]:
        raise ExerciseError(
            "each voice must see the voices drawn before it: logits_for('tenor', [alto]) and "
            f"logits_for('bass', [alto, tenor]). Your calls passed {[c for _, c in calls]}."
        )
    draws = _draws(student, 1.0)
    reference = _draws(sample_in_order, 1.0)
    if (draws == draws[0]).all():
        raise ExerciseError("every draw is the same: that is argmax; draw with rng.choice(len(p), p=p).")
    for position, voice in enumerate(("alto", "tenor", "bass")):
        mine = np.bincount(draws[:, position], minlength=5) / len(draws)
        theirs = np.bincount(reference[:, position], minlength=5) / len(reference)
        if np.abs(mine - theirs).max() > 0.04:
            raise ExerciseError(
                f"the {voice}'s draws {mine.round(2)} do not follow softmax(logits) {theirs.round(2)}: "
                "turn logits into probabilities with exp(z - max) / sum, then rng.choice."
            )
    cold, cold_reference = _draws(student, 0.3), _draws(sample_in_order, 0.3)
    if abs((cold[:, 0] == 2).mean() - (cold_reference[:, 0] == 2).mean()) > 0.04:
        raise ExerciseError("temperature 0.3 should sharpen the draws: divide the logits by the temperature.")
    print("sample_in_order: correct (order, what each voice sees, the softmax and the temperature).")
