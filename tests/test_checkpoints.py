"""A run's checkpoint folder (course_lib.checkpoints): what it keeps, what it refuses, and the exact resume
it gives fit_resumable."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from course_lib import runs
from course_lib.checkpoints import CheckpointMismatch, Checkpoints, reseed, save_atomically
from course_lib.files import PARTIAL_PREFIX
from course_lib.models import melody_lstm
from course_lib.settings import LEARNING_RATE

SETTINGS = {"batch_size": 8, "learning_rate": LEARNING_RATE, "monitor": "val_nll", "patience": 50, "lr_patience": 4}


def tiny_melody_run(epochs, checkpoints=None):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 6, size=(40, 9)).astype("int32")
    valid = rng.integers(0, 6, size=(8, 9)).astype("int32")
    model = melody_lstm(6, embedding=4, units=8, dropout=0.5)
    history = runs.train_token_model(model, train, valid, epochs, checkpoints=checkpoints, **SETTINGS)
    return model, history


def test_a_checkpoint_folder_keeps_the_last_two_epochs(tmp_path):
    checkpoints = Checkpoints(tmp_path / "run")
    tiny_melody_run(4, checkpoints)
    names = sorted(p.name for p in checkpoints.folder.iterdir())
    assert names[0] == "backup" and names[-1] == "state.json" and all(n.startswith("best-") for n in names[1:-1])
    assert sorted(checkpoints.read()) == ["3", "4"]  # the states after the last two epochs


def test_a_finished_run_is_not_trained_again(tmp_path):
    checkpoints = Checkpoints(tmp_path / "run")
    model, history = tiny_melody_run(2, checkpoints)
    again, again_history = tiny_melody_run(2, checkpoints)
    assert again_history == history
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resuming_into_a_different_model_says_so(tmp_path):
    checkpoints = Checkpoints(tmp_path / "run")
    tiny_melody_run(1, checkpoints)
    other = melody_lstm(6, embedding=4, units=12)
    windows = np.random.default_rng(0).integers(0, 6, size=(8, 9)).astype("int32")
    with pytest.raises(CheckpointMismatch, match="checkpoint of a different model"):
        runs.train_token_model(other, windows, windows, 2, checkpoints=checkpoints, **SETTINGS)


def test_a_finished_model_is_saved_without_its_optimizer(tmp_path):
    model, _ = tiny_melody_run(1)
    with_optimizer = save_atomically(model, tmp_path / "a.keras")
    bare = save_atomically(model, tmp_path / "b.keras", include_optimizer=False)
    assert bare.stat().st_size < with_optimizer.stat().st_size
    for a, b in zip(keras.models.load_model(bare).get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.keras", "b.keras"]


def test_a_save_killed_halfway_leaves_nothing_behind_next_time(tmp_path):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    (folder / f"{PARTIAL_PREFIX}x1y2.keras").write_bytes(b"half a model")
    (folder / f"{PARTIAL_PREFIX}state.json").write_text("{")
    Checkpoints(folder)
    assert list(folder.iterdir()) == []


def test_a_folder_refuses_a_run_with_other_settings_and_names_them(tmp_path):
    checkpoints = Checkpoints(tmp_path / "run" / "checkpoint")
    checkpoints.check_settings({"model": "melody", "seed": 1})
    checkpoints.check_settings({"model": "melody", "seed": 0})  # nothing saved yet: recorded afresh
    assert json.loads(checkpoints.settings.read_text()) == {"model": "melody", "seed": 0}
    checkpoints.state.write_text(json.dumps({"epochs_done": {}}))
    checkpoints.backup.mkdir()
    checkpoints.check_settings({"model": "melody", "seed": 0})  # the same run: resumes
    with pytest.raises(CheckpointMismatch, match="seed 0 there, 1 now"):
        checkpoints.check_settings({"model": "melody", "seed": 1})


def test_reseeding_makes_dropout_draw_the_same_masks_again():
    model = melody_lstm(6, embedding=4, units=8, dropout=0.5)
    tokens = np.arange(12, dtype="int32").reshape(2, 6) % 6
    draws = []
    for seed in (3, 3, 4):
        reseed(model, seed)
        draws.append(keras.ops.convert_to_numpy(model(tokens, training=True)))
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.allclose(draws[0], draws[2])
