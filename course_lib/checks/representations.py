"""Checks for the exercises of notebook 02: piano rolls, transposition to C, melody tokens.

Notebook: 02_representations
"""

from __future__ import annotations

from collections.abc import Callable

from course_lib import pianoroll, tokens
from course_lib.checks.hints import ExerciseError, all_pass, compare_arrays, exercise_check
from course_lib.notes import Note

ROLL_NOTES = [Note(0.0, 1.0, 60), Note(0.5, 0.75, 64), Note(1.0, 2.5, 67), Note(2.0, 3.0, 71)]


@exercise_check
def check_notes_to_roll(notes_to_roll: Callable) -> None:
    """Check a student's ``notes_to_roll(notes, steps_per_beat, lowest, highest)``.

    Notebook: 02_representations
    """
    cases = [(4, 60, 72), (2, 58, 71)]
    for steps_per_beat, lowest, highest in cases:
        expected = pianoroll.to_pianoroll(ROLL_NOTES, steps_per_beat, lowest, highest)
        got = notes_to_roll(ROLL_NOTES, steps_per_beat, lowest, highest)
        compare_arrays(got, expected, f"the roll at {steps_per_beat} steps per beat, pitches {lowest}..{highest}")
    all_pass("notes_to_roll", len(cases))


MELODY = [Note(0.0, 1.0, 67), Note(1.0, 1.5, 69), Note(2.0, 4.0, 71), Note(4.0, 4.5, 67)]


@exercise_check
def check_encode_melody(encode_melody: Callable, vocabulary: tokens.MelodyVocabulary) -> None:
    """Check a student's ``encode_melody(notes, steps_per_beat)`` against the library's tokens.

    Notebook: 02_representations
    """
    for steps_per_beat in (4, 2):
        expected = vocabulary.encode(MELODY, steps_per_beat)
        got = [int(t) for t in encode_melody(MELODY, steps_per_beat)]
        if got == expected:
            continue
        names = [vocabulary.name(t) if 0 <= t < vocabulary.size else str(t) for t in got]
        hint = ""
        if len(got) != len(expected):
            hint = f" Expected {len(expected)} tokens, one per step: {MELODY[-1].end} beats x {steps_per_beat} steps."
        elif tokens.HOLD not in got:
            hint = " A note lasting several steps is its pitch token once, then HOLD for each later step."
        elif tokens.REST not in got:
            hint = " Between beat 1.5 and 2 nothing sounds: those steps are REST."
        raise ExerciseError(f"tokens differ: got {names}, expected {[vocabulary.name(t) for t in expected]}.{hint}")
    all_pass("encode_melody", 2)


@exercise_check
def check_semitones_to_c(semitones_to_c: Callable[[int, str], int]) -> None:
    """Check a student's ``semitones_to_c(tonic_pitch_class, mode)`` (shift to C major / A minor, in -6..5).

    Notebook: 02_representations
    """
    cases = 0
    for mode, target in (("major", 0), ("minor", 9)):
        for tonic in range(12):
            got = semitones_to_c(tonic, mode)
            cases += 1
            if (tonic + got) % 12 != target:
                hint = (
                    " Minor keys go to A minor (pitch class 9), not C minor."
                    if mode == "minor" and (tonic + got) % 12 == 0
                    else ""
                )
                raise ExerciseError(
                    f"{mode} key with tonic pitch class {tonic}: shifting by {got} lands on "
                    f"pitch class {(tonic + got) % 12}, not {target}.{hint}"
                )
            if not -6 <= got <= 5:
                raise ExerciseError(
                    f"{mode} key with tonic {tonic}: {got} semitones is too far; "
                    "choose the shift in -6..5 so voices move at most a tritone."
                )
    all_pass("semitones_to_c", cases)
