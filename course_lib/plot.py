"""Pictures of music: piano rolls with pitch names, bar lines and a colour per voice.

Notebook: 00_setup_check
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from course_lib.notes import Note, Piece, as_notes, pitch_name
from course_lib.pianoroll import PIANO_LOWEST

VOICE_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
VOICE_NAMES = ("soprano", "alto", "tenor", "bass")


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

    Pitch ticks are named (C4, E4, ...), bar lines are solid and beat lines faint. A
    :class:`Piece` supplies its own bar length and pickup. A roll of shape
    ``(time, pitch)`` or ``(voice, time, pitch)`` is read with ``steps_per_beat`` and ``lowest``.

    Returns the matplotlib ``Axes``.

    Notebook: 00_setup_check
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if isinstance(music, np.ndarray):
        from course_lib.pianoroll import from_pianoroll

        notes = from_pianoroll(music, steps_per_beat, lowest)
    else:
        notes = as_notes(music)
        if isinstance(music, Piece):
            beats_per_bar = beats_per_bar if beats_per_bar is not None else music.beats_per_bar
            pickup = pickup if pickup is not None else music.pickup
    beats_per_bar = beats_per_bar if beats_per_bar is not None else 4.0
    pickup = pickup or 0.0
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.5))
    voices = sorted({n.voice for n in notes})
    for note in notes:
        colour = VOICE_COLOURS[note.voice % len(VOICE_COLOURS)]
        ax.broken_barh(
            [(note.start, note.duration)], (note.pitch - 0.4, 0.8), facecolors=colour, edgecolors="black", linewidth=0.3
        )
    end = max((n.end for n in notes), default=beats_per_bar)
    low = min((n.pitch for n in notes), default=60) - 2
    high = max((n.pitch for n in notes), default=72) + 2
    for beat in np.arange(0, end + 1e-9, 1.0):
        ax.axvline(beat, color="0.85", linewidth=0.5, zorder=0)
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
        ax.set_title(title)
    if len(voices) > 1:
        names = voice_names or (VOICE_NAMES if len(voices) <= 4 else [f"voice {v}" for v in voices])
        handles = [
            Patch(color=VOICE_COLOURS[v % len(VOICE_COLOURS)], label=names[i] if i < len(names) else f"voice {v}")
            for i, v in enumerate(voices)
        ]
        ax.legend(handles=handles, loc="upper right", fontsize="small", ncol=len(handles))
    return ax
