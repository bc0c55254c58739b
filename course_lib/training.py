"""Training the course's models: early stopping, atomic checkpoints that a run resumes from, and
the frame models' length-bucketed batches.

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


def pad_pairs(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(previous, current, weights)`` for predicting frame t+1 from frames up to t, zero-padded.

    ``previous[i, t] = x_i[t]`` and ``current[i, t] = x_i[t + 1]``; ``weights`` is 1 on real steps.

    Notebook: 06_lstm_chorales
    """
    steps = max(len(s) for s in sequences) - 1
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


def length_batches(sequences: Sequence[np.ndarray], batch_size: int, rng: np.random.Generator):
    """Batches of sequences of similar length (little padding), in random order.

    Notebook: 06_lstm_chorales
    """
    order = np.argsort([len(s) + rng.uniform(0, 8) for s in sequences])
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for index in rng.permutation(len(batches)):
        yield pad_pairs([sequences[i] for i in batches[index]])


def model_inputs(model: keras.Model, previous: np.ndarray, current: np.ndarray):
    """What the model reads: the previous frames, plus the current ones for an LSTM-MADE (masked)."""
    return [previous, current] if len(model.inputs) == 2 else previous


@keras.saving.register_keras_serializable(package="course_lib")
def frame_loss(targets, logits):
    """Summed per-key binary cross-entropy of each frame (the NLL being reported), for ``compile``."""
    return keras.ops.sum(keras.ops.binary_crossentropy(targets, logits, from_logits=True), axis=-1)


def evaluate_frames(model: keras.Model, sequences: Sequence[np.ndarray], batch_size: int = 64) -> dict[str, float]:
    """Frame NLL (nats per predicted frame) and frame accuracy (threshold 0.5) on whole sequences.

    Notebook: 06_lstm_chorales
    """
    logits, targets, weights = [], [], []
    order = np.argsort([len(s) for s in sequences])
    for i in range(0, len(order), batch_size):
        previous, current, weight = pad_pairs([sequences[j] for j in order[i : i + batch_size]])
        out = keras.ops.convert_to_numpy(model(model_inputs(model, previous, current), training=False))
        mask = weight > 0
        logits.append(out[mask])
        targets.append(current[mask])
        weights.append(weight[mask])
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


