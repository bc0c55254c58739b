"""Resumable training runs: one checkpoint folder, exact resume, a time limit and one progress line per epoch.

Every model of the recipe table (:mod:`course_lib.recipes`) trains through :func:`fit_resumable`:
``model.fit`` with Keras's own callbacks (``ReduceLROnPlateau``, ``EarlyStopping``,
``SwapEMAWeights``, ``BackupAndRestore``) and three of ours: :class:`EpochSeeds` (each epoch's
batches and dropout depend on the seed and the epoch alone), :class:`RunState` (the history and
the callbacks' counters, saved per epoch) and a time limit. A run stopped at any moment and
started again with the same command ends with the weights an uninterrupted run would have.

Used by ``python -m course_lib train`` (:func:`train`, with the recipes of :mod:`course_lib.recipes`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

from course_lib import autodiff, training
from course_lib.errors import CourseError
from course_lib.files import atomic_path, check_writable, remove_partial_files, write_text_atomically
from course_lib.training import TimeLimit


def save_atomically(model: keras.Model, path: str | Path, include_optimizer: bool = True) -> Path:
    """Save a model (``.keras``) whole or not at all (:func:`course_lib.files.atomic_path`).

    ``include_optimizer=False`` saves the architecture and weights only (a third of the size
    with Adam): what a finished model needs, not a checkpoint.
    """
    if not include_optimizer and getattr(model, "optimizer", None) is not None:
        bare = model.__class__.from_config(model.get_config())  # uncompiled (clone_model would keep compile)
        bare.set_weights(model.get_weights())
        model = bare
    with atomic_path(path) as temporary:
        model.save(temporary)
    return Path(path)


class CheckpointMismatch(CourseError, ValueError):
    """A checkpoint folder holds another model, or a run on other data or settings."""


def weight_shapes(model: keras.Model) -> list[list[int]]:
    return [list(variable.shape) for variable in model.weights]


class Checkpoints:
    """A training run's folder, which running the same training again resumes from.

    ``backup/`` is Keras's ``BackupAndRestore``: the model and optimizer after the latest epoch
    (with the epoch before kept as a spare). ``state.json`` and ``best-N.npz`` hold what that
    callback does not: the history, the counters of early stopping and of the learning-rate
    schedule, and the best weights so far. They are written atomically, per epoch, before the
    backup; the last two epochs are kept, so a run stopped at any moment resumes from an epoch
    whose files are all whole. ``run.json`` records what the run trains on.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.backup, self.state = self.folder / "backup", self.folder / "state.json"
        self.settings = self.folder / "run.json"
        remove_partial_files(self.folder)  # left by a run killed while saving

    def check_settings(self, settings: dict) -> None:
        """Record what this run trains on, or refuse to resume a run that trained on something else."""
        if not self.exists():
            write_text_atomically(self.settings, json.dumps(settings, indent=1, sort_keys=True) + "\n")
            return
        recorded = json.loads(self.settings.read_text()) if self.settings.exists() else {}
        differ = [
            f"{key} {recorded.get(key, 'unrecorded')!r} there, {value!r} now"
            for key, value in settings.items()
            if recorded.get(key) != value
        ]
        if differ:
            raise CheckpointMismatch(
                f"{self.folder.parent} holds a run with other settings ({'; '.join(differ)}); "
                "train into another --out folder, or delete that folder to start afresh"
            )

    def exists(self) -> bool:
        """True when a run can resume from this folder."""
        return self.state.exists() and self.backup.exists()

    def read(self) -> dict:
        """The saved states, by the number of epochs done: ``{"3": {...}, "4": {...}}``."""
        return json.loads(self.state.read_text())["epochs_done"] if self.state.exists() else {}

    def latest(self) -> dict | None:
        """The state after the last saved epoch, or None."""
        states = self.read()
        return states[max(states, key=int)] if states else None

    def check_model(self, model: keras.Model) -> None:
        """Refuse, before Keras half-loads it, a checkpoint of a model with other weights."""
        latest = self.latest()
        if latest is not None and latest["weight_shapes"] != weight_shapes(model):
            raise CheckpointMismatch(
                f"{self.folder} holds a checkpoint of a different model; delete it or train into another folder"
            )

    def best_weights(self, state: dict) -> list[np.ndarray] | None:
        if state.get("best_file") is None:
            return None
        with np.load(self.folder / state["best_file"]) as saved:
            return [saved[f"arr_{i}"] for i in range(len(saved.files))]

    def write(self, done: int, state: dict, best_weights: list[np.ndarray] | None, improved: bool) -> None:
        """Record the state after ``done`` epochs (and the best weights, when they changed)."""
        previous = self.latest()
        state = {**state, "best_file": previous["best_file"] if previous else None}
        if best_weights is not None and (improved or state["best_file"] is None):
            state["best_file"] = f"best-{done}.npz"
            with atomic_path(self.folder / state["best_file"]) as temporary:
                np.savez(temporary, *best_weights)
        states = {k: v for k, v in self.read().items() if int(k) == done - 1}
        states[str(done)] = state
        write_text_atomically(self.state, json.dumps({"epochs_done": states}, indent=1) + "\n")
        kept = {s["best_file"] for s in states.values()}
        for path in self.folder.glob("best-*.npz"):
            if path.name not in kept:
                path.unlink()


