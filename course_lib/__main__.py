"""``python -m course_lib``: runs the command line in :mod:`course_lib.tools.cli`."""

import sys

from course_lib.tools.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
