"""The exercise checks, one module per notebook, each giving a hint that names the likely mistake.

A notebook imports its own: ``from course_lib.checks import midi_bytes as checks``, then a check
cell runs ``checks.check_parse_header(parse_header)``. Each check records whether the student's
function passed, so later cells use it only once it has (see :func:`course_lib.exercises.pick`).
"""

from course_lib.exercises import ExerciseError

__all__ = ["ExerciseError"]
