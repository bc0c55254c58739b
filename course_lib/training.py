"""Training the course's models with ``model.fit``: batches of fixed shapes, losses, metrics and
the compile set-up of each kind of model.

Notebooks 05 and 06 call ``fit`` themselves with the pieces defined here (the batches, the loss,
the metrics). Resumable runs add a checkpoint folder (:mod:`course_lib.runs`).

Notebook: 06_lstm_chorales
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import keras
import numpy as np

from course_lib.metrics import frame_accuracy, frame_nll_from_logits, log_softmax

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


class EpochBatches(keras.utils.PyDataset):
    """Batches that depend only on a seed and the epoch's number, so a resumed run reads what an
    uninterrupted one would. ``set_epoch(e)`` makes the next epoch number ``e``.

    Notebook: 06_lstm_chorales
    """

    def __init__(self, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seed, self.epoch, self.next_epoch = seed, 0, 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next epoch that starts number ``epoch`` (a resumed run starts mid-way)."""
        self.next_epoch = epoch

    def on_epoch_begin(self) -> None:
        self.epoch, self.next_epoch = self.next_epoch, self.next_epoch + 1

    def epoch_rng(self, *stream: int) -> np.random.Generator:
        """This epoch's random numbers (``stream`` picks an independent stream)."""
        return np.random.default_rng([self.seed, self.epoch, *stream])

    def __len__(self) -> int:
        return self.num_batches


class FrameBatches(EpochBatches):
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
        super().__init__(seed, **kwargs)
        self.rows = cut_long(sequences)
        self.batch_size, self.made, self.shuffle, self.transpose = batch_size, made, shuffle, transpose
        self.lengths = [len(row) - 1 for row in self.rows]

    @property
    def num_batches(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, index: int):
        rng = self.epoch_rng() if self.shuffle else None
        rows = batch_plan(self.lengths, self.batch_size, rng)[index]
        pieces = [self.rows[i] for i in rows]
        if self.transpose and rng is not None:
            shifts = self.epoch_rng(1).integers(-self.transpose, self.transpose + 1, len(self.rows))
            pieces = [shift_keys(piece, int(shifts[i])) for piece, i in zip(pieces, rows, strict=True)]
        steps = bucket_steps(max(self.lengths[i] for i in rows))
        empty = np.zeros((1, self.rows[0].shape[1]), "float32")  # one frame, no step: fills a short batch
        previous, current, weights = pad_pairs(pieces + [empty] * (self.batch_size - len(pieces)), steps)
        return ((previous, current) if self.made else previous), current, weights


class TokenBatches(EpochBatches):
    """Token windows as ``fit`` reads them: ``(tokens[:-1], tokens[1:], weights)`` batches of ``batch_size``.

    A short last batch is filled with windows of weight 0, so every batch has one shape. With
    ``shuffle`` the order changes every epoch, from ``seed`` and the epoch's number alone.

    Notebook: 05_lstm_melody
    """

    def __init__(self, windows: np.ndarray, batch_size: int = 64, shuffle: bool = True, seed: int = 0, **kwargs):
        super().__init__(seed, **kwargs)
        self.windows, self.batch_size, self.shuffle = np.asarray(windows, "int32"), batch_size, shuffle

    @property
    def num_batches(self) -> int:
        return -(-len(self.windows) // self.batch_size)

    def __getitem__(self, index: int):
        order = np.arange(len(self.windows))
        if self.shuffle:
            order = self.epoch_rng().permutation(order)
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


class TimeLimit(keras.callbacks.Callback):
    """Stop ``fit`` after the epoch that passes ``seconds`` (counted from construction; None: no limit).

    Notebook: 06_lstm_chorales
    """

    def __init__(self, seconds: float | None) -> None:
        super().__init__()
        self.seconds = seconds
        self.started = time.perf_counter()  # from construction: building and tracing count too

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.seconds is not None and time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


def evaluate_tokens(model: keras.Model, windows: np.ndarray, batch_size: int = VALIDATION_WINDOWS) -> dict[str, float]:
    """Mean NLL (nats per predicted token) and next-token accuracy on ``(count, length)`` windows.

    Each window predicts its tokens ``1..length-1`` from those before them.

    Notebook: 05_lstm_melody
    """
    total, correct, count = 0.0, 0, 0
    for i in range(0, len(windows), batch_size):
        batch = windows[i : i + batch_size]
        log_probabilities = log_softmax(keras.ops.convert_to_numpy(model(batch[:, :-1], training=False)))
        targets = batch[:, 1:]
        total -= np.take_along_axis(log_probabilities, targets[..., None], axis=-1).sum()
        correct += int((log_probabilities.argmax(axis=-1) == targets).sum())
        count += targets.size
    return {"nll": float(total / count), "accuracy": correct / count}
