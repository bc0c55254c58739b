"""How well a model predicts music: frame NLL in nats and frame accuracy, as published results report them.

Convention (Boulanger-Lewandowski et al. 2012 and the papers that compare with it): for every
*predicted* frame, i.e. frames 2..T of each sequence, add the Bernoulli cross-entropies of the
88 keys in nats; average over all predicted frames of the split, so long pieces weigh more.

Notebook: 06_lstm_chorales
"""

from __future__ import annotations

import numpy as np


def frame_nll_from_logits(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean over frames of the summed per-key Bernoulli NLL, in nats per frame.

    ``logits`` and ``targets`` are ``(..., keys)``; ``weights`` (``logits.shape[:-1]``, 0 or 1)
    marks real frames among padding. Computed as ``softplus(z) - y z``, stable for any logit.

    Notebook: 06_lstm_chorales
    """
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    per_frame = (np.logaddexp(0.0, logits) - targets * logits).sum(axis=-1)
    if weights is None:
        return float(per_frame.mean())
    weights = np.asarray(weights, dtype=np.float64)
    return float((per_frame * weights).sum() / weights.sum())


def frame_nll(probabilities: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The same NLL from probabilities (clipped to ``[1e-7, 1 - 1e-7]`` so a certain mistake costs ~16 nats).

    Notebook: 06_lstm_chorales
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    return frame_nll_from_logits(np.log(p) - np.log1p(-p), targets, weights)


def frame_accuracy(predicted: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Frame-level accuracy of Bay et al. (2009): ``TP / (TP + FP + FN)`` over all keys and frames.

    Silence predicted for silence counts for nothing, so predicting all-off scores 0, not 90%.

    Notebook: 06_lstm_chorales
    """
    predicted = np.asarray(predicted, dtype=bool)
    targets = np.asarray(targets, dtype=bool)
    mask = np.ones(predicted.shape[:-1], dtype=bool) if weights is None else np.asarray(weights) > 0
    predicted, targets = predicted[mask], targets[mask]
    true_positive = np.sum(predicted & targets)
    wrong = np.sum(predicted != targets)
    return float(true_positive / (true_positive + wrong)) if true_positive + wrong else 1.0


def pitch_class_histogram(roll: np.ndarray, lowest: int = 21) -> np.ndarray:
    """Share of sounding steps on each pitch class C, C#, ..., B (sums to 1; zeros for silence).

    Column ``k`` of the ``(time, keys)`` roll is MIDI pitch ``lowest + k``; C4 and C5 are both C.

    Notebook: 06_lstm_chorales
    """
    per_key = np.asarray(roll, dtype=bool).reshape(-1, np.shape(roll)[-1]).sum(axis=0)
    counts = np.bincount((lowest + np.arange(len(per_key))) % 12, weights=per_key, minlength=12)
    total = counts.sum()
    return counts / total if total else counts


def notes_per_frame(roll: np.ndarray) -> np.ndarray:
    """How many keys sound in each frame that is not silent (the polyphony of a piano roll).

    Notebook: 06_lstm_chorales
    """
    counts = np.asarray(roll, dtype=bool).reshape(-1, np.shape(roll)[-1]).sum(axis=1)
    return counts[counts > 0]


def note_lengths(roll: np.ndarray) -> np.ndarray:
    """Lengths in frames of every note: each run of consecutive sounding steps of one key.

    Notebook: 06_lstm_chorales
    """
    padded = np.pad(np.asarray(roll, dtype=np.int8), ((1, 1), (0, 0)))
    changes = np.diff(padded, axis=0)
    starts, ends = np.nonzero(changes.T == 1), np.nonzero(changes.T == -1)
    return ends[1] - starts[1]  # both in (key, time) order, so the k-th start pairs with the k-th end
