"""How well a model predicts music: frame NLL in nats and frame accuracy, as published results report them.

Convention (Boulanger-Lewandowski et al. 2012 and the papers that compare with it): for every
*predicted* frame, i.e. frames 2..T of each sequence, add the Bernoulli cross-entropies of the
88 keys in nats; average over all predicted frames of the split, so long pieces weigh more.

Notebook: 06_lstm_chorales
"""

from __future__ import annotations

import numpy as np

from course_lib.pianoroll import PIANO_LOWEST


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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities of a softmax over the last axis, in float64: ``z - log(sum(exp(z)))``.

    Each row's maximum is subtracted first, so large logits do not overflow; ``-inf`` logits
    (tokens ruled out) stay ``-inf``. The NLL of a token is ``-log_softmax(logits)[token]``.

    Notebook: 05_lstm_melody, 09_four_voices
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


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


def pitch_class_histogram(roll: np.ndarray, lowest: int = PIANO_LOWEST) -> np.ndarray:
    """Share of sounding steps on each pitch class C, C#, ..., B (sums to 1; zeros for silence).

    Column ``k`` of the ``(time, keys)`` roll is MIDI pitch ``lowest + k``; C4 and C5 are both C.

    Notebook: 06_lstm_chorales
    """
    counts = chroma(np.asarray(roll, dtype=bool).reshape(-1, np.shape(roll)[-1]), lowest)
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


# ---------------------------------------------------------------- music metrics for piano rolls
# Definitions follow Dong et al. (MuseGAN, 2018) and muspy: an empty bar has no note at all; pitch
# classes are ``pitch % 12``; a note is a run of consecutive sounding steps of one key. None of these
# functions changes its input.

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def _whole_bars(roll: np.ndarray, steps_per_bar: int) -> np.ndarray:
    """``(bars, steps_per_bar, keys)`` from a ``(time, keys)`` roll; an unfinished last bar is left out."""
    roll = np.asarray(roll, dtype=bool)
    bars = roll.shape[0] // steps_per_bar
    return roll[: bars * steps_per_bar].reshape(bars, steps_per_bar, roll.shape[-1])


def empty_bar_rate(roll: np.ndarray, steps_per_bar: int) -> float:
    """Share of the bars of one track in which no note sounds (1 of 4 bars filled: 0.75).

    Notebook: 07_gan_pianoroll
    """
    bars = _whole_bars(roll, steps_per_bar)
    return float(1.0 - bars.any(axis=(1, 2)).mean()) if len(bars) else float("nan")


def used_pitch_classes(roll: np.ndarray, steps_per_bar: int, lowest: int = PIANO_LOWEST) -> float:
    """Mean number of distinct pitch classes per non-empty bar of one track (C4 + C5: 1; C + C#: 2).

    Notebook: 07_gan_pianoroll
    """
    bars = _whole_bars(roll, steps_per_bar).any(axis=1)  # (bars, keys): which keys sound in the bar
    classes = (lowest + np.arange(bars.shape[-1])) % 12
    per_class = np.zeros((len(bars), 12), dtype=bool)
    for pitch_class in range(12):
        per_class[:, pitch_class] = bars[:, classes == pitch_class].any(axis=1)
    counts = per_class.sum(axis=1)
    counts = counts[bars.any(axis=1)]
    return float(counts.mean()) if len(counts) else float("nan")


def qualified_note_rate(roll: np.ndarray, min_steps: int = 3) -> float:
    """Share of notes that last at least ``min_steps`` steps (MuseGAN: 3); a note across a bar line is one note.

    Notebook: 07_gan_pianoroll
    """
    lengths = note_lengths(roll)
    return float(np.mean(lengths >= min_steps)) if len(lengths) else float("nan")


def polyphony(roll: np.ndarray) -> float:
    """Mean number of keys sounding at once, over the steps where something sounds.

    A ``(tracks, time, keys)`` roll is merged first: a key sounds if any track plays it.

    Notebook: 07_gan_pianoroll
    """
    roll = np.asarray(roll, dtype=bool)
    merged = roll.any(axis=0) if roll.ndim == 3 else roll
    counts = notes_per_frame(merged)
    return float(counts.mean()) if len(counts) else float("nan")


