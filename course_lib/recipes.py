"""The course's five trainable models as one table: their data, builder, training, scores and music.

``python -m course_lib train NAME`` and ``generate NAME`` reach every model through
:data:`RECIPES`, and the notebooks call the same functions, so a model trained in a notebook, on
the command line or shipped in ``data/pretrained/`` is the same kind of object. Nothing else
branches on a model's name.

============  ================================================  =====================================
name          model                                             default data
============  ================================================  =====================================
melody        :func:`~course_lib.models.melody_lstm`            soprano lines of music21's chorales
chorale       :func:`~course_lib.models.pianoroll_lstm`         the JSB standard split
chorale-made  :func:`~course_lib.models.lstm_made`              the JSB standard split
gan           :class:`~course_lib.gan.PianoRollGAN`             two-bar excerpts of the chorales
satb          :func:`~course_lib.satb_model.satb_harmoniser`    the chorales' four voices, split by tune
============  ================================================  =====================================

The first three also train on a folder of your own MIDI files imported with ``python -m
course_lib data import FOLDER --name NAME``: pass ``NAME`` as the data source.

Notebook: 10_your_own_music
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from course_lib import datasets
from course_lib.errors import CourseError
from course_lib.melodies import MELODY_WINDOW, MelodyData, melody_data, melody_split, melody_windows
from course_lib.notes import Piece, TempoMap
from course_lib.pianoroll import PIANO_LOWEST, from_pianoroll
from course_lib.sources import SOURCES, chorale_data, chorale_split, imported_rate, tempo_of
from course_lib.tokens import MelodyVocabulary

if TYPE_CHECKING:  # Keras (and its backend) loads when a model is built or trained, not for the table
    import keras

OUTPUT_DIR = Path("output")
# ``generate``'s options and their defaults; each recipe names those its model reads (``--seed``: all of them)
GENERATE_DEFAULTS: dict[str, Any] = {"bars": 16, "temperature": 1.0, "top_k": None, "top_p": None, "primer": 0}


@dataclass
class Generated:
    """What ``generate`` writes: the music, its title, and options for its score."""

    piece: Piece
    title: str
    score_options: dict = field(default_factory=dict)


@dataclass
class Recipe:
    """One trainable model: how it loads its data, builds, trains, scores, makes music and fills its card.

    ``size`` holds the builder's size arguments (the tests pass tiny ones), ``settings`` the
    training function's. ``shown`` names the ``(label, history key)`` pairs of a progress line.
    """

    name: str
    builder: Callable[..., Any]
    default_source: str
    epochs: int  # at most this many epochs
    settings: dict = field(default_factory=dict)
    size: dict = field(default_factory=dict)
    sources: tuple[str, ...] = SOURCES
    unit = ""  # what the NLL is per
    batch_size = 1  # examples per batch (the training function's default)
    shown: ClassVar[tuple[tuple[str, str], ...]] = (("train", "nll"), ("valid", "val_nll"))
    note = ""
    data_parallel = True  # trains on several devices with --devices
    generate_options: ClassVar[tuple[str, ...]] = ()  # the GENERATE_DEFAULTS its generate reads

    def build(self, data, size: dict | None = None) -> keras.Model:
        return self.builder(data, **{**self.size, **(size or {})})

    def load_data(self, source: str, limit: int | None = None):
        raise NotImplementedError

    def fit(self, model: keras.Model, data, epochs: int, **run_options) -> dict[str, list[float]]:
        raise NotImplementedError

    def evaluate(self, model: keras.Model, pieces) -> dict[str, float]:
        raise NotImplementedError

    def saved(self, model: keras.Model) -> keras.Model:
        """The part of a trained model that is written and shipped."""
        return model

    def card_fields(self, model: keras.Model, data, source: str, limit: int | None) -> dict:
        """The card's scores and what it takes to make music from the model."""
        scores = {
            split: {k: round(float(v), 4) for k, v in self.evaluate(model, getattr(data, split)).items()}
            for split in ("valid", "test")
        }
        tempo = {} if source in SOURCES else {"tempo_bpm": tempo_of(source)}
        return {"training_pieces": len(data.train), **scores, "unit": f"nats per {self.unit}", **tempo}

    def to_piece(self, generated: np.ndarray, card: dict) -> Piece:
        raise NotImplementedError

    def primers(self, card: dict) -> list:
        """The validation pieces that ``--primer`` picks from, as the model reads them (only that split is loaded)."""
        raise NotImplementedError

    def generate(self, model: keras.Model, card: dict, options: dict) -> Generated:
        """Music from a trained model; ``options`` are the command line's (bars, temperature, seed, primer...)."""
        raise NotImplementedError

    def continuation_title(self, options: dict) -> str:
        return f"{self.name}, temperature {options['temperature']}, seed {options['seed']} (first bar: the primer)"


