"""Engraving speed: 16 bars of a four-voice chorale as MusicXML (music21) and as SVG (Verovio).

The course's target is half a second for both, so that a notebook cell or the harmoniser's
command shows its score without a noticeable wait. Each figure is the median of several runs
after one warm-up run (which pays for the imports and Verovio's fonts).

Run: python bench/score.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

TARGET_SECONDS = 0.5
BARS = 16


def sixteen_bars():
    """The first 16 bars (after any pickup) of the first 4/4 chorale of the validation split, as four lines."""
    from course_lib import harmonising

    lines = next(p for p in harmonising.load_lines().valid if p.time_signature == (4, 4) and p.steps >= 140)
    steps = round((lines.pickup + BARS * 4) * lines.steps_per_beat)
    return lines.head(steps)


def median_seconds(work, runs: int) -> float:
    work()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from course_lib import score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per row (default 5)")
    args = parser.parse_args()
    lines = sixteen_bars()
    notes = len(lines.to_piece().notes)
    print(f"{lines.name}: {BARS} bars of 4/4, {notes} notes, pickup {lines.pickup:g} beats; median of {args.runs} runs")
    print(f"{'layout':<10} {'MusicXML s':>11} {'MusicXML + SVG s':>17}  target")
    for staves in (2, 4):
        xml = median_seconds(lambda s=staves: score.to_musicxml(lines, staves=s), args.runs)
        both = median_seconds(lambda s=staves: score.engrave(lines, staves=s), args.runs)
        verdict = "ok" if both <= TARGET_SECONDS else "SLOW"
        print(f"{staves} staves  {xml:11.3f} {both:17.3f}  <= {TARGET_SECONDS:g} s {verdict}")


if __name__ == "__main__":
    main()
