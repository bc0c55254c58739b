"""Train the piano-roll LSTM and the LSTM-MADE on the JSB Chorales standard split; score them on test.

Early stopping on the validation split, at most ``--minutes`` of training each (the course's
target: 10 minutes on 2 CPU cores). Prints test NLL (nats per frame, published convention; see
data/jsb/README.md) beside published results, writes ``results.json`` and keeps both trained
models in the output folder so the numbers can be checked again.

Run: python bench/lstm_jsb.py [--out output/bench/lstm_jsb] [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

# Test NLL on JSB, nats per frame, as published: Chung et al. 2014 ("Empirical evaluation of gated
# recurrent neural networks", Table 2); Bai, Kolter, Koltun 2018 ("An empirical evaluation of generic
# convolutional and recurrent networks", Table 1); the DMM bound as quoted by the Pyro DMM tutorial.
PUBLISHED = [
    ("tanh RNN (Chung et al. 2014)", 9.10),
    ("LSTM (Chung et al. 2014)", 8.67),
    ("LSTM (Bai et al. 2018)", 8.45),
    ("GRU (Bai et al. 2018)", 8.43),
    ("TCN (Bai et al. 2018)", 8.10),
    ("Deep Markov Model (Krishnan et al. 2017, a bound)", 6.93),
]
TARGETS = {"pianoroll_lstm": 8.2, "lstm_made": 5.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("output/bench/lstm_jsb"))
    parser.add_argument("--minutes", type=float, default=10.0, help="training time limit per model")
    parser.add_argument("--only", choices=sorted(TARGETS), help="train just one of the models")
    args = parser.parse_args()

    import course_lib  # noqa: F401  (quiets TensorFlow before it loads)
    from course_lib import recipes
    from course_lib.training import evaluate_frames, save_atomically

    jsb = recipes.load_data("chorale", "jsb")
    recipe_names = {"pianoroll_lstm": "chorale", "lstm_made": "chorale-made"}  # the same recipes as the CLI
    results = {}
    for name, recipe in recipe_names.items():
        if args.only and name != args.only:
            continue
        model = recipes.build(recipe, jsb)
        started = time.perf_counter()
        history = recipes.fit(
            recipe,
            model,
            jsb,
            time_limit=args.minutes * 60 - 60,  # the last epoch and the evaluation fit in the last minute
            on_epoch=lambda epoch, s, name=name: print(
                f"{name} epoch {epoch + 1:3d}  train {s['loss']:.3f}  valid {s['val_nll']:.3f}  {s['seconds']:5.0f} s",
                flush=True,
            ),
        )
        seconds = time.perf_counter() - started
        test = evaluate_frames(model, list(jsb.test))
        valid = evaluate_frames(model, list(jsb.valid))
        path = save_atomically(model, args.out / f"{name}.keras", include_optimizer=False)
        results[name] = {
            "test_nll": round(test["nll"], 4),
            "valid_nll": round(valid["nll"], 4),
            "test_accuracy": round(test["accuracy"], 4),
            "train_seconds": round(seconds, 1),
            "epochs": len(history["loss"]),
            "params": model.count_params(),
            "model": str(path),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'model':<52} {'test NLL':>9} {'target':>7} {'minutes':>8}")
    for name, result in results.items():
        print(
            f"{'ours: ' + name:<52} {result['test_nll']:9.2f} {'<= ' + str(TARGETS[name]):>7} "
            f"{result['train_seconds'] / 60:8.1f}"
        )
    for name, nll in PUBLISHED:
        print(f"{name:<52} {nll:9.2f}")
    print(f"\nresults: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
