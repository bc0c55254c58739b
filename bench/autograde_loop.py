"""Autograde the wrong-answer student again and again, beside a busy CPU core: does nbgrader ever stall?

The test suite's nbgrader grading (``tests/test_nbgrader.py``) once stalled in about half of the
suite's runs (README, "When a notebook run stalls"). This loop repeats that grading, with the
course's lost-reply watch in place, so that a stall shows as a failed run within 30 s, saying
where, instead of a silent wait. Each run submits a new student (the same notebooks) to one course
folder released once, and runs nbgrader's ``autograde`` with one try::

    .venv/bin/python bench/autograde_loop.py --runs 20 --notebooks 07    # notebook 07 only: 30-60 s a run
    .venv/bin/python bench/autograde_loop.py --runs 3                    # every graded notebook: 2-4 min a run

It needs nbgrader (``requirements-instructor.txt``) and writes under ``output/autograde-loop/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the suite's own nbgrader course and wrong-answer student

import nbgrader_course  # noqa: E402
import test_nbgrader  # noqa: E402

from course_lib.tools import notebooks  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--notebooks", nargs="*", default=[], help="number prefixes (default: every graded one)")
    parser.add_argument("--no-load", action="store_true", help="leave out the busy process beside each run")
    args = parser.parse_args()

    folder = ROOT / "output" / "autograde-loop"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["COURSE_NBGRADER_TRIES_LOG"] = str(folder / "tries.log")
    course = nbgrader_course.released_course(folder)
    names = [n for n in nbgrader_course.GRADED if not args.notebooks or n[:2] in args.notebooks]
    wrong = {
        name: test_nbgrader.with_wrong_first_answer(nbformat.read(notebooks.NOTEBOOKS_DIR / name, as_version=4))[0]
        for name in names
    }
    print(f"{args.runs} autogrades of {', '.join(names)}{'' if args.no_load else ', each beside a busy process'}")
    failed = 0
    for run in range(args.runs):
        student = f"wrong{run}"
        submitted = course / "submitted" / student / nbgrader_course.ASSIGNMENT
        submitted.mkdir(parents=True)
        for name, notebook in wrong.items():
            nbformat.write(notebook, submitted / name)
        load = None if args.no_load else subprocess.Popen([sys.executable, "-c", "while True: pass"])
        started = time.perf_counter()
        try:
            nbgrader_course.nbgrader_cli(course, "autograde", nbgrader_course.ASSIGNMENT, "--student", student, tries=1)
            result = "graded"
        except (AssertionError, subprocess.TimeoutExpired) as error:
            failed += 1
            lost = [line for line in str(error).splitlines() if "LostReplyError" in line]
            result = lost[-1].strip() if lost else f"failed: {str(error).splitlines()[0][:120]}"
        finally:
            if load:
                load.kill()
        print(f"run {run + 1:2d}: {time.perf_counter() - started:5.0f} s  {result}", flush=True)
    print(f"{args.runs - failed} of {args.runs} graded on their first try")


if __name__ == "__main__":
    main()