def reseed(model: keras.Model, seed: int) -> None:
    """Seed Keras's global RNG and every random layer of ``model`` (dropout) from ``seed``.

    Each dropout layer keeps its own random state; setting the global seed alone would not
    reset it, so a resumed run would draw different masks than an uninterrupted one.
    """
    keras.utils.set_random_seed(seed)
    generators = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    for i, variable in enumerate(generators):
        variable.assign(np.array([seed * 1009 + i, 0], dtype=variable.dtype))


class EpochSeeds(keras.callbacks.Callback):
    """At the start of epoch ``e``: the batches of epoch ``e`` (:class:`~course_lib.training.EpochBatches`)
    and dropout seeded from ``seed + e``, so an epoch draws the same whether the run got there in one
    go or resumed."""

    def __init__(self, batches, seed: int) -> None:
        super().__init__()
        self.batches, self.seed = batches, seed

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.batches.set_epoch(epoch)
        reseed(self.model, self.seed + epoch)


class AtEpochEnd(keras.callbacks.Callback):
    """Runs ``callbacks`` as part of the list ``fit`` calls; with ``averaged_weights``, their epoch-end
    hooks see the model's averaged weights.

    Keras's ``SwapEMAWeights`` swaps the averages in (and back out) around validation. Early
    stopping must also keep the averages as the best weights, and the checkpoint must hold the
    weights training goes on from: so this swaps the averages in for these callbacks alone, and
    back out before the next callback in the list (the backup) runs.
    """

    def __init__(self, callbacks: Sequence[keras.callbacks.Callback], averaged_weights: bool) -> None:
        super().__init__()
        self.callbacks = list(callbacks)
        self.swap = keras.callbacks.SwapEMAWeights() if averaged_weights else None

    def set_model(self, model) -> None:
        super().set_model(model)
        for callback in self.callbacks + ([self.swap] if self.swap else []):
            callback.set_model(model)

    def set_params(self, params) -> None:
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def on_train_begin(self, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.swap:
            self.swap.on_test_begin()  # the averages in
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)
        if self.swap:
            self.swap.on_test_end()  # the training weights back

    def on_train_end(self, logs=None) -> None:
        for callback in self.callbacks:
            callback.on_train_end(logs)


class RunState(keras.callbacks.Callback):
    """The run's history, and what it takes to resume one exactly, kept in a :class:`Checkpoints` folder.

    After each epoch it records the history (every number in ``fit``'s logs, the learning rate
    when a schedule runs, and the seconds so far), the counters of early stopping and of the
    learning-rate schedule, and the best weights (without early stopping, the latest). When
    ``fit`` resumes at epoch ``e`` it puts back the state recorded after ``e`` epochs, so both
    callbacks go on as if never stopped. Without a folder it only keeps the history.
    """

    def __init__(self, early_stopping=None, plateau=None, checkpoints: Checkpoints | None = None, on_epoch=None):
        super().__init__()
        self.early_stopping, self.plateau, self.checkpoints, self.on_epoch = (
            early_stopping,
            plateau,
            checkpoints,
            on_epoch,
        )
        self.history: dict[str, list[float]] = {}
        self.started, self.first_epoch_seen = time.perf_counter(), False

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if self.plateau is not None:
            self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        first, self.first_epoch_seen = not self.first_epoch_seen, True
        if first and epoch > 0 and self.checkpoints is not None:
            self.restore(epoch)

    def restore(self, epoch: int) -> None:
        """Put back the history and the callbacks' counters recorded after ``epoch`` epochs."""
        state = self.checkpoints.read().get(str(epoch))
        if state is None:
            raise CheckpointMismatch(
                f"{self.checkpoints.folder} has no record of epoch {epoch}; delete it to start afresh"
            )
        self.history = {key: values[:epoch] for key, values in state["history"].items()}
        for callback, name in ((self.early_stopping, "early_stopping"), (self.plateau, "plateau")):
            for field, value in state.get(name, {}).items():
                setattr(callback, field, value)
        if self.early_stopping is not None:
            self.early_stopping.best_weights = self.checkpoints.best_weights(state)
        self.started = time.perf_counter() - (self.history["seconds"][-1] if self.history.get("seconds") else 0.0)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        scores = {key: float(value) for key, value in (logs or {}).items() if np.ndim(value) == 0}
        if self.plateau is not None:
            scores["learning_rate"] = self.learning_rate
        scores["seconds"] = time.perf_counter() - self.started
        for key, value in scores.items():
            self.history.setdefault(key, []).append(value)
        if self.checkpoints is not None:
            early, plateau = self.early_stopping, self.plateau
            state = {
                "history": self.history,
                "stopped": bool(self.model.stop_training),
                "weight_shapes": weight_shapes(self.model),
            }
            if early is not None:
                state["early_stopping"] = {
                    "wait": early.wait,
                    "best": float(early.best),
                    "best_epoch": early.best_epoch,
                }
            if plateau is not None:
                state["plateau"] = {
                    "wait": plateau.wait,
                    "best": float(plateau.best),
                    "cooldown_counter": plateau.cooldown_counter,
                }
            if early is None:  # no validation (the GAN): the run's result is its latest weights
                self.checkpoints.write(epoch + 1, state, self.model.get_weights(), improved=True)
            else:
                self.checkpoints.write(epoch + 1, state, early.best_weights, early.best_epoch == epoch)
        if self.on_epoch:
            self.on_epoch(epoch, scores)