class TokenRecipe(Recipe):
    """A melody model: windows of tokens in, the next token's logits out."""

    unit = "token"
    batch_size = 64
    generate_options = ("bars", "temperature", "top_k", "top_p", "primer")

    def load_data(self, source, limit=None) -> MelodyData:
        data = melody_data(source)
        data.train, data.valid, data.test = (pieces[:limit] for pieces in (data.train, data.valid, data.test))
        return data

    def fit(self, model, data, epochs, **run_options):
        train, valid = melody_windows(data.train), melody_windows(data.valid, hop=MELODY_WINDOW)
        return runs().train_token_model(model, train, valid, epochs, **{**self.settings, **run_options})

    def evaluate(self, model, pieces):
        from course_lib import training

        return training.evaluate_tokens(model, melody_windows(pieces, hop=MELODY_WINDOW))

    def card_fields(self, model, data, source, limit):
        vocabulary = [data.vocabulary.lowest, data.vocabulary.highest]
        fields = super().card_fields(model, data, source, limit)
        return {**fields, "vocabulary": vocabulary, "steps_per_beat": data.steps_per_beat}

    def to_piece(self, generated, card):
        notes = MelodyVocabulary(*card["vocabulary"]).decode(np.asarray(generated), card["steps_per_beat"])
        return Piece(notes, TempoMap.constant(card.get("tempo_bpm", datasets.CHORALE_TEMPO_BPM)))

    def primers(self, card):
        return melody_split(card["data"], "valid", MelodyVocabulary(*card["vocabulary"]))

    def generate(self, model, card, options):
        from course_lib import sampling

        rate = card["steps_per_beat"]
        primer = validation_piece(self.primers(card), options["primer"])[: 4 * rate]
        top = options["top_k"], options["top_p"]
        tokens = sampling.generate_tokens(
            model, list(primer), options["bars"] * 4 * rate, options["temperature"], *top, options["seed"]
        )
        return Generated(self.to_piece(tokens, card), self.continuation_title(options))


class FrameRecipe(Recipe):
    """A piano-roll model: frames so far in, the next frame's 88 key logits out."""

    unit = "frame"
    batch_size = 8
    generate_options = ("bars", "temperature", "primer")

    def load_data(self, source, limit=None) -> datasets.Splits:
        return first_pieces(chorale_data(source), limit)

    def fit(self, model, data, epochs, **run_options):
        return runs().train_frame_model(
            model, list(data.train), list(data.valid), epochs, **{**self.settings, **run_options}
        )

    def evaluate(self, model, pieces):
        from course_lib import training

        return training.evaluate_frames(model, list(pieces))

    def card_fields(self, model, data, source, limit):
        rate = 1 if source in SOURCES else imported_rate(source)
        return {**super().card_fields(model, data, source, limit), "steps_per_beat": rate, "lowest": PIANO_LOWEST}

    def to_piece(self, generated, card):
        notes = from_pianoroll(generated, steps_per_beat=card.get("steps_per_beat", 1), lowest=card["lowest"])
        return Piece(notes, TempoMap.constant(card.get("tempo_bpm", datasets.CHORALE_TEMPO_BPM)))

    def primers(self, card):
        return chorale_split(card["data"], "valid")

    def generate(self, model, card, options):
        from course_lib import sampling

        rate = card.get("steps_per_beat", 1)
        primer = np.asarray(validation_piece(self.primers(card), options["primer"])[: 4 * rate])
        steps = options["bars"] * 4 * rate
        rolls = sampling.generate_frames(model, primer, steps, options["temperature"], options["seed"])
        return Generated(self.to_piece(rolls, card), self.continuation_title(options))


def validation_piece(valid: list, index: int):
    """Validation piece ``index`` (``--primer``), or a one-line error naming the numbers there are."""
    if not 0 <= index < len(valid):
        raise CourseError(f"--primer must be 0..{len(valid) - 1} (a validation piece)")
    return valid[index]