class Checkpoints:
    """A training run's folder: ``last.keras`` (model and optimizer after the latest epoch),
    ``best.keras`` (the best validation score so far) and ``state.json`` (history, counters).

    Each file is replaced atomically and ``state.json`` is written last: a run stopped at any
    moment resumes from whole files, at worst with the model one epoch ahead of its history.

    Notebook: 06_lstm_chorales
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.last, self.best, self.state = (self.folder / n for n in ("last.keras", "best.keras", "state.json"))
        self.settings = self.folder / "run.json"
        remove_partial_files(self.folder)  # left by a run killed while saving

    def check_settings(self, settings: dict) -> None:
        """Record what this run trains on, or refuse to resume a run that trained on something else."""
        check_run_settings(self.settings, settings, resuming=self.exists())

    def exists(self) -> bool:
        """True when a run can resume from this folder."""
        return self.state.exists() and self.last.exists() and self.best.exists()

    def save(self, model: keras.Model, state: dict, improved: bool, best_weights: list[np.ndarray]) -> None:
        """Record one finished epoch: ``model`` as it trains on, and ``best_weights`` if they improved."""
        save_atomically(model, self.last)
        if improved or not self.best.exists():
            current = model.get_weights()
            model.set_weights(best_weights)
            save_atomically(model, self.best)
            model.set_weights(current)
        state = {**state, "weight_shapes": _weight_shapes(model)}
        write_text_atomically(self.state, json.dumps(state, indent=1) + "\n")

    def restore(self, model: keras.Model) -> tuple[dict, list[np.ndarray]]:
        """Load the latest epoch into ``model`` (optimizer included); returns the state and the best weights."""
        state = json.loads(self.state.read_text())
        mismatch = CheckpointMismatch(
            f"{self.folder} holds a checkpoint of a different model; delete it or train into another folder"
        )
        if state.get("weight_shapes", _weight_shapes(model)) != _weight_shapes(model):
            raise mismatch  # before Keras half-loads it
        model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(self.best)
            best_weights = model.get_weights()
            model.load_weights(self.last)
        except ValueError as error:
            raise mismatch from error
        return state, best_weights


def _weight_shapes(model: keras.Model) -> list[list[int]]:
    return [list(variable.shape) for variable in model.weights]


class CheckpointMismatch(CourseError, ValueError):
    """A checkpoint folder holds another model, or a run on other data or settings."""


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
    leftovers = [*Path(folder).glob(f"{PARTIAL_PREFIX}*.keras"), *Path(folder).glob("*.partial")]
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


def fit_with_early_stopping(
    model: keras.Model,
    train_epoch: Callable[[np.random.Generator], float],
    validate: Callable[[], dict[str, float]],
    epochs: int = 200,
    patience: int = 10,
    lr_patience: int = 4,
    time_limit: float | None = None,
    seed: int = 0,
    on_epoch: Callable[[int, dict], None] | None = None,
    checkpoints: Checkpoints | None = None,
    scored_weights: Callable[[], list[np.ndarray]] | None = None,
) -> dict[str, list[float]]:
    """The training loop shared by the course's models, for a compiled ``model``.

    ``train_epoch(rng)`` runs one pass over the training data and returns its mean loss;
    ``validate()`` returns ``{"nll": ..., "accuracy": ...}`` on the validation data. After
    ``lr_patience`` epochs without a better validation NLL the learning rate is halved; after
    ``patience`` such epochs, or once ``time_limit`` seconds have passed, training stops and
    the best weights are restored. With ``checkpoints``, every epoch is saved and a run
    whose folder already holds a checkpoint continues where it stopped (same shuffling).
    ``scored_weights()`` gives the weights ``validate`` scored when they are not the model's
    own (weight averaging); those are the ones kept as the best.

    Returns the history: ``loss``, ``val_nll``, ``val_accuracy``, ``learning_rate``, ``seconds``.

    Notebook: 05_lstm_melody
    """
    history: dict[str, list[float]] = {k: [] for k in ("loss", "val_nll", "val_accuracy", "learning_rate", "seconds")}
    best, best_weights, waited, done, spent = np.inf, model.get_weights(), 0, False, 0.0
    if checkpoints is not None and checkpoints.exists():
        state, best_weights = checkpoints.restore(model)
        history, best, waited, done = state["history"], state["best"], state["waited"], state["done"]
        spent = history["seconds"][-1] if history["seconds"] else 0.0
    started = time.perf_counter() - spent
    for epoch in range(len(history["loss"]), epochs):
        if done:
            break
        reseed(model, seed + epoch)  # dropout masks and shuffling: the same after a resume
        loss = train_epoch(np.random.default_rng([seed, epoch]))
        scores = validate()
        for key, value in (
            ("loss", loss),
            ("val_nll", scores["nll"]),
            ("val_accuracy", scores["accuracy"]),
            ("learning_rate", float(model.optimizer.learning_rate)),
            ("seconds", time.perf_counter() - started),
        ):
            history[key].append(float(value))
        improved = scores["nll"] < best
        if improved:
            best, best_weights, waited = scores["nll"], (scored_weights or model.get_weights)(), 0
        else:
            waited += 1
            if waited % lr_patience == 0:
                model.optimizer.learning_rate = float(model.optimizer.learning_rate) / 2
        done = waited >= patience or (time_limit is not None and history["seconds"][-1] > time_limit)
        if checkpoints is not None:
            state = {"history": history, "best": best, "waited": waited, "done": done}
            checkpoints.save(model, state, improved, best_weights)
        if on_epoch:
            on_epoch(epoch, {k: v[-1] for k, v in history.items()})
    model.set_weights(best_weights)
    return history


def train_frame_model(
    model: keras.Model,
    train: Sequence[np.ndarray],
    valid: Sequence[np.ndarray],
    epochs: int = 200,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    transpose: int = 0,
    averaging: float | None = None,
    **loop_options,
) -> dict[str, list[float]]:
    """Fit a piano-roll LSTM or LSTM-MADE on whole pieces with early stopping on the validation NLL.

    Batches group pieces of similar length. ``transpose`` > 0 moves every training sequence by
    a random number of semitones in ``-transpose..transpose`` each epoch (data augmentation;
    notes pushed off the keyboard are dropped). ``loop_options`` go to
    :func:`fit_with_early_stopping` (``patience``, ``time_limit``, ``seed``, ``on_epoch``,
    ``checkpoints``, ...). ``averaging`` (e.g. 0.99) validates, keeps and returns an exponential
    moving average of the weights instead of the latest ones (Polyak averaging), which smooths
    out the noise of the last steps. Returns the history, with ``loss`` in nats per training frame.

    Notebook: 06_lstm_chorales
    """
    optimizer = keras.optimizers.Adam(
        learning_rate, clipnorm=5.0, use_ema=averaging is not None, ema_momentum=averaging or 0.99
    )
    model.compile(optimizer=optimizer, loss=frame_loss)

    def train_epoch(rng: np.random.Generator) -> float:
        total, frames = 0.0, 0.0
        shifted = [shift_keys(s, int(rng.integers(-transpose, transpose + 1))) for s in train] if transpose else train
        for previous, current, weights in length_batches(shifted, batch_size, rng):
            loss = model.train_on_batch(model_inputs(model, previous, current), current, sample_weight=weights)
            total += float(loss) * weights.size  # Keras averages over all batch cells, padding included
            frames += weights.sum()
        return total / frames

    def validate() -> dict[str, float]:
        return evaluate_frames(model, valid)

    if averaging is not None:
        validate, loop_options["scored_weights"] = with_averaged_weights(model, validate)
    return fit_with_early_stopping(model, train_epoch, validate, epochs, **loop_options)


def with_averaged_weights(model: keras.Model, validate: Callable) -> tuple[Callable, Callable]:
    """Validation of the averaged weights of a model whose optimizer keeps moving averages (``use_ema``).

    Returns ``(averaged_validate, scored_weights)``: the first scores the averages and puts the
    training weights back (training, and a checkpoint's ``last.keras``, go on from those); the
    second gives the averaged weights it scored, for the loop to keep as the best.

    Notebook: 06_lstm_chorales
    """
    scored: list[np.ndarray] = []

    def averaged_validate() -> dict[str, float]:
        training = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
        averages = model.optimizer._model_variables_moving_average
        for variable, average in zip(model.trainable_variables, averages, strict=True):
            variable.assign(average)
        scores = validate()
        scored[:] = model.get_weights()
        for variable, value in zip(model.trainable_variables, training, strict=True):
            variable.assign(value)
        return scores

    return averaged_validate, lambda: scored


def evaluate_tokens(model: keras.Model, windows: np.ndarray, batch_size: int = 256) -> dict[str, float]:
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
    **loop_options,
) -> dict[str, list[float]]:
    """Fit a melody LSTM on ``(count, length)`` token windows with early stopping on the validation NLL.

    Each window is a training example: tokens ``0..length-2`` in, tokens ``1..length-1`` as
    targets. ``loop_options`` go to :func:`fit_with_early_stopping`. Returns the history, with
    ``loss`` in nats per training token.

    Notebook: 05_lstm_melody
    """
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=loss)

    def train_epoch(rng: np.random.Generator) -> float:
        order = rng.permutation(len(train))
        losses = [
            float(model.train_on_batch(train[batch, :-1], train[batch, 1:]))
            for batch in np.array_split(order, max(1, len(order) // batch_size))
        ]
        return float(np.mean(losses))

    return fit_with_early_stopping(model, train_epoch, lambda: evaluate_tokens(model, valid), epochs, **loop_options)
