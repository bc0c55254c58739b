"""How long ``python -m course_lib generate NAME`` takes, whole command, for each model: best of a few runs.

Give several checkouts to compare them side by side (their runs alternate, so a change in the
machine's load falls on both)::

    git worktree add /tmp/before a09068a
    .venv/bin/python bench/generate.py --trees . /tmp/before

Each run is a fresh process on the shipped model (16 bars), writing under a temporary folder, with
the checkout's own ``course_lib`` first on the path.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_lib.recipes import MODELS


def seconds(tree: Path, name: str, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, "-m", "course_lib", "generate", name, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, cwd=tree, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", type=Path, default=[Path(".")])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.trees]
    print(f"seconds, best of {args.repeats}: " + ", ".join(str(tree) for tree in trees))
    with tempfile.TemporaryDirectory() as out:
        for name in MODELS:
            best = dict.fromkeys(trees, float("inf"))
            for _ in range(args.repeats):
                for tree in trees:
                    best[tree] = min(best[tree], seconds(tree, name, Path(out)))
            print(f"{name:<14}" + "".join(f"{best[tree]:8.2f}" for tree in trees))


if __name__ == "__main__":
    main()
