"""Training the course's models with ``model.fit``: batches of fixed shapes, Keras's own
callbacks, and a checkpoint folder that a stopped run resumes from.

Notebooks 05 and 06 call ``fit`` themselves with the pieces defined here (the batches, the loss,
the metrics); the command line trains through :func:`train_frame_model` and
:func:`train_token_model`, which add the checkpoint folder.

Notebook: 06_lstm_chorales
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

from course_lib.errors import CourseError
from course_lib.metrics import frame_accuracy, frame_nll_from_logits

PARTIAL_PREFIX = "partial-"  # temporary files of an atomic save, removed when the next run opens the folder
BUCKET = 16  # a batch of pieces is padded to the next multiple of this many frames
LONGEST = 512  # frames predicted per row; a longer piece is cut into rows this long
VALIDATION_BATCH = 64  # pieces per validation batch: an LSTM steps through time, so fewer, wider batches are faster
VALIDATION_WINDOWS = 256  # melody windows per validation (and evaluation) batch, for the same reason


def pad_pairs(sequences: Sequence[np.ndarray], steps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(previous, current, weights)`` for predicting frame t+1 from frames up to t, zero-padded.

    ``previous[i, t] = x_i[t]`` and ``current[i, t] = x_i[t + 1]``; ``weights`` is 1 on real steps.
    ``steps`` pads to that many steps (default: the longest sequence's).

    Notebook: 06_lstm_chorales
    """
    steps = steps or max(len(s) for s in sequences) - 1
    keys = sequences[0].shape[1]
    previous = np.zeros((len(sequences), steps, keys), "float32")
    current = np.zeros_like(previous)
    weights = np.zeros((len(sequences), steps), "float32")
    for i, sequence in enumerate(sequences):
        n = len(sequence) - 1
        previous[i, :n], current[i, :n], weights[i, :n] = sequence[:-1], sequence[1:], 1.0
    return previous, current, weights


def shift_keys(roll: np.ndarray, semitones: int) -> np.ndarray:
    """A ``(time, keys)`` roll moved up (positive) or down by ``semitones``; what leaves the range is dropped.

    Notebook: 06_lstm_chorales
    """
    out = np.zeros_like(roll)
    if semitones >= 0:
        out[:, semitones:] = roll[:, : roll.shape[1] - semitones]
    else:
        out[:, :semitones] = roll[:, -semitones:]
    return out


