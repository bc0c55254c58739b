"""The one base class for problems a user can fix, each stated in one line.

``python -m course_lib`` prints such an error as a single ``error: ...`` line and exits with
code 2 (``--debug`` shows the traceback). :class:`~course_lib.midi.MidiError` and
:class:`~course_lib.datasets.DataError` derive from it.
"""


class CourseError(Exception):
    """A problem with the user's input, files or options; its message says what and how to fix it."""


class TooLargeError(CourseError, ValueError):
    """Music too long or too large to render (a roll, a waveform); the message says how big and what to pass."""


def human_size(n_bytes: float) -> str:
    """A byte count for people: '984 MiB', '29.3 GiB', '21.0 TiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n_bytes < 1024:
            return f"{n_bytes:.0f} {unit}" if unit in ("bytes", "KiB", "MiB") else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"
