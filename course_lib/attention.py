"""Attention from its equations, in NumPy: the reference that notebook 11's exercises are checked against.

Scaled dot-product attention (Vaswani et al. 2017) with a causal mask, several heads laid out as
``keras.layers.MultiHeadAttention`` lays out its weights, sinusoidal positions, and relative
attention (Shaw et al. 2018) computed directly and with the Music Transformer's "skewing"
(Huang et al. 2018), which needs memory linear in the length instead of quadratic.

Row convention, as in notebooks 03 and 04: a sequence is ``(length, features)``, position ``i``
is row ``i``; leading axes (batch, heads) broadcast.

Notebook: 11_attention
"""

from __future__ import annotations

import numpy as np


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, with the maximum subtracted first; a row of ``-inf`` only gives zeros, not NaN.

    Notebook: 11_attention
    """
    scores = np.asarray(scores, dtype=np.float64)
    top = np.max(scores, axis=axis, keepdims=True)
    exp = np.exp(scores - np.where(np.isfinite(top), top, 0.0))
    total = exp.sum(axis=axis, keepdims=True)
    return exp / np.where(total > 0, total, 1.0)


def causal_mask(length: int) -> np.ndarray:
    """``(length, length)`` booleans, True where query ``i`` may look at key ``j``: ``j <= i``.

    Notebook: 11_attention
    """
    return np.tril(np.ones((length, length), dtype=bool))


def attention(
    queries: np.ndarray, keys: np.ndarray, values: np.ndarray, mask: np.ndarray | None = None, bias=None
) -> tuple[np.ndarray, np.ndarray]:
    """``softmax(Q Kᵀ / √d + bias) V`` with masked scores set to ``-inf``; returns ``(output, weights)``.

    ``queries`` ``(..., Lq, d)``, ``keys`` ``(..., Lk, d)``, ``values`` ``(..., Lk, dv)``, ``mask``
    broadcastable to ``(..., Lq, Lk)`` (True: allowed), ``bias`` the same shape as the scores (the
    relative-position term). ``weights[..., i, :]`` is how query ``i`` shares its attention.

    Notebook: 11_attention
    """
    scores = queries @ np.swapaxes(keys, -1, -2)
    if bias is not None:
        scores = scores + bias
    scores = scores / np.sqrt(queries.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores)
    return weights @ values, weights


def multi_head_attention(
    x: np.ndarray, weights: list[np.ndarray], causal: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Self-attention with the weights of ``keras.layers.MultiHeadAttention`` or the course's relative layer.

    ``weights`` is ``layer.get_weights()``. Keras keeps the query, key and value kernels as
    ``(features, heads, key_dim)`` with biases ``(heads, key_dim)``, and the output kernel as
    ``(heads, key_dim, features)`` with a bias ``(features,)``; the course's
    ``RelativeSelfAttention`` adds a ninth array, one embedding per distance and head
    ``(heads, max_length, key_dim)``, whose scores are added here the direct way
    (:func:`relative_scores_direct`). ``x`` is ``(batch, length, features)``; returns the output
    ``(batch, length, features)`` and the weights ``(batch, heads, length, length)``.

    Notebook: 11_attention
    """
    wq, bq, wk, bk, wv, bv, wo, bo = weights[:8]
    q, k, v = (np.einsum("blf,fhd->bhld", x, w) + b[None, :, None, :] for w, b in ((wq, bq), (wk, bk), (wv, bv)))
    length = x.shape[1]
    bias = None
    if len(weights) == 9:  # the last `length` distances of each head: -(length - 1) .. 0
        table = weights[8][:, -length:]
        bias = np.stack([relative_scores_direct(q[:, h], table[h]) for h in range(len(table))], axis=1)
    heads, attended = attention(q, k, v, causal_mask(length) if causal else None, bias)
    return np.einsum("bhld,hdf->blf", heads, wo) + bo, attended


def sinusoidal_positions(length: int, depth: int) -> np.ndarray:
    """``(length, depth)`` position codes: sines and cosines of ``pos / 10000^(2i / depth)``, interleaved.

    Notebook: 11_attention
    """
    position = np.arange(length)[:, None]
    rate = 1.0 / 10000 ** (np.arange(0, depth, 2) / depth)
    codes = np.zeros((length, depth))
    codes[:, 0::2] = np.sin(position * rate)
    codes[:, 1::2] = np.cos(position * rate[: depth // 2])
    return codes


def relative_scores_direct(queries: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """``S[i, j] = q_i · e_(j - i)`` for ``j <= i``, made the direct way, through an ``(L, L, d)`` tensor.

    ``distances`` ``(L, d)`` holds one embedding per distance, row ``r`` for ``j - i = r - (L - 1)``,
    so the last row is distance 0 (the query itself) and the first is ``-(L - 1)``. Entries with
    ``j > i`` are 0 (a causal model masks them).

    Notebook: 11_attention
    """
    length = queries.shape[-2]
    i, j = np.indices((length, length))
    gathered = distances[np.clip(length - 1 + j - i, 0, length - 1)]  # (L, L, d): the quadratic memory
    scores = np.einsum("...id,ijd->...ij", queries, gathered)
    return np.where(j <= i, scores, 0.0)


def skew(scores_by_distance: np.ndarray) -> np.ndarray:
    """The Music Transformer's skewing: from ``Q Eᵀ`` (column = distance) to ``S`` (column = key position).

    Pad one column of zeros on the left, reshape ``(L, L + 1)`` to ``(L + 1, L)``, drop the first
    row. Entry ``(i, j)`` then holds column ``L - 1 + j - i`` of row ``i``: the distance ``j - i``.
    Entries with ``j > i`` are meaningless and must be masked.

    Notebook: 11_attention
    """
    *lead, length, _ = scores_by_distance.shape
    padded = np.concatenate([np.zeros((*lead, length, 1)), scores_by_distance], axis=-1)
    return padded.reshape(*lead, length + 1, length)[..., 1:, :]
