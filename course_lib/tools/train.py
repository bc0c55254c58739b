"""``python -m course_lib train NAME``: a recipe trained into a folder with its card, resumable.

The run itself is :func:`course_lib.runs.fit_resumable`'s; this adds the data's checksum, the
card (:mod:`course_lib.tools.cards`) and several devices (:mod:`course_lib.tools.devices`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras

from course_lib.checkpoints import Checkpoints, save_atomically
from course_lib.errors import CourseError
from course_lib.files import check_writable
from course_lib.runs import epoch_line
from course_lib.tools.cards import write_card
from course_lib.tools.devices import check_divides, data_parallel


def check_devices(recipe, devices: int) -> None:
    """Refuse ``--devices`` above 1 for a recipe that trains on one device, or a batch they cannot share."""
    if devices > 1 and not recipe.data_parallel:
        raise CourseError(f"--devices: {recipe.name} trains on one device; melody, chorale and chorale-made take more")
    if devices > 1:
        check_divides(devices, recipe.settings["batch_size"])


def curves(history: dict) -> dict:
    """``{"curves": ...}``: the NLL of every epoch on the training batches (dropout on) and on validation.

    Empty for a model whose history has no NLL (the GAN). Notebook 11 draws the Transformer-MADE's.
    """
    kept = {key: [round(float(value), 4) for value in history[key]] for key in ("nll", "val_nll") if key in history}
    return {"curves": kept} if kept else {}


def train(
    recipe,
    source: str | None = None,
    epochs: int | None = None,
    out: str | Path = Path("output") / "train",
    limit: int | None = None,
    time_limit: float | None = 9 * 60,
    progress: Callable[[str], None] | None = print,
    command: str | None = None,
    seed: int = 0,
    devices: int = 1,
    size: dict | None = None,
) -> dict:
    """Train a :class:`~course_lib.recipes.Recipe` into ``out/NAME/``: ``NAME.keras``, its card ``NAME.json``
    and ``checkpoint/`` (every epoch, atomically). Running it again resumes an unfinished run exactly.

    ``limit`` keeps the first ``limit`` pieces of each split only (a smoke test); ``command`` is
    recorded in the card; ``seed`` seeds the starting weights, dropout and batch order; ``size``
    overrides the builder's sizes (the tests train tiny models). A run resumes only with the same
    data, limit, seed and size. ``devices`` > 1 trains data-parallel (:mod:`course_lib.tools.devices`).
    Returns the card.
    """
    from course_lib import datasets, sources

    name = recipe.name
    source = source or recipe.default_source
    if source not in recipe.sources and (source in sources.SOURCES or len(recipe.sources) == 1):
        raise CourseError(f"{name} trains on {' or '.join(recipe.sources)}, not {source!r}")
    check_devices(recipe, devices)
    folder = check_writable(Path(out) / name)
    data = recipe.load_data(source, limit)
    checkpoints = Checkpoints(folder / "checkpoint")
    settings = {"model": name, "data": source, "data_sha256": datasets.sha256_of(sources.data_file(source))}
    checkpoints.check_settings({**settings, "limit": limit, "seed": seed, **({"size": size} if size else {})})
    if progress and checkpoints.exists():
        progress(f"resuming from {checkpoints.folder}")

    def report(epoch: int, scores: dict) -> None:
        if progress:
            progress(epoch_line(name, epoch, scores, recipe.shown, recipe.note))

    with data_parallel(devices, recipe.settings["batch_size"]) as where:
        if progress and devices > 1:
            progress(f"training on {where}")
        keras.utils.set_random_seed(seed)  # the starting weights
        model = recipe.build(data, size)
        history = recipe.fit(
            model,
            data,
            epochs or recipe.epochs,
            time_limit=time_limit,
            seed=seed,
            on_epoch=report,
            checkpoints=checkpoints,
        )
    path = save_atomically(recipe.saved(model), folder / f"{name}.keras", include_optimizer=False)
    card = write_card(
        recipe.saved(model),
        path,
        name=name,
        command=command or f"python -m course_lib train {name} --data {source}",
        data=source,
        data_file=sources.data_file(source),  # for an imported folder: its manifest
        seed=seed,
        devices=devices,
        epochs=len(history["seconds"]),
        train_seconds=round(history["seconds"][-1], 1),
        **curves(history),
        **recipe.card_fields(model, data, source, limit),
    )
    if progress:
        scores = {k: card[k] for k in ("valid", "test", "within_target") if k in card}
        progress(f"wrote {path} ({card['size_bytes'] / 1e6:.1f} MB); {scores}")
    return card
