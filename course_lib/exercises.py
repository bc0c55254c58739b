"""What keeps a notebook with exercises running: checks that remember, and the fallback.

A check cell runs a check from :mod:`course_lib.checks` on the student's function. The check
records whether it passed; :func:`pick` then hands later cells the student's function only
once it has, and the library's reference otherwise, saying which in one line. A failed check
shows a one-line hint in Jupyter, not a traceback into the library.

Notebook: 01_midi_bytes, 02_representations, 03_rnn_equations, 04_lstm_equations, 05_lstm_melody,
06_lstm_chorales, 07_gan_pianoroll, 09_four_voices
"""

from __future__ import annotations

import functools
from collections.abc import Callable


class ExerciseError(AssertionError):
    """A check failed; the message is a hint for the student."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [f"ExerciseError: {self}"]


# Student functions whose latest check did not pass, by id. Holding them keeps each id unique.
_failed: dict[int, Callable] = {}


def exercise_check(check: Callable[..., None]) -> Callable[..., None]:
    """Make ``check(student, ...)`` remember whether ``student`` passed, and name an unwritten exercise.

    Notebook: 01_midi_bytes
    """

    @functools.wraps(check)
    def run(student: Callable, *args, **kwargs) -> None:
        _failed[id(student)] = student
        if is_stub(student):
            raise ExerciseError(
                f"{student.__name__} is not written yet: replace `raise NotImplementedError()` in its cell "
                "with your code, run that cell, then this one."
            )
        check(student, *args, **kwargs)
        del _failed[id(student)]

    return run


def is_stub(function: Callable) -> bool:
    """True if ``function`` is still an unfilled exercise (its body raises ``NotImplementedError``).

    Notebook: 01_midi_bytes
    """
    code = getattr(function, "__code__", None)
    return code is not None and "NotImplementedError" in code.co_names


def pick(student: Callable, reference: Callable) -> Callable:
    """The student's function once written and passing its check, else the library's reference (saying so).

    Notebook: 01_midi_bytes
    """
    if is_stub(student):
        print(f"Note: {student.__name__} is not written yet; using course_lib's reference version.")
        return reference
    if id(student) in _failed:
        name = student.__name__
        print(f"Note: your {name} did not pass its check; using course_lib's reference version until it does.")
        return reference
    return student
