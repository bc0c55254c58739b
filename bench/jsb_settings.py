"""Settings of the JSB frame models, compared on the validation split only.

Each ``--try`` is one set of settings for the piano-roll LSTM (``chorale``), the LSTM-MADE
(``chorale-made``) or the Transformer-MADE (``chorale-transformer``): the builder's keyword
arguments (``units``, ``hidden``, ``dropout``, ``input_dropout``, ``deep``, the piano-roll LSTM's
``recurrent_dropout``, the Transformer's ``width``, ``depth``, ``heads``, ``feed_forward`` and
``positions``) and the training loop's (``learning_rate``, ``averaging``, ``patience``, ``transpose``), written
``key=value,key=value``. Every try trains from the same seed for at most ``--epochs`` epochs with
early stopping on validation: a fixed epoch count, chosen as what fits in the 10-minute budget on 2
cores, so runs compare fairly when two share the machine (``--threads 1`` each). It prints the
validation NLL (nats per frame) and appends it to ``results.jsonl`` in ``--out``; the test split
is never scored here. The recipes' settings (``course_lib.recipes.RECIPES``) are the tries with
the lowest validation NLL; their test scores come once, from ``bench/lstm_jsb.py``.

Run: python bench/jsb_settings.py --model chorale-made --epochs 120 --threads 1 \
         --try units=512,hidden=1024,input_dropout=0.2 [--try ...] [--report]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

BUILDER_KEYS = {"units", "hidden", "dropout", "input_dropout", "recurrent_dropout", "deep"}
BUILDER_KEYS |= {"width", "depth", "heads", "feed_forward", "positions"}  # the Transformer-MADE's


def parse(text: str) -> dict:
    """``"units=512,learning_rate=2e-3"`` as ``{"units": 512, "learning_rate": 0.002}``; words stay words."""
    settings = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        try:
            number = float(value)
        except ValueError:
            settings[key] = value
            continue
        settings[key] = int(number) if number.is_integer() and "." not in value and "e" not in value else number
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["chorale", "chorale-made", "chorale-transformer"], required=True)
    parser.add_argument("--try", dest="tries", action="append", default=[], help="key=value,... (repeatable)")
    parser.add_argument("--epochs", type=int, default=100, help="at most this many epochs per try")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("output/bench/jsb_settings"))
    parser.add_argument("--report", action="store_true", help="train nothing: list the tries in --out, best first")
    args = parser.parse_args()
    log = args.out / "results.jsonl"

    if not args.report:
        import course_lib  # noqa: F401  (chooses the backend before it loads)
        from course_lib.autodiff import limit_cpu_threads

        if args.threads:
            limit_cpu_threads(args.threads)
        import keras

        from course_lib import models, recipes, transformer
        from course_lib.runs import train_frame_model
        from course_lib.training import evaluate_frames

        jsb = recipes.load_data(args.model, "jsb")
        recipe = recipes.recipe(args.model)
        builder = {
            "chorale": models.pianoroll_lstm,
            "chorale-made": models.lstm_made,
            "chorale-transformer": transformer.transformer_made,
        }[args.model]
        args.out.mkdir(parents=True, exist_ok=True)
        for text in args.tries:
            settings = parse(text)
            built = {k: v for k, v in settings.items() if k in BUILDER_KEYS}
            trained = {**recipe.settings, **{k: v for k, v in settings.items() if k not in BUILDER_KEYS}}
            keras.utils.set_random_seed(args.seed)
            model = builder(**built)
            started = time.perf_counter()

            def report(epoch: int, scores: dict) -> None:
                print(
                    f"epoch {epoch + 1:3d}  train {scores['nll']:.3f}  valid {scores['val_nll']:.3f}  "
                    f"lr {scores['learning_rate']:.1e}  {scores['seconds']:.0f} s",
                    flush=True,
                )

            history = train_frame_model(
                model, list(jsb.train), list(jsb.valid), args.epochs, seed=args.seed, on_epoch=report, **trained
            )
            result = {
                "model": args.model,
                "try": text,
                "builder": built,
                "training": trained,
                "seed": args.seed,
                "epochs": len(history["seconds"]),
                "epoch_cap": args.epochs,
                "threads": args.threads,
                "backend": keras.backend.backend(),
                "valid_nll": round(evaluate_frames(model, list(jsb.valid))["nll"], 4),
                "minutes": round((time.perf_counter() - started) / 60, 1),
            }
            print(json.dumps(result), flush=True)
            with log.open("a") as file:
                file.write(json.dumps(result) + "\n")

    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    width = max([len(row["try"]) for row in rows] + [8])
    print(f"\n{'model':<13} {'settings':<{width}} {'epochs':>7} {'valid NLL':>10}")
    for row in sorted(rows, key=lambda r: (r["model"], r["valid_nll"])):
        epochs = f"{row['epochs']}/{row['epoch_cap']}"
        print(f"{row['model']:<13} {row['try']:<{width}} {epochs:>7} {row['valid_nll']:>10.4f}")


if __name__ == "__main__":
    main()
