"""Every trainable model under every installed Keras backend: seconds per epoch and the first epoch's compile.

Each (backend, model) pair trains in a fresh process with ``KERAS_BACKEND`` set, on the model's own
data and settings, through the recipe table's ``fit`` (:mod:`course_lib.recipes`), with an
empty JAX compilation cache. The first epoch includes compiling; "per epoch" is the median of the
epochs after it. Under JAX a second process then runs one epoch with the cache the first one filled:
what a notebook run a second time, or the test suite's later runs, pays. The GAN counts generator
steps: its "epoch" is 40 of them, reported as milliseconds per step.

The last column is each model's default backend (``course_lib.BACKENDS``: the first one installed)
against the fastest: the course's target is at most 1.25x.

Run: python bench/backends.py [--epochs 3] [--only melody chorale chorale-made gan satb ...]
                              [--backends jax tensorflow torch] [--out output/bench/backends]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ("melody", "melody-transformer", "chorale", "chorale-made", "chorale-transformer", "gan", "satb")
GAN_STEPS = 40  # generator steps per timed GAN "epoch"
TARGET = 1.25


def epoch_times(model: str, epochs: int) -> list[float]:
    """Wall-clock seconds of each of ``epochs`` epochs of ``model`` in this process (its backend)."""
    import keras

    from course_lib import recipes

    stamps = [time.perf_counter()]

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            stamps.append(time.perf_counter())

    keras.utils.set_random_seed(0)
    chosen = recipes.recipe(model)
    data = chosen.load_data(chosen.default_source)
    built = chosen.build(data)
    options = {"steps_per_epoch": GAN_STEPS} if model == "gan" else {"patience": epochs}
    stamps[0] = time.perf_counter()
    chosen.fit(built, data, epochs, callbacks=[Clock()], **options)
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def run_worker(backend: str, model: str, epochs: int, cache: Path) -> list[float]:
    """``epoch_times`` in a fresh process under ``backend``, with JAX's cache in ``cache``."""
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_COMPILATION_CACHE_DIR": str(cache)}
    command = [sys.executable, __file__, "--worker", model, "--epochs", str(epochs)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("TIMES ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{backend} {model} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][6:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run: the first compiles (default 3)")
    parser.add_argument("--only", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow", "torch"])
    parser.add_argument("--out", type=Path, default=Path("output/bench/backends"))
    parser.add_argument("--worker", choices=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        import course_lib  # noqa: F401  (sets the backend's environment before Keras loads)

        print("TIMES " + json.dumps(epoch_times(args.worker, args.epochs)), flush=True)
        return

    import course_lib

    backends = [b for b in args.backends if importlib.util.find_spec(b)]
    default = next(b for b in course_lib.BACKENDS if b in backends)
    versions = {
        b: subprocess.run(
            [sys.executable, "-c", f"import {b}; print({b}.__version__)"], capture_output=True, text=True
        ).stdout.strip()
        for b in backends
    }
    print(
        f"backends: {', '.join(f'{b} {versions[b]}' for b in backends)}; the default here: {default}; "
        f"{os.cpu_count()} CPU cores",
        flush=True,
    )
    results: dict[str, dict[str, dict]] = {}
    for model in args.only:
        results[model] = {}
        for backend in backends:
            with tempfile.TemporaryDirectory() as cache:
                times = run_worker(backend, model, args.epochs, Path(cache))
                warm = run_worker(backend, model, 1, Path(cache))[0] if backend == "jax" else None
            scale = 1000 / GAN_STEPS if model == "gan" else 1.0
            results[model][backend] = {
                "first": times[0],
                "per_epoch": statistics.median(times[1:]) * scale,
                "first_cached": warm,
                "epochs": times,
            }
            print(f"  {model} {backend}: {[round(t, 2) for t in times]}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"versions": versions, "results": results}, indent=2) + "\n")
    print(
        f"\n{'model':<13} {'backend':<11} {'per epoch':>14} {'first epoch':>12} {'cached first':>13} {'vs fastest':>11}"
    )
    for model, by_backend in results.items():
        fastest = min(r["per_epoch"] for r in by_backend.values())
        unit = "ms/step" if model == "gan" else "s"
        for backend, r in by_backend.items():
            ratio = r["per_epoch"] / fastest
            cached = f"{r['first_cached']:.1f} s" if r["first_cached"] is not None else "-"
            mark = f"{ratio:.2f}x" + (" default" if backend == default else "")
            print(
                f"{model:<13} {backend:<11} {r['per_epoch']:>8.1f} {unit:<5} {r['first']:>10.1f} s "
                f"{cached:>13} {mark:>11}"
            )
        ratio = by_backend[default]["per_epoch"] / fastest if default in by_backend else float("nan")
        verdict = "meets" if ratio <= TARGET else "MISSES"
        print(f"{'':<13} the default, {default}, is {ratio:.2f}x the fastest: {verdict} the target of <= {TARGET}x")


if __name__ == "__main__":
    main()
