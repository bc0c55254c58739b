"""The course's seven trainable models as one table: their data, builder, training, scores and music.

``python -m course_lib train NAME`` and ``generate NAME`` reach every model through
:data:`RECIPES`, and the notebooks call the same functions, so a model trained in a notebook, on
the command line or shipped in ``data/pretrained/`` is the same kind of object. Nothing else
branches on a model's name.

====================  ============================  ==========================  ===========================
name                  model                         default data                lacks
====================  ============================  ==========================  ===========================
melody                :func:`.melody_lstm`          music21 chorales' sopranos
melody-transformer    :func:`.melody_transformer`   music21 chorales' sopranos
chorale               :func:`.pianoroll_lstm`       the JSB standard split
chorale-made          :func:`.lstm_made`            the JSB standard split
chorale-transformer   :func:`.transformer_made`     the JSB standard split
gan                   :class:`.PianoRollGAN`        two-bar chorale excerpts    evaluate, to_piece, primers
satb                  :func:`.satb_harmoniser`      chorales, split by tune     to_piece
====================  ============================  ==========================  ===========================

Every model has each of :data:`OPERATIONS` or names it in ``lacks`` with the reason (the
operation is then ``None``): :func:`operation` says so in one line. Every training setting is in
the table's ``settings`` (the training function's arguments) or ``size`` (the builder's).

The melody, melody-transformer, chorale, chorale-made and chorale-transformer models also train on a folder of your own
MIDI files imported with ``python -m course_lib data import FOLDER --name NAME``: pass ``NAME`` as
the data source.

Notebook: 10_your_own_music
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib.errors import CourseError
from course_lib.notes import Piece
from course_lib.recipe_kinds import (
    GENERATE_DEFAULTS,
    OPERATIONS,
    FrameRecipe,
    GanRecipe,
    Recipe,
    SatbRecipe,
    TokenRecipe,
)
from course_lib.settings import LEARNING_RATE

if TYPE_CHECKING:  # Keras (and its backend) loads when a model is built or trained, not for the table
    import keras

OUTPUT_DIR = Path("output")


def _models():
    """:mod:`course_lib.models`, imported when a recipe first builds a model (it loads Keras)."""
    from course_lib import models

    return models


def _transformer():
    """:mod:`course_lib.transformer`, imported when its recipe first builds a model (it loads Keras)."""
    from course_lib import transformer

    return transformer


def _gan(data, latent: int, width: int, loss: str, critic_steps: int, gp_weight: float):
    from course_lib import gan

    generator, critic = gan.make_generator(latent, width), gan.make_critic(width)
    return gan.GAN(generator, critic, loss=loss, critic_steps=critic_steps, gp_weight=gp_weight)


def _satb(data, **size):
    from course_lib import satb_model

    return satb_model.satb_harmoniser(**size)


# The table. Settings of the frame models (notebook 06), each chosen on JSB validation: the piano-roll
# LSTM trains best with a high learning rate whose noise weight averaging smooths out
# (bench/chorale_learning_rate.py); the LSTM-MADE with a wide LSTM and MADE, dropout on its input and
# output, and weight averaging (bench/jsb_settings.py). The GAN's are the WGAN-GP paper's (notebook 07).
RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        TokenRecipe(
            name="melody",
            builder=lambda data, **size: _models().melody_lstm(data.vocabulary.size, **size),
            default_source="chorales",
            epochs=100,
            settings={
                "batch_size": 64,
                "learning_rate": LEARNING_RATE,
                "monitor": "val_nll",
                "patience": 10,
                "lr_patience": 4,
            },
        ),
        TokenRecipe(  # the same data, batches and callbacks as the melody LSTM; size and rate chosen on
            # validation (python bench/transformer_race.py --search)
            name="melody-transformer",
            builder=lambda data, **size: _transformer().melody_transformer(data.vocabulary.size, **size),
            default_source="chorales",
            epochs=100,
            settings={
                "batch_size": 64,
                "learning_rate": 1e-3,
                "monitor": "val_nll",
                "patience": 10,
                "lr_patience": 4,
            },
            size={"width": 128, "depth": 2, "feed_forward": 512, "dropout": 0.1},
        ),
        FrameRecipe(
            name="chorale",
            builder=lambda data, **size: _models().pianoroll_lstm(**size),
            default_source="jsb",
            epochs=200,
            settings={
                "batch_size": 8,
                "learning_rate": 6e-3,
                "averaging": 0.99,
                "monitor": "val_nll",
                "patience": 10,
                "lr_patience": 4,
            },
            size={"input_dropout": 0.3, "recurrent_dropout": 0.5, "deep": 512},
        ),
        FrameRecipe(
            name="chorale-made",
            builder=lambda data, **size: _models().lstm_made(**size),
            default_source="jsb",
            epochs=200,
            settings={
                "batch_size": 8,
                "learning_rate": LEARNING_RATE,
                "averaging": 0.99,
                "monitor": "val_nll",
                "patience": 15,
                "lr_patience": 4,
            },
            size={"units": 512, "hidden": 2048, "dropout": 0.6, "input_dropout": 0.3},
        ),
        FrameRecipe(  # the same data, batches and callbacks as the LSTM-MADE; size chosen on validation
            # (python bench/jsb_settings.py --model chorale-transformer)
            name="chorale-transformer",
            builder=lambda data, **size: _transformer().transformer_made(**size),
            default_source="jsb",
            epochs=200,
            settings={
                "batch_size": 8,
                "learning_rate": 1e-3,
                "averaging": 0.99,
                "monitor": "val_nll",
                "patience": 15,
                "lr_patience": 4,
            },
            size={"width": 128, "depth": 2, "feed_forward": 512, "dropout": 0.3, "input_dropout": 0.6, "hidden": 2048},
        ),
        GanRecipe(
            name="gan",
            builder=_gan,
            default_source="chorales",
            epochs=500,
            settings={"batch_size": 64, "steps_per_epoch": 200, "learning_rate": 1e-4, "betas": (0.5, 0.9)},
            size={"latent": 64, "width": 128, "loss": "wgan-gp", "critic_steps": 5, "gp_weight": 10.0},
            sources=("chorales",),
        ),
        SatbRecipe(
            name="satb",
            builder=_satb,
            default_source="chorales",
            epochs=200,
            settings={
                "batch_size": 16,
                "learning_rate": LEARNING_RATE,
                "monitor": "val_loss",
                "patience": 8,
                "lr_patience": 3,
                "min_lr": 1e-4,
                "lr_min_delta": 1e-4,
            },
            sources=("chorales",),
        ),
    )
}
MODELS = tuple(RECIPES)


def recipe(name: str) -> Recipe:
    """The recipe of model ``name``, or a one-line error naming the ones there are."""
    if name not in RECIPES:
        raise CourseError(f"unknown model {name!r}: choose from {', '.join(MODELS)}")
    return RECIPES[name]


def generate_options(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """``generate``'s options with their defaults, or a one-line error naming the given ones model ``name`` ignores.

    ``given`` maps :data:`GENERATE_DEFAULTS`' names to the values given, ``None`` where not given.
    """
    uses = recipe(name).generate_options
    unused = [key for key, value in given.items() if value is not None and key not in uses]
    if unused:
        flags = ", ".join(_flag(key) for key in unused)
        raise CourseError(f"{name} does not use {flags}: it takes {', '.join(map(_flag, uses))} and --seed")
    return {**GENERATE_DEFAULTS, **{key: value for key, value in given.items() if value is not None}}


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def build(name: str, data) -> keras.Model:
    """A fresh, untrained model for recipe ``name`` (its size set by the data for the melody).

    Notebook: 10_your_own_music
    """
    return recipe(name).build(data)


def fit(name: str, model: keras.Model, data, epochs: int | None = None, **options) -> dict[str, list[float]]:
    """Train ``model`` with the recipe's settings; ``options`` go to its training function (and override them).

    Notebook: 10_your_own_music
    """
    chosen = recipe(name)
    return chosen.fit(model, data, chosen.epochs if epochs is None else epochs, **options)


def operation(name: str, kind: str):
    """Operation ``kind`` (one of :data:`OPERATIONS`) of model ``name``, or a one-line error saying why it has none.

    Notebook: 08_evaluation
    """
    chosen = recipe(name)
    found = getattr(chosen, kind, None) if kind in OPERATIONS else None
    if found is None:
        reason = chosen.lacks.get(kind, f"the operations are {', '.join(OPERATIONS)}")
        raise CourseError(f"{name} has no {kind}: {reason}")
    return found


def evaluate(name: str, model: keras.Model, data, split: str = "valid") -> dict[str, float]:
    """NLL (nats per token, frame or voice step) and accuracy of ``model`` on a split of its data."""
    return operation(name, "evaluate")(model, getattr(data, split))


def load_data(name: str, source: str | None = None, limit: int | None = None):
    """The data recipe ``name`` trains on (the first ``limit`` pieces of each split only, if given)."""
    return operation(name, "load_data")(source or recipe(name).default_source, limit)


def to_piece(name: str, generated: np.ndarray, card: dict) -> Piece:
    """Generated tokens or frames as a :class:`Piece` at the tempo on the model's card.

    Notebook: 08_evaluation
    """
    return operation(name, "to_piece")(generated, card)
