"""The models' wiring: MADE masks look only at earlier keys, an LSTM-MADE's context only at earlier frames,
recurrent dropout acts in training only."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib.models import MadeOutput, lstm_made, made_masks, pianoroll_lstm


def test_made_masks_are_autoregressive_over_keys():
    to_hidden, to_output, direct = made_masks(keys=6, hidden=20, seed=1)
    reach = (to_hidden @ to_output > 0) | (direct > 0)  # can key i (row) influence output d (column)?
    assert not np.tril(reach).any()  # never itself or a key above it influencing a lower output
    assert reach[0, 1:].all()  # the lowest key reaches every output above it


@pytest.mark.parametrize("key", [0, 30, 60, 86])
def test_made_output_ignores_its_own_key_and_those_above(key):
    keras.utils.set_random_seed(3)
    made = MadeOutput(keys=88, hidden=64)
    rng = np.random.default_rng(key)
    frame = (rng.random((4, 88)) < 0.3).astype("float32")
    context = rng.normal(size=(4, 16)).astype("float32")
    flipped = frame.copy()
    flipped[:, key] = 1 - flipped[:, key]
    before = keras.ops.convert_to_numpy(made([frame, context]))
    after = keras.ops.convert_to_numpy(made([flipped, context]))
    np.testing.assert_array_equal(before[:, : key + 1], after[:, : key + 1])  # keys <= k unchanged
    assert np.abs(before[:, key + 1 :] - after[:, key + 1 :]).max() > 1e-4  # some key above k changes


def test_lstm_made_reads_only_earlier_frames_for_its_context():
    model = lstm_made(keys=88, units=8, hidden=16)
    rng = np.random.default_rng(0)
    previous = (rng.random((1, 5, 88)) < 0.1).astype("float32")
    current = (rng.random((1, 5, 88)) < 0.1).astype("float32")
    base = keras.ops.convert_to_numpy(model([previous, current]))
    later = previous.copy()
    later[0, 3] = 1 - later[0, 3]  # change what the LSTM reads at step 3
    changed = keras.ops.convert_to_numpy(model([later, current]))
    np.testing.assert_allclose(base[0, :3], changed[0, :3], atol=1e-6)  # steps before 3 do not see it
    assert np.abs(base[0, 3:] - changed[0, 3:]).max() > 1e-4


def test_pianoroll_recurrent_dropout_acts_in_training_only():
    keras.utils.set_random_seed(3)
    frames = (np.random.default_rng(0).random((2, 6, 10)) < 0.3).astype("float32")
    for recurrent_dropout in (0.0, 0.5):
        model = pianoroll_lstm(keys=10, units=6, dropout=0.0, recurrent_dropout=recurrent_dropout)
        inference = keras.ops.convert_to_numpy(model(frames, training=False))
        training = keras.ops.convert_to_numpy(model(frames, training=True))
        # the first step has a zero state, so only the later steps can change
        np.testing.assert_allclose(training[:, 0], inference[:, 0], atol=1e-6)
        changed = np.abs(training[:, 1:] - inference[:, 1:]).max()
        assert (changed > 1e-4) == (recurrent_dropout > 0)
