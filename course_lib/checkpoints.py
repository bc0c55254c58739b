"""A training run's checkpoint folder and the callbacks that make its resume exact.

:class:`Checkpoints` is the folder; :class:`EpochSeeds` seeds each epoch's batches and dropout
from the seed and the epoch alone; :class:`RunState` records the history and the counters of
early stopping and of the learning-rate schedule after every epoch, and puts them back when a
run resumes; :class:`AtEpochEnd` lets those callbacks see the averaged weights. Used by
:func:`course_lib.runs.fit_resumable`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from course_lib.errors import CourseError
from course_lib.files import atomic_path, remove_partial_files, write_text_atomically


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
