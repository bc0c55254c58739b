"""Watching a GAN train: music metrics of generated against real excerpts, and alarms.

A GAN's losses say little about the music. Every few hundred steps :class:`GanMonitor` draws
excerpts from the generator, scores them with :func:`excerpt_metrics` beside the real data,
counts the generated excerpts that are training excerpts note for note (:func:`copied_share`),
and raises a flag for the classic failures: mode collapse (every sample alike: diversity far
below the data's), silence (rests everywhere) and memorising (copies of training excerpts).

Notebook: 07_gan_pianoroll
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import combinations

import keras
import numpy as np

from course_lib import gan, metrics

STEPS_PER_BAR = gan.BEATS_PER_BAR * gan.STEPS_PER_BEAT
MAIN_METRICS = (
    "empty_bar_rate",
    "used_pitch_classes",
    "qualified_note_rate",
    "polyphony",
    "in_scale_rate",
    "tonal_distance",
)
QUALIFIED_STEPS = 2  # a quarter note or longer, at two steps per beat
COPIED_ALARM = 0.05  # a share of copied excerpts above this raises the memorising flag


def excerpt_keys(classes: np.ndarray) -> set[bytes]:
    """Each excerpt ``(steps, voices)`` as bytes, for an exact lookup.

    Notebook: 07_gan_pianoroll
    """
    return {excerpt.tobytes() for excerpt in np.asarray(classes, dtype=np.int16)}


def copied_share(classes: np.ndarray, training: set[bytes]) -> float:
    """The share of excerpts ``(count, steps, voices)`` that are, note for note, in ``training`` (:func:`excerpt_keys`).

    Diversity cannot see copying (it compares generated excerpts with each other); this can.

    Notebook: 07_gan_pianoroll
    """
    keys = [excerpt.tobytes() for excerpt in np.asarray(classes, dtype=np.int16)]
    return sum(key in training for key in keys) / len(keys) if keys else float("nan")


def excerpt_metrics(classes: np.ndarray, reference_histogram: np.ndarray | None = None) -> dict[str, float]:
    """Music metrics of SATB excerpts given as class ids ``(count, steps, voices)``.

    ``empty_bar_rate`` is per voice and bar; ``used_pitch_classes`` counts the pitch classes of
    all four voices together per bar; ``qualified_note_rate`` is the share of notes of at least
    a quarter; ``polyphony`` counts the pitches sounding at once; ``in_scale_rate`` is the share
    of notes in C major / A minor (the data's keys); ``tonal_distance`` is averaged over the six
    pairs of voices. With ``reference_histogram``, ``pch_distance`` is the pitch-class
    histogram's distance to it. ``diversity`` compares random pairs of excerpts.

    Notebook: 07_gan_pianoroll
    """
    rolls = gan.to_rolls(classes)  # (count, voices, steps, 88)
    merged = rolls.any(axis=1)
    scores = {
        "empty_bar_rate": np.mean([metrics.empty_bar_rate(voice, STEPS_PER_BAR) for roll in rolls for voice in roll]),
        "used_pitch_classes": _mean([metrics.used_pitch_classes(m, STEPS_PER_BAR) for m in merged]),
        "qualified_note_rate": metrics.qualified_note_rate(_notes_roll(rolls), QUALIFIED_STEPS),
        "polyphony": metrics.polyphony(merged.reshape(-1, merged.shape[-1])),
        "in_scale_rate": metrics.in_scale_rate(rolls.reshape(-1, *rolls.shape[-2:])),
        "tonal_distance": _mean(
            [metrics.tonal_distance(r[a], r[b], STEPS_PER_BAR) for r in rolls for a, b in combinations(range(4), 2)]
        ),
        "diversity": metrics.diversity(merged) if len(merged) > 1 else float("nan"),
    }
    histogram = metrics.pitch_class_histogram(merged.reshape(-1, merged.shape[-1]))
    if reference_histogram is not None:
        scores["pch_distance"] = metrics.histogram_distance(histogram, reference_histogram) if histogram.sum() else 1.0
    return {name: float(value) for name, value in scores.items()}


def _mean(values: list[float]) -> float:
    """Mean of the values that are not NaN; NaN (without a warning) when there are none."""
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _notes_roll(rolls: np.ndarray) -> np.ndarray:
    """All voices of all excerpts one after another in time, with a silent step between excerpts,
    so that every note of every voice is a separate run of one key."""
    count, voices, steps, keys = rolls.shape
    padded = np.zeros((count * voices, steps + 1, keys), dtype=bool)
    padded[:, :steps] = rolls.reshape(count * voices, steps, keys)
    return padded.reshape(-1, keys)


def close_enough(value: float, target: float, relative: float = 0.15, absolute_below: float = 0.1) -> bool:
    """The course's target: within 15% of the data's value, or 0.05 absolute when the data's value is below 0.1.

    Notebook: 07_gan_pianoroll
    """
    if target < absolute_below:
        return abs(value - target) <= 0.05
    return abs(value - target) <= relative * abs(target)


def within_target(generated: dict[str, float], real: dict[str, float]) -> list[str]:
    """The main metrics (:data:`MAIN_METRICS`, in that order) on which ``generated`` is close enough to ``real``.

    Notebook: 07_gan_pianoroll
    """
    return [name for name in MAIN_METRICS if close_enough(generated[name], real[name])]


def alarms(generated: dict[str, float], real: dict[str, float]) -> list[str]:
    """Flags for mode collapse and silence, each with a one-line suggestion.

    Notebook: 07_gan_pianoroll
    """
    found = []
    if generated["diversity"] < 0.5 * real["diversity"]:
        found.append(
            f"mode collapse: diversity {generated['diversity']:.2f} against the data's {real['diversity']:.2f}. "
            "Try the WGAN-GP loss, more critic steps per generator step, or a lower learning rate."
        )
    if generated["empty_bar_rate"] > real["empty_bar_rate"] + 0.3 or generated["polyphony"] < 1.5:
        found.append(
            f"silence: {generated['empty_bar_rate']:.0%} of voice-bars are empty (data {real['empty_bar_rate']:.0%}). "
            "Train longer, or check that real excerpts and generated ones use the same encoding."
        )
    if generated.get("copied", 0.0) > COPIED_ALARM:
        found.append(
            f"memorising: {generated['copied']:.0%} of the generated excerpts are training excerpts. "
            "Stop earlier, or train on more data (transposed copies)."
        )
    return found


class GanMonitor(keras.callbacks.Callback):
    """Every epoch (``steps_per_epoch`` generator steps in ``fit``), score ``samples`` generated
    excerpts against the real ones and keep the history; ``on_update(monitor)`` can redraw a plot.

    Notebook: 07_gan_pianoroll
    """

    def __init__(
        self,
        real_classes: np.ndarray,
        samples: int = 256,
        on_update: Callable[[GanMonitor], None] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.real_histogram = metrics.pitch_class_histogram(gan.to_rolls(real_classes).any(axis=1).reshape(-1, 88))
        pick = np.random.default_rng(seed).choice(len(real_classes), min(samples, len(real_classes)), replace=False)
        self.real = excerpt_metrics(real_classes[pick], self.real_histogram)
        self.training = excerpt_keys(real_classes)
        self.samples, self.on_update, self.seed = samples, on_update, seed
        self.history: list[dict[str, float]] = []
        self.flags: list[str] = []
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        classes = gan.binarize(self.model.sample(self.samples, seed=self.seed + 1))
        scores = excerpt_metrics(classes, self.real_histogram)
        scores["copied"] = copied_share(classes, self.training)
        scores.update(
            step=float((epoch + 1) * (self.params or {}).get("steps", 0)),
            seconds=time.perf_counter() - self.started,
            **{k: float(v) for k, v in (logs or {}).items()},
        )
        self.history.append(scores)
        if logs is not None:  # for the callbacks after this one: a training run's record keeps them
            shown = (*MAIN_METRICS, "diversity", "pch_distance", "copied")
            logs.update({name: scores[name] for name in shown if name in scores})
        self.flags = alarms(scores, self.real)
        if self.on_update:
            self.on_update(self)

    def table(self) -> str:
        """The latest scores beside the data's, with a mark where the course's target is met."""
        latest = self.history[-1] if self.history else {}
        met = within_target(latest, self.real) if latest else []
        lines = [f"{'metric':<22}{'generated':>10}{'data':>8}  within target"]
        for name in (*MAIN_METRICS, "diversity", "pch_distance"):
            if name in latest:
                real = self.real.get(name, 0.0)
                mark = ("yes" if name in met else "no") if name in MAIN_METRICS else ""
                lines.append(f"{name:<22}{latest[name]:10.3f}{real:8.3f}  {mark}")
        if "copied" in latest:  # the data's own excerpts are all in the data: no column to compare
            lines.append(f"{'copied':<22}{latest['copied']:10.3f}{'':8}  (training excerpts, note for note)")
        return "\n".join(lines + [f"flag: {flag}" for flag in self.flags])


def plot_history(monitor: GanMonitor, names: tuple[str, ...] = MAIN_METRICS, axes=None):
    """One small panel per metric: generated excerpts over training steps, the data's value dashed.

    Notebook: 07_gan_pianoroll
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.4), layout="constrained")
    steps = [h["step"] for h in monitor.history]
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        ax.plot(steps, [h[name] for h in monitor.history], "o-", markersize=3, label="generated")
        ax.axhline(monitor.real[name], color="0.3", linestyle="--", linewidth=1, label="data")
        ax.set_title(name.replace("_", " "), fontsize="medium")
        ax.set_xlabel("generator step")
    np.atleast_1d(axes)[0].legend(fontsize="small")
    return axes


