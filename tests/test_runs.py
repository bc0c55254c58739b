"""Resumable runs (course_lib.runs, .checkpoints, .tools.train): every model of the recipe table resumes exactly,
and a checkpoint folder refuses what it does not hold."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from course_lib import recipes, runs
from course_lib.checkpoints import CheckpointMismatch, Checkpoints, save_atomically
from course_lib.files import PARTIAL_PREFIX
from course_lib.models import melody_lstm
from course_lib.tools.train import train as train_recipe

LIMITS = {"gan": 128, "satb": 2}  # training pieces (excerpts for the GAN) of the tiny runs; else 4


def weights_of(path):
    return keras.models.load_model(path, compile=False).get_weights()


@pytest.mark.parametrize("name", recipes.MODELS)
def test_every_model_resumes_exactly(name, tiny_models, tmp_path):
    """Two epochs in one go, or one epoch, a stop, and the same command for two: the same weights and scores."""
    chosen = recipes.recipe(name)
    options = {"limit": LIMITS.get(name, 4), "progress": None, "time_limit": None, "seed": 3}
    whole = train_recipe(chosen, epochs=2, out=tmp_path / "whole", **options)
    train_recipe(chosen, epochs=1, out=tmp_path / "resumed", **options)  # stopped after epoch 1
    lines = []
    resumed = train_recipe(chosen, epochs=2, out=tmp_path / "resumed", **{**options, "progress": lines.append})
    assert lines[0].startswith("resuming from") and lines[1].startswith(f"{name} epoch   2"), lines
    for a, b in zip(
        weights_of(tmp_path / "resumed" / name / f"{name}.keras"),
        weights_of(tmp_path / "whole" / name / f"{name}.keras"),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    scores = "generated" if name == "gan" else "valid"
    assert resumed[scores] == pytest.approx(whole[scores], abs=1e-4)
    assert resumed["epochs"] == whole["epochs"] == 2
    state = Checkpoints(tmp_path / "resumed" / name / "checkpoint").latest()
    assert len(state["history"]["seconds"]) == 2
    assert json.loads((tmp_path / "resumed" / name / f"{name}.json").read_text()) == resumed


def tiny_melody_run(epochs, checkpoints=None):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 6, size=(40, 9)).astype("int32")
    valid = rng.integers(0, 6, size=(8, 9)).astype("int32")
    model = melody_lstm(6, embedding=4, units=8, dropout=0.5)
    history = runs.train_token_model(model, train, valid, epochs, batch_size=8, checkpoints=checkpoints, patience=50)
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
        runs.train_token_model(other, windows, windows, 2, checkpoints=checkpoints)


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


def test_a_progress_line_shows_what_the_recipe_names():
    scores = {"nll": 1.23456, "val_nll": 2.5, "learning_rate": 0.002, "seconds": 75.2}
    line = runs.epoch_line("chorale", 4, scores, (("train", "nll"), ("valid", "val_nll")), "(nats/frame)")
    assert line == "chorale epoch   5  train 1.235  valid 2.500  (nats/frame)  lr 2.0e-03   1:15"


def test_a_finished_run_without_validation_keeps_its_latest_weights(tiny_models, tmp_path):
    """The GAN has no validation split to pick a best epoch: running its finished command again loads the last."""
    chosen = recipes.recipe("gan")
    options = {"epochs": 2, "out": tmp_path, "limit": 128, "progress": None, "time_limit": None}
    first = train_recipe(chosen, **options)
    trained = weights_of(tmp_path / "gan" / "gan.keras")
    again = train_recipe(chosen, **options)  # nothing left to train
    for a, b in zip(weights_of(tmp_path / "gan" / "gan.keras"), trained, strict=True):
        np.testing.assert_array_equal(a, b)
    assert again["generated"] == first["generated"] and again["epochs"] == 2
