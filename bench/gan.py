"""Train the course's WGAN-GP on two-bar SATB chorale excerpts for at most 10 minutes; score its music.

Prints the six main metrics of 512 generated excerpts beside the training data's, marks which
are within the course's target (15%, or 0.05 absolute for a data value under 0.1), and the
collapse and silence flags. Writes ``results.json`` and the generator to the output folder.

For orientation, MuseGAN's training data (Lakh MIDI, 5 tracks; Dong et al. 2018) had 8-25% empty
bars per track and used 1.7-3.4 pitch classes per bar and track; ours are chorales, counted over
all four voices together.

Run: python bench/gan.py [--out output/bench/gan] [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("output/bench/gan"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--loss", choices=("wgan-gp", "dcgan"), default="wgan-gp")
    args = parser.parse_args()

    import course_lib  # noqa: F401  (quiets TensorFlow before it loads)
    from course_lib import gan_monitor, recipes
    from course_lib.checkpoints import save_atomically
    from course_lib.runs import epoch_line

    keras = gan_monitor.keras  # imported after course_lib, which picks the backend

    chosen = recipes.recipe("gan")  # the recipe table's GAN: what `python -m course_lib train gan` trains
    data = chosen.load_data("chorales")
    keras.utils.set_random_seed(0)
    model = chosen.build(data, {"loss": args.loss})
    shown = (*chosen.shown, ("qualified", "qualified_note_rate"), ("in scale", "in_scale_rate"))
    started = time.perf_counter()
    chosen.fit(
        model,
        data,
        chosen.epochs,
        time_limit=args.minutes * 60,
        on_epoch=lambda epoch, scores: print(epoch_line("gan", epoch, scores, shown), flush=True),
    )
    seconds = time.perf_counter() - started

    card = chosen.card_fields(model, data, "chorales", None)  # 512 excerpts, fixed seed, as in the cards
    final, real, met, flags = card["generated"], card["data_metrics"], card["within_target"], card["flags"]
    path = save_atomically(model.generator, args.out / "generator.keras", include_optimizer=False)
    results = {
        "loss": args.loss,
        "backend": keras.backend.backend(),
        "train_seconds": round(seconds, 1),
        "generator_steps": int(keras.ops.convert_to_numpy(model.generator_optimizer.iterations)),
        "generated": final,
        "data": real,
        "within_target": met,
        "flags": flags,
        "generator": str(path),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'metric':<22}{'generated':>10}{'data':>8}  within target")
    for name in (*gan_monitor.MAIN_METRICS, "diversity", "pch_distance"):
        mark = ("yes" if name in met else "no") if name in gan_monitor.MAIN_METRICS else ""
        print(f"{name:<22}{final[name]:10.3f}{real[name]:8.3f}  {mark}")
    print(f"\n{len(met)} of 6 main metrics within target (target: at least 5); flags: {flags or 'none'}")
    print(f"{results['generator_steps']} generator steps in {seconds / 60:.1f} min ({keras.backend.backend()} backend)")
    print(f"results: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