class GanRecipe(Recipe):
    """The WGAN-GP of notebook 07: a generator of two-bar, four-voice excerpts and its critic."""

    unit = "generator step"
    batch_size = 64
    data_parallel = False
    shown = (("distance", "distance"), ("pitch classes", "used_pitch_classes"), ("diversity", "diversity"))
    generate_options = ("bars",)

    def load_data(self, source, limit=None) -> datasets.Splits:
        from course_lib import gan

        return datasets.Splits(*(gan.load_excerpts(split)[:limit] for split in datasets.Splits._fields))

    def fit(self, model, data, epochs, time_limit=None, seed=0, callbacks=(), steps_per_epoch=None, **run_options):
        from course_lib import autodiff, gan, gan_monitor
        from course_lib.tools.runs import fit_resumable

        # Several steps per compiled call (TensorFlow, 2 CPU cores: 355 -> 317 ms per step at 8). On endless
        # batches a call always takes all its steps, so their number must divide an epoch's.
        every = steps_per_epoch or self.settings["steps_per_epoch"]  # generator steps between checkpoints and scores
        model.compile(steps_per_execution=math.gcd(autodiff.steps_per_call(), every))
        # Every optimizer built now (TensorFlow builds them at the first step), so that a resumed run loads
        # their state; Keras's backup builds the model's own, unused one before loading, so it is built too.
        model.generator_optimizer.build(model.generator.trainable_variables)
        model.critic_optimizer.build(model.critic.trainable_variables)
        model.optimizer.build(model.trainable_variables)
        batches = gan.ExcerptBatches(data.train, self.settings.get("batch_size", self.batch_size), seed, every)
        monitor = gan_monitor.GanMonitor(data.train)  # adds its scores of the generated excerpts to the logs
        limit = None if time_limit is None else time_limit - 60  # the last epoch and its scores fit in the last minute
        return fit_resumable(
            model,
            batches,
            None,
            epochs,
            monitor=None,
            time_limit=limit,
            seed=seed,
            callbacks=[monitor, *callbacks],
            steps_per_epoch=every,
            **run_options,
        )

    def saved(self, model):
        return model.generator

    def card_fields(self, model, data, source, limit):
        import keras

        from course_lib import gan_monitor

        monitor = gan_monitor.GanMonitor(data.train)
        generated = gan_monitor.score(model.generator, monitor)
        return {
            "training_excerpts": len(data.train),
            "generator_steps": int(keras.ops.convert_to_numpy(model.generator_optimizer.iterations)),
            "scored": f"{gan_monitor.SCORE_SAMPLES} excerpts, seed {gan_monitor.SCORE_SEED}, argmax binarisation",
            "generated": {k: round(v, 4) for k, v in generated.items()},
            "data_metrics": {k: round(v, 4) for k, v in monitor.real.items()},
            "within_target": gan_monitor.within_target(generated, monitor.real),
            "flags": gan_monitor.alarms(generated, monitor.real),
        }

    def generate(self, model, card, options):
        from course_lib import gan

        count = max(1, options["bars"] // 2)
        title = f"gan: {count} generated two-bar excerpts, seed {options['seed']}"
        return Generated(gan.generate(model, count, options["seed"]), title)


class SatbRecipe(Recipe):
    """The harmoniser of notebook 09: a soprano in, alto, tenor and bass out."""

    unit = "voice step"
    batch_size = 16
    data_parallel = False
    shown = (("train", "loss"), ("valid", "val_loss"))
    note = "(Keras loss: 3 voices, padding counted; train adds the voice-leading penalties)"
    generate_options = ("primer",)  # the whole melody, at the temperature on the model's card

    def build(self, data, size=None):
        from course_lib import satb_model

        return satb_model.compile_harmoniser(super().build(data, size))

    def load_data(self, source, limit=None) -> datasets.Splits:
        from course_lib import harmonising

        return first_pieces(harmonising.load_lines(), limit)

    def fit(self, model, data, epochs, **run_options):
        from course_lib import satb_model
        from course_lib.tools.runs import fit_resumable

        seed = run_options.pop("seed", 0)
        batches = satb_model.Batches(data.train, seed=seed)
        validation = satb_model.Batches(data.valid, shuffle=False)
        options = {"monitor": "val_loss", "patience": 8, "lr_patience": 3, "min_lr": 1e-4, "lr_min_delta": 1e-4}
        return fit_resumable(model, batches, validation, epochs, seed=seed, **{**options, **run_options})

    def evaluate(self, model, pieces):
        from course_lib import satb_model

        return satb_model.nll_per_voice(model, pieces)

    def card_fields(self, model, data, source, limit):
        from course_lib import harmonising

        temperature, alone, by_temperature = harmonising.choose_temperature(model, data.valid)
        return {
            **super().card_fields(model, data, source, limit),
            "unit": "nats per voice step (alto, tenor, bass; eighth-note grid)",
            "split": "by tune (datasets.load_chorales(by='tune'))",
            "temperature": temperature,
            "temperature_alone": alone,
            "rules": True,
            "cadence_tries": harmonising.CADENCE_TRIES,
            "valid_voice_leading": by_temperature,
        }

    def primers(self, card):
        from course_lib import harmonising

        return harmonising.load_split("valid")

    def generate(self, model, card, options):
        from course_lib import harmonising, voice_leading, voices

        melody = voices.soprano_only(validation_piece(self.primers(card), options["primer"]))
        result = harmonising.harmonise_with_card(model, card, melody, options["seed"])
        fermatas = [step / result.steps_per_beat for step in result.fermata_starts()]
        title = f"validation melody {options['primer']} harmonised in four voices (seed {options['seed']})"
        marks = voice_leading.marks(result)
        return Generated(result.to_piece(), title, {"satb": True, "fermatas": fermatas, "marks": marks})


def runs():
    """:mod:`course_lib.tools.runs`, imported when a recipe first trains (it loads Keras)."""
    from course_lib.tools import runs

    return runs


def _models():
    """:mod:`course_lib.models`, imported when a recipe first builds a model (it loads Keras)."""
    from course_lib import models

    return models


def _gan(data, latent: int = 64, width: int = 128, loss: str = "wgan-gp"):
    from course_lib import gan

    return gan.GAN(gan.make_generator(latent, width), gan.make_critic(width), loss=loss)


def _satb(data, **size):
    from course_lib import satb_model

    return satb_model.satb_harmoniser(**size)


# The table. Settings of the frame models (notebook 06), each chosen on JSB validation: the piano-roll
# LSTM trains best with a high learning rate whose noise weight averaging smooths out
# (bench/chorale_learning_rate.py); the LSTM-MADE with a wide LSTM and MADE, dropout on its input and
# output, and weight averaging (bench/jsb_settings.py).
RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        TokenRecipe(
            "melody", lambda data, **size: _models().melody_lstm(data.vocabulary.size, **size), "chorales", 100
        ),
        FrameRecipe(
            "chorale",
            lambda data, **size: _models().pianoroll_lstm(**size),
            "jsb",
            200,
            {"learning_rate": 6e-3, "averaging": 0.99},
            {"input_dropout": 0.3, "recurrent_dropout": 0.5, "deep": 512},
        ),
        FrameRecipe(
            "chorale-made",
            lambda data, **size: _models().lstm_made(**size),
            "jsb",
            200,
            {"learning_rate": 2e-3, "averaging": 0.99, "patience": 15},
            {"units": 512, "hidden": 2048, "dropout": 0.6, "input_dropout": 0.3},
        ),
        GanRecipe("gan", _gan, "chorales", 500, {"steps_per_epoch": 200}, sources=("chorales",)),
        SatbRecipe("satb", _satb, "chorales", 200, sources=("chorales",)),
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


def evaluate(name: str, model: keras.Model, data, split: str = "valid") -> dict[str, float]:
    """NLL (nats per token, frame or voice step) and accuracy of ``model`` on a split of its data."""
    return recipe(name).evaluate(model, getattr(data, split))


def first_pieces(splits: datasets.Splits, limit: int | None) -> datasets.Splits:
    """Each split cut to its first ``limit`` pieces (all of them for ``None``): ``--limit``'s smoke test."""
    return datasets.Splits(*(list(pieces)[:limit] for pieces in splits))


def load_data(name: str, source: str | None = None, limit: int | None = None):
    """The data recipe ``name`` trains on (the first ``limit`` pieces of each split only, if given)."""
    chosen = recipe(name)
    return chosen.load_data(source or chosen.default_source, limit)


def to_piece(name: str, generated: np.ndarray, card: dict) -> Piece:
    """Generated tokens or frames as a :class:`Piece` at the tempo on the model's card.

    Notebook: 08_evaluation
    """
    return recipe(name).to_piece(generated, card)
