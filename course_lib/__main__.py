"""Command line: ``python -m course_lib GROUP ACTION``.

data build          parse music21's chorales into data/chorales.npz (the only command that writes data/)
data jsb MAT_FILE   convert JSB_Chorales.mat into data/jsb/jsb_chorales.npz (needs scipy)
data verify         check the bundled data files against their checksums
notebooks build     regenerate notebooks/ from solutions/
notebooks check     exit 1 if notebooks/ is not what 'notebooks build' would write
notebooks run [NN]  execute solution notebooks in quick mode and store their light outputs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    groups = parser.add_subparsers(dest="group", required=True)
    data = groups.add_parser("data").add_subparsers(dest="action", required=True)
    build = data.add_parser("build", help="rebuild data/chorales.npz from music21's corpus")
    build.add_argument("--out", type=Path, default=None, help="write here instead of data/chorales.npz")
    jsb = data.add_parser("jsb", help="convert JSB_Chorales.mat")
    jsb.add_argument("mat_file", type=Path)
    data.add_parser("verify", help="check data checksums")
    notebooks = groups.add_parser("notebooks").add_subparsers(dest="action", required=True)
    notebooks.add_parser("build", help="regenerate notebooks/ from solutions/")
    notebooks.add_parser("check", help="fail if notebooks/ is out of date")
    run = notebooks.add_parser("run", help="execute solutions in quick mode, keep light outputs")
    run.add_argument("prefixes", nargs="*", help="notebook numbers or names (default: all)")
    args = parser.parse_args(argv)

    if args.group == "data":
        from course_lib import datasets

        if args.action == "build":
            started = time.perf_counter()
            digest = datasets.build_chorales(args.out or datasets.CHORALES_FILE)
            print(f"sha256 {digest}  ({time.perf_counter() - started:.1f} s)")
            if args.out is None:
                print(f"sha256 {datasets.write_example_midi()}  {datasets.EXAMPLE_MIDI.name}")
        elif args.action == "jsb":
            print(f"sha256 {datasets.build_jsb(args.mat_file)}")
        else:
            datasets.load_chorale_list()
            datasets.load_jsb()
            print("data files match their checksums")
        return 0

    from course_lib import exercises

    if args.action == "build":
        for path in exercises.build_student_notebooks():
            print(f"wrote {path.relative_to(exercises.ROOT)}")
        return 0
    if args.action == "check":
        problems = exercises.out_of_sync()
        for problem in problems:
            print(problem)
        if problems:
            print("run: python -m course_lib notebooks build")
        return 1 if problems else 0
    from course_lib import notebook_runner

    notebook_runner.run_solutions(args.prefixes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