def epoch_line(
    name: str, epoch: int, scores: dict[str, float], shown: Sequence[tuple[str, str]], note: str = ""
) -> str:
    """One progress line: ``NAME epoch N``, the ``(label, key)`` scores in ``shown``, the learning rate, the time."""
    minutes, seconds = divmod(int(scores["seconds"]), 60)
    parts = [f"{name} epoch {epoch + 1:3d}", *(f"{label} {scores[key]:.3f}" for label, key in shown if key in scores)]
    if note:
        parts.append(note)
    if "learning_rate" in scores:
        parts.append(f"lr {scores['learning_rate']:.1e}")
    return "  ".join([*parts, f"{minutes:2d}:{seconds:02d}"])


def fit_resumable(
    model: keras.Model,
    training,
    validation=None,
    epochs: int = 200,
    monitor: str | None = "val_nll",
    patience: int = 10,
    lr_patience: int = 4,
    min_lr: float = 0.0,
    lr_min_delta: float = 0.0,
    time_limit: float | None = None,
    seed: int = 0,
    on_epoch: Callable[[int, dict], None] | None = None,
    checkpoints: Checkpoints | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    steps_per_epoch: int | None = None,
) -> dict[str, list[float]]:
    """``model.fit`` on ``training`` (:class:`~course_lib.training.EpochBatches`) with the course's callbacks.

    With a ``monitor`` (a validation score, lower is better), ``ReduceLROnPlateau`` halves the
    learning rate after ``lr_patience`` epochs without a better score (not below ``min_lr``), and
    ``EarlyStopping`` stops after ``patience`` and restores the best weights; weight averaging
    (``use_ema``) is what validation and early stopping see (:class:`AtEpochEnd`). Without one
    (the GAN) the run goes on until ``epochs`` or the time limit. ``BackupAndRestore`` saves every
    epoch into ``checkpoints`` so a stopped run resumes; :class:`RunState` makes it go on exactly
    as an uninterrupted one would; ``time_limit`` seconds count the time of the run's earlier
    parts. A run whose folder says it has stopped, or has done ``epochs`` epochs, is not trained
    again: the best weights are loaded. ``callbacks`` run at every epoch's end before the run's
    record, and may add scores to the logs it records. Returns the history: every score of
    ``fit``'s logs per epoch, ``learning_rate`` and ``seconds``.
    """
    latest = None
    if checkpoints is not None:
        checkpoints.check_model(model)
        latest = checkpoints.latest() if checkpoints.exists() else None
        if latest is not None and (latest["stopped"] or len(latest["history"]["seconds"]) >= epochs):
            model.set_weights(checkpoints.best_weights(latest))
            return latest["history"]
    spent = latest["history"]["seconds"][-1] if latest is not None else 0.0  # a resumed run's time so far
    averaging = bool(getattr(model.optimizer, "use_ema", False))
    plateau = early_stopping = None
    if monitor is not None:
        plateau = keras.callbacks.ReduceLROnPlateau(
            monitor, factor=0.5, patience=lr_patience, mode="min", min_delta=lr_min_delta, min_lr=min_lr
        )
        early_stopping = keras.callbacks.EarlyStopping(
            monitor, patience=patience, mode="min", restore_best_weights=True
        )
    limit = TimeLimit(None if time_limit is None else time_limit - spent)
    state = RunState(early_stopping, plateau, checkpoints, on_epoch)
    ordered = [  # Keras calls them in this order at every epoch's start and end
        EpochSeeds(training, seed),
        *([keras.callbacks.SwapEMAWeights()] if averaging else []),  # validation sees the averaged weights
        *([plateau] if plateau else []),
        AtEpochEnd([*callbacks, *([early_stopping] if early_stopping else []), limit, state], averaging),
        *([keras.callbacks.BackupAndRestore(str(checkpoints.backup), delete_checkpoint=False)] if checkpoints else []),
    ]
    model.fit(
        training,
        validation_data=validation,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=ordered,
        shuffle=False,
        verbose=0,
    )
    return state.history


