"""Notebook 09's exercise checks: the reference passes, typical mistakes get their hint."""

import numpy as np
import pytest

from course_lib.checks import four_voices as checks
from course_lib.exercises import ExerciseError
from course_lib.satb_model import sample_in_order
from course_lib.voice_leading import parallel_kind


def test_the_references_pass(capsys):
    checks.check_parallel_kind(parallel_kind)
    checks.check_sample_in_order(sample_in_order)
    assert "correct" in capsys.readouterr().out


def without_direction(before, after):  # counts contrary motion as parallel
    first, second = abs(before[0] - before[1]), abs(after[0] - after[1])
    if before == after:
        return None
    if first % 12 == 7 and second % 12 == 7:
        return "fifth"
    return parallel_kind(before, after)


def without_compound(before, after):  # misses a twelfth
    kind = parallel_kind(before, after)
    return None if kind == "fifth" and abs(before[0] - before[1]) > 12 else kind


@pytest.mark.parametrize(
    ("student", "hint"), [(without_direction, "opposite directions"), (without_compound, "modulo 12")]
)
def test_parallel_kind_mistakes_get_their_hint(student, hint):
    with pytest.raises(ExerciseError, match=hint):
        checks.check_parallel_kind(student)


def argmax_order(logits_for, rng, temperature=1.0):
    chosen = []
    for voice in ("alto", "tenor", "bass"):
        chosen.append(int(np.argmax(logits_for(voice, chosen))))
    return chosen


def blind_order(logits_for, rng, temperature=1.0):  # every voice drawn without the others
    out = []
    for voice in ("alto", "tenor", "bass"):
        logits = logits_for(voice, []) / temperature
        p = np.exp(logits - logits.max())
        out.append(int(rng.choice(len(p), p=p / p.sum())))
    return out


def times_temperature(logits_for, rng, temperature=1.0):
    chosen = []
    for voice in ("alto", "tenor", "bass"):
        logits = logits_for(voice, chosen) * temperature
        p = np.exp(logits - logits.max())
        chosen.append(int(rng.choice(len(p), p=p / p.sum())))
    return chosen


@pytest.mark.parametrize(
    ("student", "hint"),
    [(argmax_order, "argmax"), (blind_order, "drawn before it"), (times_temperature, "divide the logits")],
)
def test_sample_in_order_mistakes_get_their_hint(student, hint):
    with pytest.raises(ExerciseError, match=hint):
        checks.check_sample_in_order(student)
