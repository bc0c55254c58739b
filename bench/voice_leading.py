"""Bach's held-out chorales against every model on every voice-leading figure, with the targets.

Rows: Bach's held-out chorales (the test split by tune); the piano-roll LSTM and the LSTM-MADE
(16-bar continuations of JSB validation openings, voices read top-down from the roll, an octave
down since the JSB split is written an octave high); the
shipped four-voice model harmonising every held-out soprano, alone (no rules, no second tries)
and as shipped (rules while sampling, second tries at cadences). Targets (issue 14): parallels,
crossings and out-of-range notes at most twice Bach's rate; cadences at >= 80% of fermatas;
16 bars harmonised in <= 2 s. Also prints the four-voice model's NLL per voice step.

Run: python bench/voice_leading.py [--pieces N] [--bars 16]
"""

from __future__ import annotations

import argparse
import math
import time

FIGURES = (
    "parallels",
    "parallel_fifths",
    "parallel_octaves",
    "parallel_unisons",
    "crossings",
    "overlaps",
    "out_of_range",
    "wide_spacing",
    "cadences",
)
TWICE_BACH = ("parallels", "crossings", "out_of_range")
JSB_OCTAVE = 12  # the JSB split is written an octave above sounding pitch (median MIDI 74 vs 62 here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=None, help="held-out pieces to use (default: all)")
    parser.add_argument("--bars", type=int, default=16, help="bars each piano-roll model writes")
    args = parser.parse_args()

    import course_lib  # noqa: F401  (quiets TensorFlow before it loads)
    from course_lib import pretrained, satb_model, satb_recipe, voice_leading, voices
    from course_lib.datasets import load_jsb
    from course_lib.sampling import generate_frames

    test = satb_recipe.load_lines().test[: args.pieces]
    card = pretrained.card("satb")
    model = pretrained.load("satb")
    sopranos = [voices.soprano_only(p) for p in test]
    rows = {"Bach (held-out chorales)": test}
    jsb = load_jsb()
    for name, label in (("chorale", "piano-roll LSTM"), ("chorale-made", "LSTM-MADE")):
        roll_model = pretrained.load(name)
        count = len(test) if args.pieces else 20
        rolls = [generate_frames(roll_model, jsb.valid[i][:4], 4 * args.bars, seed=i)[4:] for i in range(count)]
        rows[f"{label} (top-down)"] = [voices.from_roll(r, lowest=21 - JSB_OCTAVE) for r in rolls]
    temperature, tries = card["temperature"], card["cadence_tries"]
    rows["four voices, alone"] = satb_recipe.harmonise_all(model, sopranos, temperature, rules=False, cadence_tries=0)
    started = time.perf_counter()
    rows["four voices, as shipped"] = satb_recipe.harmonise_all(model, sopranos, temperature, cadence_tries=tries)
    per_piece = (time.perf_counter() - started) / len(sopranos)

    figures = {name: voice_leading.evaluate(pieces) for name, pieces in rows.items()}
    bach = figures["Bach (held-out chorales)"]
    print(f"voice-leading figures, {len(test)} held-out chorales (split by tune); temperature {temperature}")
    print("per 100 voice-pair moves (parallels, overlaps), adjacent-pair steps (crossings, spacing), notes, fermatas")
    print(f"{'':28}" + "".join(f"{k[:13]:>14}" for k in FIGURES))
    for name, values in figures.items():
        print(f"{name:28}" + "".join(_cell(values[k]) for k in FIGURES))
    print(f"{'target':28}" + "".join(_target(k, bach) for k in FIGURES))

    shipped = figures["four voices, as shipped"]
    print()
    for key in TWICE_BACH:
        ratio = shipped[key] / bach[key] if bach[key] else math.inf
        print(f"{key:13} shipped {shipped[key]:.3f} vs Bach {bach[key]:.3f}: {ratio:.2f}x (target <= 2x)")
    print(f"cadences      shipped {shipped['cadences']:.1f}% of fermatas (target >= 80%; Bach {bach['cadences']:.1f}%)")

    sixteen = next((p for p in sopranos if p.steps >= 128), sopranos[0]).head(128)
    started = time.perf_counter()
    satb_model.harmonise(model, sixteen, temperature, 0, True, tries)
    print(f"harmonising 16 bars (128 steps): {time.perf_counter() - started:.2f} s (target <= 2 s)")
    print(f"harmonising a held-out chorale: {per_piece:.2f} s on average")
    nll = satb_model.nll_per_voice(model, test)
    print("NLL per voice step on the held-out chorales (nats): " + ", ".join(f"{k} {v:.3f}" for k, v in nll.items()))
    print(f"training (from the card): {card['epochs']} epochs, {card['train_seconds'] / 60:.1f} min")


def _cell(value: float) -> str:
    return f"{'-':>14}" if value != value else f"{value:14.2f}"


def _target(key: str, bach: dict) -> str:
    if key in TWICE_BACH:
        return f"{'<= ' + format(2 * bach[key], '.2f'):>14}"
    if key == "cadences":
        return f"{'>= 80':>14}"
    return f"{'':>14}"


if __name__ == "__main__":
    main()