def live_monitor(real_classes: np.ndarray, **options) -> GanMonitor:
    """A :class:`GanMonitor` whose panels and table are redrawn in place in the cell's output as training goes.

    The redraw replaces two outputs of the running cell by their display ids (``update_display_data``),
    which JupyterLab, Colab, VS Code and a notebook client such as nbgrader all show the same way. It does
    not capture output in an ``ipywidgets.Output``: a headless client answers each capture with a widget
    update on the shell channel, and that answer can hide the cell's reply from the client and stall
    it (README, "When a notebook run stalls").

    Notebook: 07_gan_pianoroll
    """
    import matplotlib.pyplot as plt
    from IPython.display import DisplayHandle, Pretty

    panels, table = DisplayHandle(), DisplayHandle()
    drawn = {"yet": False}

    def redraw(monitor: GanMonitor) -> None:
        figure = np.atleast_1d(plot_history(monitor))[0].figure
        plt.close(figure)  # shown through its handle only, not again when the cell ends
        for handle, content in ((panels, figure), (table, Pretty(monitor.table()))):
            if drawn["yet"]:
                handle.update(content)
            else:
                handle.display(content)
        drawn["yet"] = True

    return GanMonitor(real_classes, on_update=redraw, **options)


SCORE_SAMPLES, SCORE_SEED = 512, 99  # what a model card's scores are measured on


def score(generator: keras.Model, monitor: GanMonitor) -> dict[str, float]:
    """Metrics of ``SCORE_SAMPLES`` excerpts drawn with a fixed seed (argmax binarisation), copies included.

    Notebook: 07_gan_pianoroll
    """
    classes = gan.binarize(gan.sample(generator, SCORE_SAMPLES, SCORE_SEED))
    return {**excerpt_metrics(classes, monitor.real_histogram), "copied": copied_share(classes, monitor.training)}
