"""Race the melody Transformer (notebook 11) against the melody LSTM (notebook 05) on the same melodies.

Both train through their recipes (``python -m course_lib train melody`` and ``melody-transformer``):
the same soprano tokens split by tune, windows, batches, loss, Adam and callbacks, early stopping
on validation, within ``--minutes`` per run (the course's budget: 10 minutes on 2 CPU cores), one
run per seed. Prints validation and test NLL (nats per token; the mean and the range over seeds),
seconds per epoch, and sampling speed: tokens per second for 256 tokens after a one-bar primer,
each model's compiled loop (the LSTM carrying its state, the Transformer re-reading its window),
the second call timed. Every run is kept with its card in the output folder; a run that was
interrupted resumes when the same command runs again.

``--search`` chooses the Transformer's settings: it trains each candidate of ``CANDIDATES`` at
seed 0 and prints its validation NLL only (the test split is not read).

Run: python bench/transformer_race.py [--out output/bench/transformer_race] [--minutes 10]
                                     [--seeds 0 1 2] [--search] [--report]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

MODELS = ("melody", "melody-transformer")
# Candidates for the Transformer's recipe, tried at seed 0 on validation (--search): size, then settings.
CANDIDATES = {
    "w64 d2 drop0.1 lr1e-3": ({"width": 64, "depth": 2, "feed_forward": 256, "dropout": 0.1}, {"learning_rate": 1e-3}),
    "w128 d2 drop0.1 lr1e-3": (
        {"width": 128, "depth": 2, "feed_forward": 512, "dropout": 0.1},
        {"learning_rate": 1e-3},
    ),
    "w128 d2 drop0.2 lr1e-3": (
        {"width": 128, "depth": 2, "feed_forward": 512, "dropout": 0.2},
        {"learning_rate": 1e-3},
    ),
    "w128 d2 drop0.3 lr1e-3": (
        {"width": 128, "depth": 2, "feed_forward": 512, "dropout": 0.3},
        {"learning_rate": 1e-3},
    ),
    "w128 d3 drop0.2 lr1e-3": (
        {"width": 128, "depth": 3, "feed_forward": 512, "dropout": 0.2},
        {"learning_rate": 1e-3},
    ),
    "w128 d2 drop0.2 learned positions": (
        {"width": 128, "depth": 2, "feed_forward": 512, "dropout": 0.2, "positions": "learned"},
        {"learning_rate": 1e-3},
    ),
}


def card_of(folder: Path, name: str) -> dict | None:
    path = folder / name / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def sampling_speed(name: str, folder: Path) -> float:
    """Tokens per second of the model's compiled generation loop, 256 tokens after one bar (second call)."""
    from course_lib import recipes
    from course_lib.pretrained import read_model
    from course_lib.transformer_sampling import generate_melody_tokens

    card = card_of(folder, name)
    model = read_model(folder / name / f"{name}.keras", name)
    primer = [int(t) for t in recipes.recipe(name).primers(card)[0][:16]]
    generate_melody_tokens(model, primer, 256, top_k=8, seed=0)  # compiles (or reads JAX's cache)
    started = time.perf_counter()
    generate_melody_tokens(model, primer, 256, top_k=8, seed=1)
    return 256 / (time.perf_counter() - started)


def spread(values: list[float]) -> str:
    return f"{statistics.fmean(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("output/bench/transformer_race"))
    parser.add_argument("--minutes", type=float, default=10.0, help="training time limit per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--search", action="store_true", help="choose the Transformer's settings on validation")
    parser.add_argument("--report", action="store_true", help="train nothing: summarise the runs already in --out")
    args = parser.parse_args()

    import course_lib  # noqa: F401  (chooses the backend and quiets TensorFlow before either loads)
    from course_lib import recipes
    from course_lib.tools.train import train

    protocol = f"minutes{args.minutes:g}"
    command = "python bench/transformer_race.py " + " ".join(sys.argv[1:])
    limit = args.minutes * 60 - 60  # the last epoch and the evaluation fit in the last minute

    if args.search:
        base = recipes.recipe("melody-transformer")
        print(f"{'candidate (seed 0, ' + protocol + ')':<44} {'valid NLL':>9} {'epochs':>6} {'s/epoch':>7}")
        for label, (size, settings) in CANDIDATES.items():
            folder = args.out / "search" / protocol / label.replace(" ", "_")
            if not args.report and card_of(folder, base.name) is None:
                chosen = dataclasses.replace(base, settings={**base.settings, **settings})
                train(chosen, epochs=None, out=folder, time_limit=limit, progress=None, command=command, size=size)
            card = card_of(folder, base.name)
            if card:
                per_epoch = card["train_seconds"] / card["epochs"]
                print(f"{label:<44} {card['valid']['nll']:9.3f} {card['epochs']:6d} {per_epoch:7.1f}", flush=True)
        return

    for name in MODELS:
        for seed in args.seeds:
            folder = args.out / name / protocol / f"seed{seed}"
            if args.report or card_of(folder, name) is not None:
                continue
            print(f"--- {name}, seed {seed}, {protocol}", flush=True)
            progress = lambda line, seed=seed: print(f"[seed {seed}] {line}", flush=True)  # noqa: E731
            train(
                recipes.recipe(name),
                epochs=None,
                out=folder,
                time_limit=limit,
                progress=progress,
                command=command,
                seed=seed,
            )

    results = {}
    header = f"{'valid NLL':>20} {'test NLL':>20} {'epochs':>9} {'s/epoch':>8} {'tokens/s':>9}"
    print(f"\n{'model (' + protocol + ')':<34} {header}")
    for name in MODELS:
        folders = [args.out / name / protocol / f"seed{seed}" for seed in args.seeds]
        cards = [c for f in folders if (c := card_of(f, name))]
        if not cards:
            continue
        speed = sampling_speed(name, folders[0])
        per_epoch = statistics.fmean(c["train_seconds"] / c["epochs"] for c in cards)
        valid, test = ([c[split]["nll"] for c in cards] for split in ("valid", "test"))
        epochs = "/".join(str(c["epochs"]) for c in cards)
        label = f"{name} ({len(cards)} seeds, {cards[0]['params']} weights)"
        print(f"{label:<34} {spread(valid):>20} {spread(test):>20} {epochs:>9} {per_epoch:8.1f} {speed:9.0f}")
        results[name] = {
            "seeds": [c["seed"] for c in cards],
            "valid_nll": valid,
            "test_nll": test,
            "epochs": [c["epochs"] for c in cards],
            "seconds_per_epoch": round(per_epoch, 2),
            "tokens_per_second": round(speed),
        }
    print("(nats per token, lower is better: the mean over seeds, min-max in brackets)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"results-{protocol}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
