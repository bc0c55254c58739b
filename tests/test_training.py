"""Training with fit (course_lib.training): batches of fixed shapes, the frame accuracy metric, key shifts and
weight averaging, on real JSB data."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.datasets import load_jsb
from course_lib.metrics import frame_accuracy
from course_lib.training import (
    FrameAccuracy,
    FrameBatches,
    TokenBatches,
    batch_plan,
    pad_pairs,
    shift_keys,
)


def test_pad_pairs_shift_by_one_frame_and_mark_real_steps():
    a = np.eye(4, dtype=bool)[:3]  # 3 frames
    b = np.eye(4, dtype=bool)[[3, 2, 1, 0, 3]]  # 5 frames
    previous, current, weights = pad_pairs([a, b])
    assert previous.shape == (2, 4, 4) and weights.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert (previous[1] == b[:-1]).all() and (current[1] == b[1:]).all() and (current[0, :2] == a[1:]).all()


def test_frame_batches_cover_every_step_once_in_fixed_shapes():
    lengths = (5, 30, 6, 31, 7, 29, 70)
    sequences = [np.ones((n, 3), dtype=bool) for n in lengths]
    batches = FrameBatches(sequences, batch_size=2, seed=3)
    shapes, seen = set(), []
    for epoch in (0, 1):
        batches.set_epoch(epoch)
        batches.on_epoch_begin()
        for index in range(len(batches)):
            previous, current, weights = batches[index]
            shapes.add(previous.shape)
            assert previous.shape == current.shape and weights.shape == previous.shape[:2]
            seen.extend(int(w.sum()) for w in weights if w.sum())
    assert sorted(seen) == sorted(2 * [n - 1 for n in lengths])  # each piece once per epoch, whole
    assert shapes == {(2, 16, 3), (2, 32, 3), (2, 80, 3)}  # batch size fixed, lengths in steps of 16
    # the longest batch first and the shortest second, whatever the shuffle
    longest = [int(batches[i][2].sum(axis=1).max()) for i in range(len(batches))]
    assert longest[0] == max(longest) == 69 and longest[1] == min(longest) < 7


def test_batch_plans_change_with_the_epoch_and_repeat_with_the_seed():
    lengths = list(range(10, 60, 2))

    def plan(seed, epoch):
        return [b.tolist() for b in batch_plan(lengths, 4, np.random.default_rng([seed, epoch]))]

    assert plan(0, 1) == plan(0, 1) and plan(0, 1) != plan(0, 2) and plan(0, 1) != plan(1, 1)
    assert sorted(i for b in plan(0, 1) for i in b) == list(range(len(lengths)))


def test_a_piece_longer_than_a_row_is_cut_without_losing_a_step():
    from course_lib.training import cut_long

    piece = np.arange(12)[:, None] * np.ones((1, 2))
    rows = cut_long([piece], longest=5)
    assert [len(r) for r in rows] == [6, 6, 2] and sum(len(r) - 1 for r in rows) == 11
    assert all(a[-1, 0] == b[0, 0] for a, b in zip(rows[:-1], rows[1:], strict=True))  # one shared frame


def test_token_batches_fill_the_last_batch_with_weight_zero():
    windows = np.arange(5 * 4).reshape(5, 4)
    batches = TokenBatches(windows, batch_size=2, shuffle=False)
    inputs, targets, weights = batches[2]
    assert inputs.shape == (2, 3) and inputs[0].tolist() == [16, 17, 18] and targets[0].tolist() == [17, 18, 19]
    assert weights.tolist() == [[1, 1, 1], [0, 0, 0]]


def test_frame_accuracy_metric_equals_the_numpy_one_on_weighted_steps():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 6)).astype("float32")
    targets = (rng.uniform(size=(3, 5, 6)) < 0.3).astype("float32")
    weights = (rng.uniform(size=(3, 5)) < 0.7).astype("float32")
    metric = FrameAccuracy()
    metric.update_state(targets, logits, sample_weight=weights)
    expected = frame_accuracy(logits > 0, targets > 0.5, weights)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)


def test_shift_keys_moves_notes_and_drops_what_leaves_the_keyboard():
    roll = np.zeros((2, 6), dtype=bool)
    roll[0, 1] = roll[1, 5] = True
    up = shift_keys(roll, 2)
    assert np.argwhere(up).tolist() == [[0, 3]]  # the top note fell off
    down = shift_keys(roll, -1)
    assert np.argwhere(down).tolist() == [[0, 0], [1, 4]]
    assert (shift_keys(roll, 0) == roll).all() and shift_keys(roll, 0) is not roll


def test_weight_averaging_keeps_the_averaged_weights_that_scored_best():
    from course_lib.models import pianoroll_lstm
    from course_lib.runs import train_frame_model
    from course_lib.settings import LEARNING_RATE
    from course_lib.training import evaluate_frames

    settings = {"batch_size": 8, "learning_rate": LEARNING_RATE, "monitor": "val_nll", "patience": 50, "lr_patience": 4}

    jsb = load_jsb()
    model = pianoroll_lstm(units=16, deep=8)
    history = train_frame_model(model, jsb.train[:6], jsb.valid[:3], epochs=3, averaging=0.9, **settings)
    # the returned weights are the averaged ones that scored best, not the last training weights
    assert evaluate_frames(model, jsb.valid[:3])["nll"] == pytest.approx(min(history["val_nll"]), rel=1e-5)
    assert int(np.argmin(history["val_nll"])) == 2  # still improving: the last epoch's averages are kept
    model.optimizer.finalize_variable_values(model.trainable_variables)  # Keras's way to take the averages
    assert evaluate_frames(model, jsb.valid[:3])["nll"] == pytest.approx(history["val_nll"][-1], rel=1e-5)
