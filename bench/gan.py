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
    from course_lib import gan, gan_monitor, gan_recipe
    from course_lib.training import save_atomically

    keras = gan.keras  # imported after course_lib, which picks the backend

    real = gan.load_excerpts("train")
    monitor = gan_monitor.GanMonitor(real, on_update=lambda m: print(progress(m), flush=True))
    started = time.perf_counter()
    model = gan.train_gan(real, minutes=args.minutes, loss=args.loss, callbacks=[monitor])
    seconds = time.perf_counter() - started

    final = gan_recipe.score(model.generator, monitor)  # 512 excerpts, fixed seed, as in the cards
    flags = gan_monitor.alarms(final, monitor.real)
    met = gan_monitor.within_target(final, monitor.real)
    path = save_atomically(model.generator, args.out / "generator.keras", include_optimizer=False)
    results = {
        "loss": args.loss,
        "backend": keras.backend.backend(),
        "train_seconds": round(seconds, 1),
        "generator_steps": int(keras.ops.convert_to_numpy(model.generator_optimizer.iterations)),
        "generated": {k: round(v, 4) for k, v in final.items()},
        "data": {k: round(v, 4) for k, v in monitor.real.items()},
        "within_target": met,
        "flags": flags,
        "generator": str(path),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    print(f"\n{'metric':<22}{'generated':>10}{'data':>8}  within target")
    for name in (*gan_monitor.MAIN_METRICS, "diversity", "pch_distance"):
        mark = ("yes" if name in met else "no") if name in gan_monitor.MAIN_METRICS else ""
        print(f"{name:<22}{final[name]:10.3f}{monitor.real[name]:8.3f}  {mark}")
    print(f"\n{len(met)} of 6 main metrics within target (target: at least 5); flags: {flags or 'none'}")
    print(f"{results['generator_steps']} generator steps in {seconds / 60:.1f} min ({keras.backend.backend()} backend)")
    print(f"results: {args.out / 'results.json'}")


def progress(monitor) -> str:
    latest = monitor.history[-1]
    return (
        f"step {int(latest['step']):5d}  {latest['seconds']:5.0f} s  distance {latest.get('distance', 0):6.2f}  "
        f"pitch classes {latest['used_pitch_classes']:.2f}  qualified {latest['qualified_note_rate']:.2f}  "
        f"in scale {latest['in_scale_rate']:.2f}  diversity {latest['diversity']:.2f}"
        + (f"  FLAG {monitor.flags}" if monitor.flags else "")
    )


if __name__ == "__main__":
    main()
