"""The piano-roll LSTM's learning rate: the same recipe trained at several rates, scored on JSB test.

Each rate trains for a fixed number of epochs (81: what the 9-minute recipe reaches on 2 cores),
with early stopping on the validation split, so runs are comparable even when two share the
machine (``--threads 1`` each). Prints valid and test NLL (nats per frame) per rate and writes
``results.json``. This sweep chose the recipe's rate (``recipes.FRAME_SETTINGS``).

Run: python bench/chorale_learning_rate.py [--rates 2e-3 4e-3 6e-3] [--epochs 81] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[2e-3, 4e-3, 6e-3])
    parser.add_argument("--epochs", type=int, default=81)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: all cores)")
    parser.add_argument("--out", type=Path, default=Path("output/bench/chorale_learning_rate"))
    args = parser.parse_args()

    import course_lib  # noqa: F401  (quiets TensorFlow before it loads)
    from course_lib import recipes
    from course_lib.training import evaluate_frames, train_frame_model

    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    jsb = recipes.load_data("chorale", "jsb")
    settings = recipes.FRAME_SETTINGS["chorale"]
    results = []
    for rate in args.rates:
        keras.utils.set_random_seed(0)  # the same initial weights for every rate
        model = recipes.build("chorale", jsb)
        started = time.perf_counter()
        history = train_frame_model(
            model, list(jsb.train), list(jsb.valid), args.epochs, **{**settings, "learning_rate": rate}
        )
        results.append(
            {
                "learning_rate": rate,
                "epochs": len(history["loss"]),
                "valid_nll": round(evaluate_frames(model, list(jsb.valid))["nll"], 4),
                "test_nll": round(evaluate_frames(model, list(jsb.test))["nll"], 4),
                "minutes": round((time.perf_counter() - started) / 60, 1),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'learning rate':>13} {'epochs':>7} {'valid NLL':>10} {'test NLL':>9} {'minutes':>8}")
    for r in results:
        print(f"{r['learning_rate']:13.0e} {r['epochs']:7d} {r['valid_nll']:10.2f} ", end="")
        print(f"{r['test_nll']:9.2f} {r['minutes']:8.1f}")
    print(f"recipe: {settings['learning_rate']:.0e}; target <= 8.2 (bench/lstm_jsb.py)")


if __name__ == "__main__":
    main()
