"""The piano-roll LSTM's learning rate: the same recipe trained at several rates, chosen on JSB validation.

Each rate trains for a fixed number of epochs (81: what the 9-minute recipe reaches on 2 cores),
with early stopping on the validation split, so runs are comparable even when two share the
machine (``--threads 1`` each). The selection criterion is the validation NLL (nats per frame):
it prints validation NLL for every rate, picks the lowest, and scores only that choice on the test
split, once, at the end. Test scores of the rates not chosen are never computed: looking at them
would make the test split part of the choice. Each rate's validation score and weights are kept in
``--out``, so rates can train in separate processes side by side (``--rates R --threads 1
--no-choose`` each) and be chosen among afterwards (``--rates`` with no value). Writes
``results.json``. This sweep chose the recipe's rate (``recipes.RECIPES["chorale"].settings``).

Run: python bench/chorale_learning_rate.py [--rates [2e-3 4e-3 6e-3]] [--epochs 81] [--threads N] [--no-choose]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="*", default=[2e-3, 4e-3, 6e-3], help="rates to train")
    parser.add_argument("--no-choose", action="store_true", help="train only: choose later, among all rates in --out")
    parser.add_argument("--epochs", type=int, default=81)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads, any backend (0: all cores)")
    parser.add_argument("--out", type=Path, default=Path("output/bench/chorale_learning_rate"))
    args = parser.parse_args()

    import course_lib  # noqa: F401  (chooses the backend and quiets TensorFlow before either loads)
    from course_lib.autodiff import limit_cpu_threads

    if args.threads:
        limit_cpu_threads(args.threads)
    import keras

    from course_lib import recipes
    from course_lib.runs import train_frame_model
    from course_lib.training import evaluate_frames

    jsb = recipes.load_data("chorale", "jsb")
    settings = recipes.recipe("chorale").settings
    args.out.mkdir(parents=True, exist_ok=True)
    for rate in args.rates:
        keras.utils.set_random_seed(0)  # the same initial weights for every rate
        model = recipes.build("chorale", jsb)
        started = time.perf_counter()
        history = train_frame_model(
            model, list(jsb.train), list(jsb.valid), args.epochs, **{**settings, "learning_rate": rate}
        )
        model.save_weights(args.out / f"rate{rate:g}.weights.h5")  # the best (averaged) weights
        result = {
            "learning_rate": rate,
            "epochs": len(history["seconds"]),
            "valid_nll": round(evaluate_frames(model, list(jsb.valid))["nll"], 4),
            "minutes": round((time.perf_counter() - started) / 60, 1),
        }
        (args.out / f"rate{rate:g}.json").write_text(json.dumps(result) + "\n")
        print(json.dumps(result), flush=True)
    if args.no_choose:
        return

    results = sorted(
        (json.loads(path.read_text()) for path in args.out.glob("rate*.json")), key=lambda r: r["learning_rate"]
    )
    chosen = min(results, key=lambda r: r["valid_nll"])  # the selection criterion: validation only
    model = recipes.build("chorale", jsb)
    model.load_weights(args.out / f"rate{chosen['learning_rate']:g}.weights.h5")
    chosen["test_nll"] = round(evaluate_frames(model, list(jsb.test))["nll"], 4)  # the choice, scored once
    (args.out / "results.json").write_text(json.dumps({"chosen_by": "valid_nll", "runs": results}, indent=2) + "\n")

    print(f"\n{'learning rate':>13} {'epochs':>7} {'valid NLL':>10} {'minutes':>8}")
    for r in results:
        mark = "  <- lowest validation NLL: chosen" if r is chosen else ""
        print(f"{r['learning_rate']:13.0e} {r['epochs']:7d} {r['valid_nll']:10.2f} {r['minutes']:8.1f}{mark}")
    print(f"chosen on validation: {chosen['learning_rate']:.0e}; its test NLL (scored once): {chosen['test_nll']:.2f}")
    print(f"the recipe uses {settings['learning_rate']:.0e}; target <= 8.2 (bench/lstm_jsb.py)")


if __name__ == "__main__":
    main()
