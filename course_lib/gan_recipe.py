"""What ``python -m course_lib train gan`` and ``generate gan`` run: train, score, card, excerpts.

Notebook: 07_gan_pianoroll
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from course_lib import datasets, gan, gan_monitor
from course_lib.notes import Note, Piece, TempoMap

SCORE_SAMPLES, SCORE_SEED = 512, 99


def score(generator: keras.Model, monitor: gan_monitor.GanMonitor) -> dict[str, float]:
    """Metrics of ``SCORE_SAMPLES`` excerpts drawn with a fixed seed (argmax binarisation).

    Notebook: 07_gan_pianoroll
    """
    classes = gan.binarize(gan.sample(generator, SCORE_SAMPLES, SCORE_SEED))
    return gan_monitor.excerpt_metrics(classes, monitor.real_histogram)


class _SaveGenerator(keras.callbacks.Callback):
    """Write the generator atomically after every epoch, so an interrupted run leaves a usable model."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        from course_lib.training import save_atomically

        save_atomically(self.model.generator, self.path, include_optimizer=False)


def train(
    out: Path,
    minutes: float = 9.0,
    limit: int | None = None,
    progress: Callable[[str], None] | None = print,
    command: str = "python -m course_lib train gan",
) -> dict:
    """Train the WGAN-GP into ``out/gan/``: ``gan.keras`` (the generator) and its card ``gan.json``.

    The generator is saved after every 200 steps (``checkpoint/generator.keras``); a new run
    starts afresh. Returns the card.
    """
    from course_lib.tools.cards import write_card
    from course_lib.training import save_atomically

    real = gan.load_excerpts("train")[:limit]
    folder = Path(out) / "gan"

    def report(monitor: gan_monitor.GanMonitor) -> None:
        if progress:
            latest = monitor.history[-1]
            text = "  ".join(f"{k} {latest[k]:.2f}" for k in ("used_pitch_classes", "qualified_note_rate", "diversity"))
            flags = " ".join(monitor.flags)
            progress(f"gan step {int(latest['step']):5d}  {latest['seconds']:5.0f} s  {text}  {flags}")

    monitor = gan_monitor.GanMonitor(real, on_update=report)
    saver = _SaveGenerator(folder / "checkpoint" / "generator.keras")
    model = gan.train_gan(real, minutes=minutes, callbacks=[monitor, saver])
    path = save_atomically(model.generator, folder / "gan.keras", include_optimizer=False)
    generated = score(model.generator, monitor)
    within = [m for m in gan_monitor.MAIN_METRICS if gan_monitor.close_enough(generated[m], monitor.real[m])]
    card = write_card(
        model.generator,
        path,
        name="gan",
        command=command,
        data="chorales",
        data_file=datasets.CHORALES_FILE,
        training_excerpts=len(real),
        generator_steps=int(keras.ops.convert_to_numpy(model.generator_optimizer.iterations)),
        train_seconds=round(monitor.history[-1]["seconds"], 1),
        scored=f"{SCORE_SAMPLES} excerpts, seed {SCORE_SEED}, argmax binarisation",
        generated={k: round(v, 4) for k, v in generated.items()},
        data_metrics={k: round(v, 4) for k, v in monitor.real.items()},
        within_target=within,
        flags=gan_monitor.alarms(generated, monitor.real),
    )
    if progress:
        progress(f"wrote {path}; {len(within)} of 6 main metrics within target; flags: {card['flags'] or 'none'}")
    return card


def excerpts_to_piece(classes: np.ndarray, tempo: float = datasets.CHORALE_TEMPO_BPM) -> Piece:
    """Excerpts ``(count, steps, voices)`` one after another as a four-voice :class:`Piece`.

    Notebook: 07_gan_pianoroll
    """
    notes = []
    step = 1.0 / gan.STEPS_PER_BEAT
    for index, excerpt in enumerate(np.asarray(classes)):
        offset = index * gan.STEPS * step
        for voice in range(excerpt.shape[1]):
            line = excerpt[:, voice]
            start = 0
            for t in range(1, len(line) + 1):
                if t == len(line) or line[t] != line[start]:
                    if line[start] > 0:
                        pitch = int(line[start]) - 1 + gan.LOWEST
                        notes.append(Note(offset + start * step, offset + t * step, pitch, 80, voice))
                    start = t
    return Piece(notes, TempoMap.constant(tempo), (4, 4))


def generate(generator: keras.Model, count: int = 4, seed: int = 0, mode: str = "argmax") -> Piece:
    """``count`` generated two-bar excerpts in a row, as a piece.

    Notebook: 07_gan_pianoroll
    """
    return excerpts_to_piece(gan.binarize(gan.sample(generator, count, seed), mode, seed))
