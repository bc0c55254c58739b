"""Resumable runs (course_lib.runs, and tools/train.py's train command): every kind of model of the recipe table
resumes exactly (the checkpoint folder itself: tests/test_checkpoints.py)."""

from __future__ import annotations

import inspect
import json

import keras
import numpy as np
import pytest

from course_lib import recipes, runs
from course_lib.checkpoints import Checkpoints
from course_lib.tools.train import train as train_recipe

LIMITS = {"gan": 128, "satb": 2}  # training pieces (excerpts for the GAN) of the tiny runs; else 4


def weights_of(path):
    return keras.models.load_model(path, compile=False).get_weights()


# Every kind of recipe and every kind of layer: melody (an LSTM's token recipe) and chorale-made (an LSTM with a
# MADE) are left out to keep the suite short, as chorale has the LSTM, melody-transformer the token recipe and
# chorale-transformer the MADE; the run machinery is the same for all (course_lib/runs.py).
RESUMED = ("melody-transformer", "chorale", "chorale-transformer", "gan", "satb")


def test_every_recipe_kind_and_layer_is_resumed_here():
    kinds = {type(recipes.recipe(name)).__name__ for name in RESUMED}
    assert kinds == {type(recipes.recipe(name)).__name__ for name in recipes.MODELS}


@pytest.mark.parametrize("name", RESUMED)
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


def test_the_recipe_table_holds_the_only_defaults_of_its_settings():
    """A default in runs.py for a setting the table names would be a second default, which could drift.

    Only a default that turns a feature off (None, 0.0: no monitor, no floor) is allowed."""
    named = {key for chosen in recipes.RECIPES.values() for key in chosen.settings}
    functions = (
        runs.fit_resumable,
        runs.train_token_model,
        runs.train_frame_model,
        runs.compile_frame_model,
        runs.compile_token_model,
    )
    defaults = {
        f"{function.__name__}({name}={parameter.default!r})"
        for function in functions
        for name, parameter in inspect.signature(function).parameters.items()
        if name in named and parameter.default not in (inspect.Parameter.empty, None, 0.0)
    }
    assert {"batch_size", "learning_rate", "monitor", "patience", "lr_patience"} <= named
    assert defaults == set()


def test_a_monitored_run_without_its_patience_says_so():
    with pytest.raises(ValueError, match="needs patience and lr_patience"):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        runs.fit_resumable(model, None, None, 1, monitor="val_nll")
