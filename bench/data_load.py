"""Time loading the bundled chorale data set, against the course's target of 1 s.

Run: python bench/data_load.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 1.0


def main() -> None:
    from course_lib.datasets import load_chorales, load_jsb

    rows = []
    for name, load in (("load_chorales()", load_chorales), ("load_jsb()", load_jsb)):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            splits = load()
            times.append(time.perf_counter() - started)
        rows.append((name, statistics.median(times), sum(len(s) for s in splits)))
    # a fresh interpreter: what a student's first call costs, imports included
    code = (
        "import time; t = time.perf_counter(); from course_lib.datasets import load_chorales; "
        "load_chorales(); print(time.perf_counter() - t)"
    )
    cold = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    rows.append(("import + load_chorales(), new process", cold, None))
    print(f"{'what':<40} {'seconds':>8} {'pieces':>7}  target")
    for name, seconds, pieces in rows:
        print(f"{name:<40} {seconds:8.3f} {pieces if pieces is not None else '':>7}  <= {TARGET_SECONDS:g} s")


if __name__ == "__main__":
    main()
