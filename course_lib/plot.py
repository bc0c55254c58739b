"""Pictures of music: piano rolls with pitch names, bar lines and a colour per voice.

Notebook: 00_setup_check
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from course_lib.notes import Note, Piece, pitch_name
from course_lib.pianoroll import PIANO_LOWEST, as_piece
from course_lib.voices import VOICE_NAMES

VOICE_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
MAX_GRID_LINES = 2000


def plot_pianoroll(
    music: Piece | Iterable[Note] | np.ndarray,
    steps_per_beat: int = 4,
    lowest: int = PIANO_LOWEST,
    beats_per_bar: float | None = None,
    pickup: float | None = None,
    voice_names: Sequence[str] | None = None,
    title: str | None = None,
    ax=None,
):
    """Draw notes (or a roll) as coloured bars: time in beats across, pitch up.

    Pitch ticks are named (C4, E4, ...), bar lines are solid and beat lines faint (left out
    beyond :data:`MAX_GRID_LINES` of them, or when the bar length is 0). A
    :class:`Piece` supplies its own bar length and pickup. A roll of shape
    ``(time, pitch)`` or ``(voice, time, pitch)`` is read with ``steps_per_beat`` and ``lowest``.

    Returns the matplotlib ``Axes``.

    Notebook: 00_setup_check
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    piece = as_piece(music, steps_per_beat, lowest)
    notes = piece.pitched_notes  # drum hits have no pitch to draw
    beats_per_bar = beats_per_bar if beats_per_bar is not None else piece.beats_per_bar
    pickup = pickup if pickup is not None else piece.pickup
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.5))
    voices = sorted({n.voice for n in notes})
    for voice in voices:  # one collection of rectangles per voice: fast for thousands of notes
        boxes = [
            [(n.start, n.pitch - 0.4), (n.end, n.pitch - 0.4), (n.end, n.pitch + 0.4), (n.start, n.pitch + 0.4)]
            for n in notes
            if n.voice == voice
        ]
        colour = VOICE_COLOURS[voice % len(VOICE_COLOURS)]
        ax.add_collection(PolyCollection(boxes, facecolors=colour, edgecolors="black", linewidths=0.3))
    end = max((n.end for n in notes), default=beats_per_bar if beats_per_bar > 0 else 4.0)
    low = min((n.pitch for n in notes), default=60) - 2
    high = max((n.pitch for n in notes), default=72) + 2
    if end <= MAX_GRID_LINES:  # a line per beat; an hours-long piece would draw millions
        for beat in np.arange(0, end + 1e-9, 1.0):
            ax.axvline(beat, color="0.85", linewidth=0.5, zorder=0)
    if 0 < beats_per_bar and (end - pickup) / beats_per_bar <= MAX_GRID_LINES:  # 0/4 has no bars
        for bar in np.arange(pickup, end + 1e-9, beats_per_bar):
            ax.axvline(bar, color="0.35", linewidth=1.0, zorder=0)
    ticks = [p for p in range(low, high + 1) if p % 12 in (0, 4, 7)]
    ax.set_yticks(ticks)
    ax.set_yticklabels([pitch_name(p) for p in ticks])
    ax.set_xlim(0, end)
    ax.set_ylim(low, high)
    ax.set_xlabel("beat")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title, loc="left" if len(voices) > 1 else "center")  # the voices' legend goes top right
    if len(voices) > len(VOICE_COLOURS):  # colours repeat: a legend would cover the notes and name none
        box = {"facecolor": "white", "alpha": 0.8, "linewidth": 0}
        ax.text(0.995, 0.98, f"{len(voices)} voices", transform=ax.transAxes, ha="right", va="top", bbox=box)
    elif len(voices) > 1:
        names = voice_names or (VOICE_NAMES if len(voices) <= 4 else [f"voice {v}" for v in voices])
        handles = [
            Patch(color=VOICE_COLOURS[v % len(VOICE_COLOURS)], label=names[i] if i < len(names) else f"voice {v}")
            for i, v in enumerate(voices)
        ]
        # above the axes, not over the top notes
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize="small", ncol=len(handles))
    return ax


def _panels(count: int, width: float, height: float, axes=None) -> np.ndarray:
    """``count`` side-by-side axes of ``width`` x ``height`` inches each, or the given ones, flattened."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, count, figsize=(width * count, height), squeeze=False)
    return np.asarray(axes).ravel()


def plot_training_curves(history, metrics: Sequence[str] | None = None, title: str | None = None, axes=None):
    """Training and validation curves per epoch, one panel per metric.

    ``history`` is a Keras ``History`` or its ``.history`` dict; a ``val_x`` series is drawn
    beside ``x`` with the best validation epoch marked. Returns the array of ``Axes``.

    Notebook: 05_lstm_melody
    """
    curves = dict(getattr(history, "history", history))
    names = list(metrics) if metrics else [k for k in curves if not k.startswith("val_")]
    if not names:
        raise ValueError("the history holds no metrics to plot")
    axes = _panels(len(names), 4.5, 3.2, axes)
    for ax, name in zip(axes, names, strict=True):
        epochs = np.arange(1, len(curves[name]) + 1)
        ax.plot(epochs, curves[name], "o-", markersize=3, label="training")
        validation = curves.get(f"val_{name}")
        if validation is not None:
            ax.plot(epochs, validation, "o-", markersize=3, label="validation")
            lower_is_better = "loss" in name or "nll" in name
            best = int(np.argmin(validation) if lower_is_better else np.argmax(validation))
            ax.axvline(epochs[best], color="0.6", linestyle=":", linewidth=1)
            ax.legend(fontsize="small")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
    if title:
        axes[0].figure.suptitle(title)
    return axes


def plot_metric_comparison(
    values: dict[str, dict[str, float]],
    reference: dict[str, float] | None = None,
    reference_label: str = "data",
    axes=None,
):
    """Bars per model for each metric, with the data's value as a dashed reference line.

    ``values`` maps model name to ``{metric: value}``; ``reference`` maps metric to the value
    measured on real music. Returns the array of ``Axes``, one per metric.

    Notebook: 08_evaluation
    """
    models = list(values)
    metric_names = sorted({m for per_model in values.values() for m in per_model})
    if not metric_names:
        raise ValueError("no metric values to plot")
    axes = _panels(len(metric_names), 3.2, 3.0, axes)
    for ax, metric in zip(axes, metric_names, strict=True):
        heights = [values[m].get(metric, np.nan) for m in models]
        colours = [VOICE_COLOURS[i % len(VOICE_COLOURS)] for i in range(len(models))]
        ax.bar(range(len(models)), heights, color=colours)
        if reference and metric in reference:
            ax.axhline(reference[metric], color="black", linestyle="--", linewidth=1, label=reference_label)
            ax.legend(fontsize="small")
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models, rotation=30, ha="right", fontsize="small")
        ax.set_title(metric, fontsize="medium")
    return axes
