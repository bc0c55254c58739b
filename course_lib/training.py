"""Training the frame models: length-bucketed batches, early stopping, atomic checkpoints.

Notebook: 06_lstm_chorales
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

from course_lib.metrics import frame_accuracy, frame_nll_from_logits


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
        out = np.asarray(model(model_inputs(model, previous, current), training=False))
        mask = weight > 0
        logits.append(out[mask])
        targets.append(current[mask])
        weights.append(weight[mask])
    logits, targets = np.concatenate(logits), np.concatenate(targets)
    return {"nll": frame_nll_from_logits(logits, targets), "accuracy": frame_accuracy(logits > 0, targets > 0.5)}


def save_atomically(model: keras.Model, path: str | Path) -> Path:
    """Save a model (``.keras``) through a temporary file and a rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".keras", dir=path.parent)
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


def train_frame_model(
    model: keras.Model,
    train: Sequence[np.ndarray],
    valid: Sequence[np.ndarray],
    epochs: int = 200,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    patience: int = 10,
    lr_patience: int = 4,
    transpose: int = 0,
    time_limit: float | None = None,
    seed: int = 0,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> dict[str, list[float]]:
    """Fit on ``train`` with early stopping on the validation NLL; the best weights are restored.

    After ``lr_patience`` epochs without a better validation NLL the learning rate is halved;
    after ``patience`` such epochs training stops. ``transpose`` > 0 moves every training
    sequence by a random number of semitones in ``-transpose..transpose`` each epoch (data
    augmentation; notes pushed off the keyboard are dropped).

    Returns the history (``loss`` per training frame, ``val_nll``, ``val_accuracy``, ``seconds``).
    ``time_limit`` (seconds) stops after the epoch that crosses it.

    Notebook: 06_lstm_chorales
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=frame_loss)
    history: dict[str, list[float]] = {
        "loss": [],
        "val_nll": [],
        "val_accuracy": [],
        "learning_rate": [],
        "seconds": [],
    }
    best, best_weights, waited, started = np.inf, model.get_weights(), 0, time.perf_counter()
    for epoch in range(epochs):
        total, frames = 0.0, 0.0
        shifted = [shift_keys(s, int(rng.integers(-transpose, transpose + 1))) for s in train] if transpose else train
        for previous, current, weights in length_batches(shifted, batch_size, rng):
            loss = model.train_on_batch(model_inputs(model, previous, current), current, sample_weight=weights)
            total += float(loss) * weights.size  # Keras averages over all batch cells, padding included
            frames += weights.sum()
        scores = evaluate_frames(model, valid)
        history["loss"].append(total / frames)
        history["val_nll"].append(scores["nll"])
        history["val_accuracy"].append(scores["accuracy"])
        history["learning_rate"].append(float(model.optimizer.learning_rate))
        history["seconds"].append(time.perf_counter() - started)
        if on_epoch:
            on_epoch(epoch, {k: v[-1] for k, v in history.items()})
        if scores["nll"] < best:
            best, best_weights, waited = scores["nll"], model.get_weights(), 0
        else:
            waited += 1
            if waited % lr_patience == 0:
                model.optimizer.learning_rate = float(model.optimizer.learning_rate) / 2
        if waited >= patience or (time_limit is not None and history["seconds"][-1] > time_limit):
            break
    model.set_weights(best_weights)
    return history