def bucket_steps(steps: int, bucket: int = BUCKET) -> int:
    """``steps`` rounded up to a multiple of ``bucket``: the few lengths a batch can have."""
    return -(-steps // bucket) * bucket


def cut_long(sequences: Sequence[np.ndarray], longest: int = LONGEST) -> list[np.ndarray]:
    """Pieces with more than ``longest`` steps cut into rows of ``longest`` steps.

    Consecutive rows share one frame, so every step of a piece is predicted exactly once (each
    row starts from a fresh LSTM state). No JSB chorale is that long.
    """
    rows = []
    for sequence in sequences:
        for start in range(0, max(1, len(sequence) - 1), longest):
            rows.append(sequence[start : start + longest + 1])
    return rows


def batch_plan(lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Which rows go in which batch, in the order ``fit`` reads them.

    Rows of similar length share a batch (little padding). With ``rng`` the grouping and the
    order change from epoch to epoch; without, they follow length. Either way the longest batch
    comes first, so a run that does not fit in memory fails at once, and the shortest second:
    Keras reads the first two batches to learn which dimensions vary.

    Notebook: 06_lstm_chorales
    """
    noise = rng.uniform(0, 8, len(lengths)) if rng is not None else np.zeros(len(lengths))
    order = np.argsort(np.asarray(lengths) + noise, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    longest = max(range(len(batches)), key=lambda b: max(lengths[i] for i in batches[b]))
    shortest = min(range(len(batches)), key=lambda b: max(lengths[i] for i in batches[b]))
    rest = [b for b in range(len(batches)) if b not in (longest, shortest)]
    if rng is not None:
        rest = [rest[i] for i in rng.permutation(len(rest))]
    first = [longest] if longest == shortest else [longest, shortest]
    return [batches[b] for b in first + rest]


class FrameBatches(keras.utils.PyDataset):
    """Pieces (``(frames, keys)`` rolls) as ``fit`` reads them: ``(inputs, targets, weights)`` batches.

    Every batch holds ``batch_size`` rows (a short last batch is filled with empty rows of weight
    0) and is padded to a multiple of :data:`BUCKET` steps, so a compiling backend compiles once per
    length. ``weights`` mark the real steps. ``made=True`` gives the LSTM-MADE its two inputs
    (previous and current frames). With ``shuffle`` the batches change every epoch, from ``seed``
    and the epoch's number alone; ``transpose`` > 0 moves each piece by a random number of
    semitones in ``-transpose..transpose`` each epoch (data augmentation).

    Notebook: 06_lstm_chorales
    """

    def __init__(
        self,
        sequences: Sequence[np.ndarray],
        batch_size: int = 8,
        made: bool = False,
        shuffle: bool = True,
        seed: int = 0,
        transpose: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.rows = cut_long(sequences)
        self.batch_size, self.made, self.shuffle, self.seed, self.transpose = batch_size, made, shuffle, seed, transpose
        self.epoch, self.next_epoch = 0, 0
        self.lengths = [len(row) - 1 for row in self.rows]

    def set_epoch(self, epoch: int) -> None:
        """Make the next epoch that starts number ``epoch`` (a resumed run starts mid-way)."""
        self.next_epoch = epoch

    def on_epoch_begin(self) -> None:
        self.epoch, self.next_epoch = self.next_epoch, self.next_epoch + 1

    @property
    def num_batches(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch]) if self.shuffle else None
        rows = batch_plan(self.lengths, self.batch_size, rng)[index]
        pieces = [self.rows[i] for i in rows]
        if self.transpose and rng is not None:
            shifts = np.random.default_rng([self.seed, self.epoch, 1]).integers(
                -self.transpose, self.transpose + 1, len(self.rows)
            )
            pieces = [shift_keys(piece, int(shifts[i])) for piece, i in zip(pieces, rows, strict=True)]
        steps = bucket_steps(max(self.lengths[i] for i in rows))
        empty = np.zeros((1, self.rows[0].shape[1]), "float32")  # one frame, no step: fills a short batch
        previous, current, weights = pad_pairs(pieces + [empty] * (self.batch_size - len(pieces)), steps)
        return ((previous, current) if self.made else previous), current, weights


class TokenBatches(keras.utils.PyDataset):
    """Token windows as ``fit`` reads them: ``(tokens[:-1], tokens[1:], weights)`` batches of ``batch_size``.

    A short last batch is filled with windows of weight 0, so every batch has one shape. With
    ``shuffle`` the order changes every epoch, from ``seed`` and the epoch's number alone.

    Notebook: 05_lstm_melody
    """

    def __init__(self, windows: np.ndarray, batch_size: int = 64, shuffle: bool = True, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.windows, self.batch_size, self.shuffle, self.seed = np.asarray(windows, "int32"), batch_size, shuffle, seed
        self.epoch, self.next_epoch = 0, 0

    set_epoch = FrameBatches.set_epoch
    on_epoch_begin = FrameBatches.on_epoch_begin

    @property
    def num_batches(self) -> int:
        return -(-len(self.windows) // self.batch_size)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, index: int):
        order = np.arange(len(self.windows))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        rows = order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = np.zeros((self.batch_size, self.windows.shape[1]), "int32")
        batch[: len(rows)] = self.windows[rows]
        weights = np.zeros((self.batch_size, self.windows.shape[1] - 1), "float32")
        weights[: len(rows)] = 1.0
        return batch[:, :-1], batch[:, 1:], weights


@keras.saving.register_keras_serializable(package="course_lib")
def frame_loss(targets, logits):
    """Summed per-key binary cross-entropy of each frame (the NLL being reported), for ``compile``."""
    return keras.ops.sum(keras.ops.binary_crossentropy(targets, logits, from_logits=True), axis=-1)


def token_loss(targets, logits):
    """Cross-entropy of each next token, in nats."""
    return keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)


class FrameAccuracy(keras.metrics.Metric):
    """Frame-level accuracy of Bay et al. (2009), ``TP / (TP + FP + FN)`` over the real steps (logit > 0 is on).

    Notebook: 06_lstm_chorales
    """

    def __init__(self, name: str = "accuracy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.true_positive = self.add_variable((), initializer="zeros", name="true_positive")
        self.wrong = self.add_variable((), initializer="zeros", name="wrong")

    def update_state(self, targets, logits, sample_weight=None):
        ops = keras.ops
        on, wanted = ops.cast(logits > 0, "float32"), ops.cast(targets > 0.5, "float32")
        weight = ops.ones_like(on[..., 0]) if sample_weight is None else ops.cast(sample_weight, "float32")
        weight = ops.expand_dims(weight, -1)
        self.true_positive.assign_add(ops.sum(on * wanted * weight))
        self.wrong.assign_add(ops.sum(ops.abs(on - wanted) * weight))

    def result(self):
        total = self.true_positive + self.wrong
        return keras.ops.where(total > 0, self.true_positive / keras.ops.maximum(total, 1.0), 1.0)


class StepMean(keras.metrics.Metric):
    """The mean of ``fn(targets, outputs)`` over the real steps of every batch so far (weight > 0).

    Keras's own mean metrics average each row first, which weighs a step of a short batch more
    than one of a long batch; this one adds up steps, so its result is nats per step exactly.
    """

    def __init__(self, fn: Callable, name: str = "nll", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.fn = fn
        self.total = self.add_variable((), initializer="zeros", name="total")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, targets, outputs, sample_weight=None):
        values = keras.ops.cast(self.fn(targets, outputs), "float32")
        weight = keras.ops.ones_like(values) if sample_weight is None else keras.ops.cast(sample_weight, "float32")
        self.total.assign_add(keras.ops.sum(values * weight))
        self.count.assign_add(keras.ops.sum(weight))

    def result(self):
        return self.total / keras.ops.maximum(self.count, 1.0)


def token_hits(targets, logits):
    """1 where the most likely next token is the right one, else 0."""
    return keras.ops.cast(keras.ops.argmax(logits, axis=-1) == keras.ops.cast(targets, "int32"), "float32")


def frame_metrics() -> list[keras.metrics.Metric]:
    """What ``fit`` reports for a frame model: ``nll`` (nats per real frame) and frame ``accuracy``.

    Notebook: 06_lstm_chorales
    """
    return [StepMean(frame_loss, "nll"), FrameAccuracy()]


def token_metrics() -> list[keras.metrics.Metric]:
    """What ``fit`` reports for a token model: ``nll`` (nats per real token) and next-token ``accuracy``.

    Notebook: 05_lstm_melody
    """
    return [StepMean(token_loss, "nll"), StepMean(token_hits, "accuracy")]


def evaluate_frames(model: keras.Model, sequences: Sequence[np.ndarray], batch_size: int = 8) -> dict[str, float]:
    """Frame NLL (nats per predicted frame) and frame accuracy (threshold 0.5) on whole sequences.

    Computed in NumPy (float64) from the model's logits, batch by batch in the shapes of
    :class:`FrameBatches`; a model needs no ``compile`` for it.

    Notebook: 06_lstm_chorales
    """
    batches = FrameBatches(sequences, batch_size, made=len(model.inputs) == 2, shuffle=False)
    logits, targets = [], []
    for index in range(len(batches)):
        inputs, current, weight = batches[index]
        out = keras.ops.convert_to_numpy(model.predict_on_batch(inputs))  # compiled, once per batch shape
        mask = weight > 0
        logits.append(out[mask])
        targets.append(current[mask])
    logits, targets = np.concatenate(logits), np.concatenate(targets)
    return {"nll": frame_nll_from_logits(logits, targets), "accuracy": frame_accuracy(logits > 0, targets > 0.5)}


def save_atomically(model: keras.Model, path: str | Path, include_optimizer: bool = True) -> Path:
    """Save a model (``.keras``) through a temporary file and a rename, so a crash never leaves half a file.

    ``include_optimizer=False`` saves the architecture and weights only (a third of the size
    with Adam): what a finished model needs, not a checkpoint.
    """
    if not include_optimizer and getattr(model, "optimizer", None) is not None:
        bare = model.__class__.from_config(model.get_config())  # uncompiled (clone_model would keep compile)
        bare.set_weights(model.get_weights())
        model = bare
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=".keras", dir=path.parent)
    os.close(handle)
    try:
        model.save(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a model file is an ordinary file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


class CheckpointMismatch(CourseError, ValueError):
    """A checkpoint folder holds another model, or a run on other data or settings."""


class Checkpoints:
    """A training run's folder, which running the same training again resumes from.

    ``backup/`` is Keras's ``BackupAndRestore``: the model and optimizer after the latest epoch
    (with the epoch before kept as a spare). ``state.json`` and ``best-N.npz`` hold what that
    callback does not: the history, the counters of early stopping and of the learning-rate
    schedule, and the best weights so far. They are written atomically, per epoch, before the
    backup; the last two epochs are kept, so a run stopped at any moment resumes from an epoch
    whose files are all whole.

    Used by ``python -m course_lib train`` (:mod:`course_lib.recipes`).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.backup, self.state = self.folder / "backup", self.folder / "state.json"
        self.settings = self.folder / "run.json"
        remove_partial_files(self.folder)  # left by a run killed while saving

    def check_settings(self, settings: dict) -> None:
        """Record what this run trains on, or refuse to resume a run that trained on something else."""
        check_run_settings(self.settings, settings, resuming=self.exists())

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
            handle, temporary = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=".npz", dir=self.folder)
            os.close(handle)
            np.savez(temporary, *best_weights)
            os.replace(temporary, self.folder / state["best_file"])
        states = {k: v for k, v in self.read().items() if int(k) == done - 1}
        states[str(done)] = state
        write_text_atomically(self.state, json.dumps({"epochs_done": states}, indent=1) + "\n")
        kept = {s["best_file"] for s in states.values()}
        for path in self.folder.glob("best-*.npz"):
            if path.name not in kept:
                path.unlink()


def weight_shapes(model: keras.Model) -> list[list[int]]:
    return [list(variable.shape) for variable in model.weights]


def check_run_settings(path: Path, settings: dict, resuming: bool) -> None:
    """Write ``settings`` to ``path`` for a new run; for a resumed one, refuse if they differ from it."""
    if not resuming:
        write_text_atomically(path, json.dumps(settings, indent=1, sort_keys=True) + "\n")
        return
    recorded = json.loads(path.read_text()) if path.exists() else {}
    differ = [
        f"{key} {recorded.get(key, 'unrecorded')!r} there, {value!r} now"
        for key, value in settings.items()
        if recorded.get(key) != value
    ]
    if differ:
        raise CheckpointMismatch(
            f"{path.parent} holds a run with other settings ({'; '.join(differ)}); "
            "train into another --out folder, or delete that folder to start afresh"
        )


class TimeLimit(keras.callbacks.Callback):
    """Stop ``fit`` after the epoch that passes ``seconds`` (counted from construction; None: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__()
        self.seconds = seconds
        self.started = time.perf_counter()  # from construction: building and tracing count too

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.seconds is not None and time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


def remove_partial_files(folder: Path) -> list[Path]:
    """Delete the temporary files an interrupted atomic save leaves in ``folder``; return them."""
    leftovers = [*Path(folder).glob(f"{PARTIAL_PREFIX}*"), *Path(folder).glob("*.partial")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def check_writable(folder: str | Path) -> Path:
    """Create ``folder`` and write a scratch file in it, so a long job fails at once, not at its end."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CourseError(f"cannot write to {folder}: it is a file, not a folder; pass --out with a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CourseError(
            f"cannot write to {folder} ({error.strerror or error}); pass --out with a folder you can write to"
        ) from error
    return folder


def write_text_atomically(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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
    """At the start of epoch ``e``: the batches of epoch ``e`` and dropout seeded from ``seed + e``,
    so an epoch draws the same whether the run got there in one go or resumed."""

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


HISTORY_KEYS = ("loss", "val_nll", "val_accuracy", "learning_rate", "seconds")


class RunState(keras.callbacks.Callback):
    """The run's history, and what it takes to resume one exactly, kept in a :class:`Checkpoints` folder.

    After each epoch it records the history (``loss`` is the training NLL), early stopping's and
    the learning-rate schedule's counters and the best weights. When ``fit`` resumes at epoch
    ``e`` it puts back the state recorded after ``e`` epochs, so both callbacks go on as if never
    stopped. Without a folder it only keeps the history.
    """

    def __init__(self, early_stopping, plateau, checkpoints: Checkpoints | None = None, on_epoch=None) -> None:
        super().__init__()
        self.early_stopping, self.plateau, self.checkpoints, self.on_epoch = (
            early_stopping,
            plateau,
            checkpoints,
            on_epoch,
        )
        self.history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        self.started, self.resumed = time.perf_counter(), False

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self.resumed or epoch == 0 or self.checkpoints is None:
            self.resumed = True
            return
        self.resumed = True
        state = self.checkpoints.read().get(str(epoch))
        if state is None:
            raise CheckpointMismatch(
                f"{self.checkpoints.folder} has no record of epoch {epoch}; delete it to start afresh"
            )
        self.history = {key: values[:epoch] for key, values in state["history"].items()}
        for name, value in state["early_stopping"].items():
            setattr(self.early_stopping, name, value)
        self.early_stopping.best_weights = self.checkpoints.best_weights(state)
        for name, value in state["plateau"].items():
            setattr(self.plateau, name, value)
        self.started = time.perf_counter() - (self.history["seconds"][-1] if self.history["seconds"] else 0.0)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        for key, value in (
            ("loss", logs["nll"]),
            ("val_nll", logs["val_nll"]),
            ("val_accuracy", logs["val_accuracy"]),
            ("learning_rate", self.learning_rate),
            ("seconds", time.perf_counter() - self.started),
        ):
            self.history[key].append(float(value))
        if self.checkpoints is not None:
            early, plateau = self.early_stopping, self.plateau
            state = {
                "history": self.history,
                "stopped": bool(self.model.stop_training),
                "weight_shapes": weight_shapes(self.model),
                "early_stopping": {"wait": early.wait, "best": float(early.best), "best_epoch": early.best_epoch},
                "plateau": {
                    "wait": plateau.wait,
                    "best": float(plateau.best),
                    "cooldown_counter": plateau.cooldown_counter,
                },
            }
            improved = early.best_epoch == epoch
            self.checkpoints.write(epoch + 1, state, early.best_weights, improved)
        if self.on_epoch:
            self.on_epoch(epoch, {key: values[-1] for key, values in self.history.items()})


def steps_per_call() -> int:
    """Training steps per compiled call (``steps_per_execution``): 8 under TensorFlow, else 1.

    TensorFlow runs batches of different lengths in one call, which saves Python's cost per
    step (LSTM-MADE on 2 CPU cores: 10.1 s per epoch at 1, 8.3 s at 8). JAX would compile every
    combination of lengths in a call, so it takes one step per call; so does TensorFlow's
    ``MirroredStrategy`` (``--devices``), which fails on several steps of different lengths in one call.
    """
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return 1 if tf.distribute.has_strategy() else 8


def fit_with_callbacks(
    model: keras.Model,
    training: FrameBatches | TokenBatches,
    validation: FrameBatches | TokenBatches,
    epochs: int = 200,
    patience: int = 10,
    lr_patience: int = 4,
    time_limit: float | None = None,
    seed: int = 0,
    on_epoch: Callable[[int, dict], None] | None = None,
    checkpoints: Checkpoints | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict[str, list[float]]:
    """``model.fit`` with the course's callbacks, for a model compiled with ``weighted_metrics=``
    :func:`frame_metrics` or :func:`token_metrics` (and ``use_ema`` for weight averaging).

    Keras's own callbacks do the work: ``ReduceLROnPlateau`` halves the learning rate after
    ``lr_patience`` epochs without a better validation NLL, ``EarlyStopping`` stops after
    ``patience`` and restores the best weights, ``SwapEMAWeights`` lets validation and early
    stopping see the averaged weights (:class:`AtEpochEnd`), ``BackupAndRestore`` saves every epoch into
    ``checkpoints`` so a stopped run resumes, and :class:`TimeLimit` stops once ``time_limit``
    seconds have passed. :class:`RunState` keeps the history and makes a resumed run go on
    exactly as an uninterrupted one would. A run whose folder says it has stopped, or has done
    ``epochs`` epochs, is not trained again: the best weights are loaded.

    Returns the history: ``loss`` (training NLL), ``val_nll``, ``val_accuracy``, ``learning_rate``, ``seconds``.

    Used by ``python -m course_lib train`` (:mod:`course_lib.recipes`).
    """
    latest = None
    if checkpoints is not None:
        checkpoints.check_model(model)
        latest = checkpoints.latest() if checkpoints.exists() else None
        if latest is not None and (latest["stopped"] or len(latest["history"]["loss"]) >= epochs):
            model.set_weights(checkpoints.best_weights(latest))
            return latest["history"]
    spent = latest["history"]["seconds"][-1] if latest is not None else 0.0  # a resumed run's time so far
    averaging = model.optimizer.use_ema
    plateau = keras.callbacks.ReduceLROnPlateau("val_nll", factor=0.5, patience=lr_patience, mode="min", min_delta=0.0)
    early_stopping = keras.callbacks.EarlyStopping("val_nll", patience=patience, mode="min", restore_best_weights=True)
    limit = TimeLimit(None if time_limit is None else time_limit - spent)
    state = RunState(early_stopping, plateau, checkpoints, on_epoch)
    ordered = [  # Keras calls them in this order at every epoch's start and end
        EpochSeeds(training, seed),
        *([keras.callbacks.SwapEMAWeights()] if averaging else []),  # validation sees the averaged weights
        plateau,
        AtEpochEnd([early_stopping, limit, state, *callbacks], averaging),
        *([keras.callbacks.BackupAndRestore(str(checkpoints.backup), delete_checkpoint=False)] if checkpoints else []),
    ]
    model.fit(training, validation_data=validation, epochs=epochs, callbacks=ordered, shuffle=False, verbose=0)
    return state.history


def train_frame_model(
    model: keras.Model,
    train: Sequence[np.ndarray],
    valid: Sequence[np.ndarray],
    epochs: int = 200,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    transpose: int = 0,
    averaging: float | None = None,
    seed: int = 0,
    **fit_options,
) -> dict[str, list[float]]:
    """Fit a piano-roll LSTM or LSTM-MADE on whole pieces with early stopping on the validation NLL.

    Batches are :class:`FrameBatches`. ``transpose`` > 0 moves every training piece by a random
    number of semitones each epoch. ``averaging`` (e.g. 0.99) keeps an exponential moving average
    of the weights (Polyak averaging), which smooths out the noise of the last steps: it is what
    is validated and kept. ``fit_options`` go to :func:`fit_with_callbacks` (``patience``,
    ``time_limit``, ``on_epoch``, ``checkpoints``, ...). Returns the history.

    Used by ``python -m course_lib train`` (:mod:`course_lib.recipes`).
    """
    optimizer = keras.optimizers.Adam(
        learning_rate, clipnorm=5.0, use_ema=averaging is not None, ema_momentum=averaging or 0.99
    )
    model.compile(
        optimizer=optimizer, loss=frame_loss, weighted_metrics=frame_metrics(), steps_per_execution=steps_per_call()
    )
    made = len(model.inputs) == 2
    training = FrameBatches(train, batch_size, made, seed=seed, transpose=transpose)
    validation = FrameBatches(valid, VALIDATION_BATCH, made, shuffle=False)
    return fit_with_callbacks(model, training, validation, epochs, seed=seed, **fit_options)


def evaluate_tokens(model: keras.Model, windows: np.ndarray, batch_size: int = VALIDATION_WINDOWS) -> dict[str, float]:
    """Mean NLL (nats per predicted token) and next-token accuracy on ``(count, length)`` windows.

    Each window predicts its tokens ``1..length-1`` from those before them.

    Notebook: 05_lstm_melody
    """
    total, correct, count = 0.0, 0, 0
    for i in range(0, len(windows), batch_size):
        batch = windows[i : i + batch_size]
        logits = keras.ops.convert_to_numpy(model(batch[:, :-1], training=False)).astype("float64")
        logits -= logits.max(axis=-1, keepdims=True)
        log_probabilities = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        targets = batch[:, 1:]
        total -= np.take_along_axis(log_probabilities, targets[..., None], axis=-1).sum()
        correct += int((log_probabilities.argmax(axis=-1) == targets).sum())
        count += targets.size
    return {"nll": float(total / count), "accuracy": correct / count}


def train_token_model(
    model: keras.Model,
    train: np.ndarray,
    valid: np.ndarray,
    epochs: int = 100,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
    **fit_options,
) -> dict[str, list[float]]:
    """Fit a melody LSTM on ``(count, length)`` token windows with early stopping on the validation NLL.

    Each window is a training example: tokens ``0..length-2`` in, tokens ``1..length-1`` as
    targets (:class:`TokenBatches`). ``fit_options`` go to :func:`fit_with_callbacks`. Returns
    the history, with ``loss`` in nats per training token.

    Used by ``python -m course_lib train`` (:mod:`course_lib.recipes`).
    """
    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=5.0)
    model.compile(
        optimizer=optimizer, loss=token_loss, weighted_metrics=token_metrics(), steps_per_execution=steps_per_call()
    )
    training = TokenBatches(train, batch_size, seed=seed)
    validation = TokenBatches(valid, VALIDATION_WINDOWS, shuffle=False)
    return fit_with_callbacks(model, training, validation, epochs, seed=seed, **fit_options)
