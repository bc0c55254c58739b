"""Frame NLL and accuracy against two sanity baselines computed here; training helpers on real JSB data."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.datasets import load_jsb
from course_lib.metrics import frame_accuracy, frame_nll, frame_nll_from_logits
from course_lib.training import length_batches, pad_pairs, save_atomically, shift_keys


def predicted_test_frames():
    jsb = load_jsb()
    return jsb, np.concatenate([x[1:] for x in jsb.test])  # frames 2..T are the predicted ones


def test_per_key_marginals_score_the_computed_11_09():
    jsb, frames = predicted_test_frames()
    marginals = np.concatenate(jsb.train).mean(axis=0)
    assert frame_nll(np.broadcast_to(marginals, frames.shape), frames) == pytest.approx(11.09, abs=0.01)


def test_a_coin_per_key_scores_88_ln_2():
    _, frames = predicted_test_frames()
    assert frame_nll(np.full(frames.shape, 0.5), frames) == pytest.approx(61.0, abs=0.01)
    assert frame_nll_from_logits(np.zeros(frames.shape), frames) == pytest.approx(88 * np.log(2))


def test_nll_weights_skip_padding_and_logits_stay_finite():
    targets = np.array([[[1, 0], [0, 0]]], dtype=float)
    logits = np.array([[[50.0, -50.0], [1e4, 1e4]]])  # second frame is padding with absurd logits
    assert frame_nll_from_logits(logits, targets, weights=np.array([[1, 0]])) == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(frame_nll_from_logits(-logits, targets))


def test_frame_accuracy_ignores_shared_silence():
    targets = np.array([[1, 1, 0, 0, 0, 0]], dtype=bool)
    assert frame_accuracy(np.zeros_like(targets), targets) == 0.0  # silence everywhere is not 67% right
    assert frame_accuracy(np.array([[1, 0, 1, 0, 0, 0]], dtype=bool), targets) == pytest.approx(1 / 3)
    assert frame_accuracy(targets, targets) == 1.0


def test_pad_pairs_shift_by_one_frame_and_mark_real_steps():
    a = np.eye(4, dtype=bool)[:3]  # 3 frames
    b = np.eye(4, dtype=bool)[[3, 2, 1, 0, 3]]  # 5 frames
    previous, current, weights = pad_pairs([a, b])
    assert previous.shape == (2, 4, 4) and weights.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert (previous[1] == b[:-1]).all() and (current[1] == b[1:]).all() and (current[0, :2] == a[1:]).all()


def test_length_batches_cover_every_sequence_once():
    sequences = [np.ones((n, 3), dtype=bool) for n in (5, 30, 6, 31, 7, 29)]
    batches = length_batches(sequences, 2, np.random.default_rng(0))
    seen = sorted(int(w.sum()) for _, _, weights in batches for w in weights)
    assert seen == sorted(n - 1 for n in (5, 30, 6, 31, 7, 29))


def test_save_atomically_leaves_no_temporary_files(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = save_atomically(model, tmp_path / "m" / "model.keras")
    assert [p.name for p in path.parent.iterdir()] == ["model.keras"]
    np.testing.assert_allclose(keras.models.load_model(path).get_weights()[0], model.get_weights()[0])


def test_shift_keys_moves_notes_and_drops_what_leaves_the_keyboard():
    roll = np.zeros((2, 6), dtype=bool)
    roll[0, 1] = roll[1, 5] = True
    up = shift_keys(roll, 2)
    assert np.argwhere(up).tolist() == [[0, 3]]  # the top note fell off
    down = shift_keys(roll, -1)
    assert np.argwhere(down).tolist() == [[0, 0], [1, 4]]
    assert (shift_keys(roll, 0) == roll).all() and shift_keys(roll, 0) is not roll


def test_pitch_classes_fold_octaves_but_keep_neighbours_apart():
    from course_lib.metrics import pitch_class_histogram

    roll = np.zeros((4, 88), dtype=bool)
    roll[:, 60 - 21] = roll[:2, 72 - 21] = True  # C4 for 4 steps, C5 for 2
    roll[0, 61 - 21] = True  # C#4 once
    histogram = pitch_class_histogram(roll)
    assert histogram[0] == pytest.approx(6 / 7) and histogram[1] == pytest.approx(1 / 7) and histogram.sum() == 1
    assert pitch_class_histogram(np.zeros((3, 88))).sum() == 0  # silence: no division by zero
    before = roll.copy()
    pitch_class_histogram(roll)
    assert (roll == before).all()


def test_polyphony_and_note_lengths_on_a_lopsided_roll():
    from course_lib.metrics import note_lengths, notes_per_frame

    roll = np.zeros((6, 4), dtype=bool)
    roll[0:3, 0] = True  # a 3-frame note
    roll[5, 0] = True  # the same key again later: a second note, 1 frame
    roll[1:6, 2] = True  # a 5-frame note
    assert notes_per_frame(roll).tolist() == [1, 2, 2, 1, 1, 2]
    assert notes_per_frame(np.zeros((2, 4))).size == 0
    assert sorted(note_lengths(roll).tolist()) == [1, 3, 5]


def test_weight_averaging_keeps_the_averaged_weights_that_scored_best():
    from course_lib.models import pianoroll_lstm
    from course_lib.training import evaluate_frames, train_frame_model

    jsb = load_jsb()
    model = pianoroll_lstm(units=16, deep=8)
    history = train_frame_model(model, jsb.train[:6], jsb.valid[:3], epochs=3, averaging=0.9, patience=50)
    # the returned weights are the averaged ones that scored best, not the last training weights
    assert evaluate_frames(model, jsb.valid[:3])["nll"] == pytest.approx(min(history["val_nll"]), rel=1e-6)
    assert int(np.argmin(history["val_nll"])) == 2  # still improving: the last epoch's averages are kept
    averages = model.optimizer._model_variables_moving_average
    assert all(np.allclose(v.numpy(), a.numpy()) for v, a in zip(model.trainable_variables, averages, strict=True))
