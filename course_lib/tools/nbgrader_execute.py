"""nbgrader's ``Execute`` step with the course's lost-reply watch, for an instructor's ``nbgrader_config.py``.

Needs nbgrader (``requirements-instructor.txt``). The README's instructor guide and
``tests/nbgrader_course.py`` put it in place of nbgrader's own step::

    from course_lib.tools.nbgrader_execute import watched_autograde_steps
    c.Autograde.autograde_preprocessors = watched_autograde_steps()
"""

from __future__ import annotations

from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

from course_lib.tools.kernel_watch import ReplyWatch


class WatchedExecute(ReplyWatch, Execute):
    """nbgrader's ``Execute`` (configured as ``c.Execute``) that fails fast on a lost kernel reply."""


def watched_autograde_steps() -> list[type]:
    """nbgrader's default autograde steps, with :class:`WatchedExecute` in place of ``Execute``."""
    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    return [WatchedExecute if step is Execute else step for step in steps]
