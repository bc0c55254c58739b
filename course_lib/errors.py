"""The one base class for problems a user can fix, each stated in one line.

``python -m course_lib`` prints such an error as a single ``error: ...`` line and exits with
code 2 (``--debug`` shows the traceback). :class:`~course_lib.midi.MidiError` and
:class:`~course_lib.datasets.DataError` derive from it.
"""


class CourseError(Exception):
    """A problem with the user's input, files or options; its message says what and how to fix it."""