def in_scale_rate(
    roll: np.ndarray, lowest: int = PIANO_LOWEST, scale: tuple[int, ...] = MAJOR_SCALE, tonic: int = 0
) -> float:
    """Share of notes whose pitch class lies in the scale (default C major, which A minor shares).

    Notebook: 07_gan_pianoroll
    """
    roll = np.asarray(roll, dtype=bool)
    flat = roll.reshape(-1, *roll.shape[-2:]) if roll.ndim == 3 else roll[None]
    padded = np.pad(flat.astype(np.int8), ((0, 0), (1, 0), (0, 0)))
    onsets = (np.diff(padded, axis=1) == 1).sum(axis=(0, 1))  # notes started, per key
    in_scale = np.isin((lowest + np.arange(roll.shape[-1]) - tonic) % 12, scale)
    total = onsets.sum()
    return float(onsets[in_scale].sum() / total) if total else float("nan")


_TONNETZ = np.array(
    [
        [np.sin(k * 7 * np.pi / 6) for k in range(12)],  # circle of fifths
        [np.cos(k * 7 * np.pi / 6) for k in range(12)],
        [np.sin(k * 3 * np.pi / 2) for k in range(12)],  # minor thirds
        [np.cos(k * 3 * np.pi / 2) for k in range(12)],
        [0.5 * np.sin(k * 2 * np.pi / 3) for k in range(12)],  # major thirds (radius 0.5)
        [0.5 * np.cos(k * 2 * np.pi / 3) for k in range(12)],
    ]
)


def chroma(roll: np.ndarray, lowest: int = PIANO_LOWEST) -> np.ndarray:
    """Sounding steps per pitch class of a ``(time, keys)`` roll: a 12-vector (C first).

    Notebook: 07_gan_pianoroll
    """
    per_key = np.asarray(roll, dtype=bool).sum(axis=0)
    return np.bincount((lowest + np.arange(len(per_key))) % 12, weights=per_key, minlength=12)


def tonal_centroid(chroma_vector: np.ndarray) -> np.ndarray:
    """Harte et al. (2006) 6-D tonal centroid of a chroma vector: fifths, minor and major thirds.

    Notebook: 07_gan_pianoroll
    """
    chroma_vector = np.asarray(chroma_vector, dtype=np.float64)
    total = chroma_vector.sum()
    return _TONNETZ @ chroma_vector / total if total else np.zeros(6)


def tonal_distance(roll_a: np.ndarray, roll_b: np.ndarray, steps_per_bar: int, lowest: int = PIANO_LOWEST) -> float:
    """Mean distance between the tonal centroids of two tracks, bar by bar, over bars where both sound.

    Small when the two tracks agree harmonically (0 for the same pitch classes in any octave).

    Notebook: 07_gan_pianoroll
    """
    bars_a, bars_b = _whole_bars(roll_a, steps_per_bar), _whole_bars(roll_b, steps_per_bar)
    distances = [
        np.linalg.norm(tonal_centroid(chroma(a, lowest)) - tonal_centroid(chroma(b, lowest)))
        for a, b in zip(bars_a, bars_b, strict=True)
        if a.any() and b.any()
    ]
    return float(np.mean(distances)) if distances else float("nan")


def histogram_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Total-variation distance between two histograms, each normalised first: 0 (same) to 1 (disjoint).

    Notebook: 07_gan_pianoroll
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def diversity(samples: np.ndarray, pairs: int = 200, seed: int = 0) -> float:
    """Mean Jaccard distance between random pairs of binary samples: 0 when all samples are the same.

    A generator whose diversity is far below the data's has collapsed onto a few outputs.

    Notebook: 07_gan_pianoroll
    """
    flat = np.asarray(samples, dtype=bool).reshape(len(samples), -1)
    if len(flat) < 2:
        raise ValueError("diversity needs at least two samples")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(flat), pairs)
    second = (first + rng.integers(1, len(flat), pairs)) % len(flat)  # never a sample with itself
    union = (flat[first] | flat[second]).sum(axis=1)
    differ = (flat[first] ^ flat[second]).sum(axis=1)
    return float(np.mean(np.where(union > 0, differ / np.maximum(union, 1), 0.0)))