def compile_frame_model(model: keras.Model, learning_rate: float = 2e-3, averaging: float | None = None) -> None:
    """Adam (gradients clipped at norm 5), the frame loss and the frame metrics, for a piano-roll model.

    ``averaging`` (e.g. 0.99) keeps an exponential moving average of the weights (Polyak
    averaging), which smooths out the noise of the last steps: what is validated and kept.

    """
    optimizer = keras.optimizers.Adam(
        learning_rate, clipnorm=5.0, use_ema=averaging is not None, ema_momentum=averaging or 0.99
    )
    model.compile(
        optimizer=optimizer,
        loss=training.frame_loss,
        weighted_metrics=training.frame_metrics(),
        steps_per_execution=autodiff.steps_per_call(),
    )


def compile_token_model(model: keras.Model, learning_rate: float = 2e-3) -> None:
    """Adam (gradients clipped at norm 5), the token loss and the token metrics, for a melody model."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss=training.token_loss,
        weighted_metrics=training.token_metrics(),
        steps_per_execution=autodiff.steps_per_call(),
    )


def train_token_model(
    model: keras.Model,
    train: np.ndarray,
    valid: np.ndarray,
    epochs: int = 100,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
    **run_options,
) -> dict[str, list[float]]:
    """Fit a melody LSTM on ``(count, length)`` token windows with early stopping on the validation NLL.

    Each window is a training example: tokens ``0..length-2`` in, tokens ``1..length-1`` as
    targets. ``run_options`` go to :func:`fit_resumable`. Returns the history.
    """
    compile_token_model(model, learning_rate)
    batches = training.TokenBatches(train, batch_size, seed=seed)
    validation = training.TokenBatches(valid, training.VALIDATION_WINDOWS, shuffle=False)
    return fit_resumable(model, batches, validation, epochs, seed=seed, **run_options)


def train_frame_model(
    model: keras.Model,
    train: list[np.ndarray],
    valid: list[np.ndarray],
    epochs: int = 200,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    transpose: int = 0,
    averaging: float | None = None,
    seed: int = 0,
    **run_options,
) -> dict[str, list[float]]:
    """Fit a piano-roll LSTM or LSTM-MADE on whole pieces with early stopping on the validation NLL.

    ``transpose`` > 0 moves every training piece by a random number of semitones each epoch;
    ``averaging`` keeps a moving average of the weights (:func:`compile_frame_model`).
    ``run_options`` go to :func:`fit_resumable`. Returns the history.
    """
    compile_frame_model(model, learning_rate, averaging)
    made = len(model.inputs) == 2
    batches = training.FrameBatches(train, batch_size, made, seed=seed, transpose=transpose)
    validation = training.FrameBatches(valid, training.VALIDATION_BATCH, made, shuffle=False)
    return fit_resumable(model, batches, validation, epochs, seed=seed, **run_options)


def check_devices(recipe, devices: int) -> None:
    """Refuse ``--devices`` above 1 for a recipe that trains on one device, or a batch they cannot share."""
    from course_lib.tools.devices import check_divides

    if devices > 1 and not recipe.data_parallel:
        raise CourseError(f"--devices: {recipe.name} trains on one device; melody, chorale and chorale-made take more")
    if devices > 1:
        check_divides(devices, recipe.settings.get("batch_size", recipe.batch_size))


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
    from course_lib.tools.cards import write_card
    from course_lib.tools.devices import data_parallel

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

    with data_parallel(devices, recipe.settings.get("batch_size", recipe.batch_size)) as where:
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
        **recipe.card_fields(model, data, source, limit),
    )
    if progress:
        scores = {k: card[k] for k in ("valid", "test", "within_target") if k in card}
        progress(f"wrote {path} ({card['size_bytes'] / 1e6:.1f} MB); {scores}")
    return card
