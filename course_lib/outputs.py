"""Files a generated or harmonised piece is written as: one function, :func:`write_outputs`.

Used by ``python -m course_lib generate``, ``harmonise`` and ``score``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from course_lib.notes import Piece


def write_outputs(piece: Piece, stem: Path, title: str, **score_options: Any) -> list[Path]:
    """Write ``stem.mid``, ``stem.wav``, ``stem.png`` (the piano roll) and the score ``stem.musicxml`` and ``stem.svg``.

    The score is quantised to sixteenth notes; ``score_options`` (``satb``, ``fermatas``, ``marks``)
    go to :func:`course_lib.score.engrave`. Music too long to engrave is refused before anything
    is written.
    """
    from matplotlib.figure import Figure

    from course_lib import score
    from course_lib.audio import synthesize, wav_bytes
    from course_lib.midi import write_midi
    from course_lib.plot import plot_pianoroll

    score.check_size(piece)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(s) for s in (".mid", ".wav", ".png")]
    write_midi(piece, paths[0])
    paths[1].write_bytes(wav_bytes(synthesize(piece)))
    figure = Figure(figsize=(9, 2.8))  # drawn off screen: no pyplot state, no backend switch
    plot_pianoroll(piece, title=title, ax=figure.add_subplot())
    figure.savefig(paths[2], dpi=100, bbox_inches="tight")
    engraving = score.engrave(piece, title=title, grid=score.DEFAULT_GRID, **score_options)
    return paths + engraving.write(stem)
