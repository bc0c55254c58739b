"""The kinds of recipe in the table of :mod:`course_lib.recipes`: token, frame, GAN and four-voice models.

A :class:`Recipe` says how its model loads its data, builds, trains, scores, makes music and
fills its card. Each kind defines the :data:`OPERATIONS` its models have; an operation a model
lacks is ``None`` and its ``lacks`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from course_lib import datasets
from course_lib.errors import CourseError
from course_lib.melodies import MELODY_WINDOW, MelodyData, melody_data, melody_split, melody_windows
from course_lib.notes import Piece, TempoMap
from course_lib.pianoroll import PIANO_LOWEST
from course_lib.sources import SOURCES, chorale_data, chorale_split, imported_rate, sounding_lowest, tempo_of
from course_lib.tokens import MelodyVocabulary
from course_lib.voices import roll_to_piece

if TYPE_CHECKING:  # Keras (and its backend) loads when a model is built or trained, not for the table
    import keras

# ``generate``'s options and their defaults; each recipe names those its model reads (``--seed``: all of them)
GENERATE_DEFAULTS: dict[str, Any] = {"bars": 16, "temperature": 1.0, "top_k": None, "top_p": None, "primer": 0}
# What a recipe can do; the base class has none of them (None), each kind of recipe defines those its model has
OPERATIONS = ("load_data", "fit", "evaluate", "to_piece", "primers", "generate")


@dataclass
class Generated:
    """What ``generate`` writes: the music, its title, and options for its score."""

    piece: Piece
    title: str
    score_options: dict = field(default_factory=dict)


@dataclass
class Recipe:
    """One trainable model: how it loads its data, builds, trains, scores, makes music and fills its card.

    ``size`` holds the builder's arguments where they differ from its defaults (the tests pass tiny
    ones), ``settings`` every argument of the training function, ``batch_size`` included.
    ``shown`` names the ``(label, history key)`` pairs of a progress line. The :data:`OPERATIONS`
    a model lacks are ``None``, and ``lacks`` says why.
    """

    name: str
    builder: Callable[..., Any]
    default_source: str
    epochs: int  # at most this many epochs
    settings: dict = field(default_factory=dict)
    size: dict = field(default_factory=dict)
    sources: tuple[str, ...] = SOURCES
    unit = ""  # what the NLL is per
    shown: ClassVar[tuple[tuple[str, str], ...]] = (("train", "nll"), ("valid", "val_nll"))
    note = ""
    data_parallel = True  # trains on several devices with --devices
    generate_options: ClassVar[tuple[str, ...]] = ()  # the GENERATE_DEFAULTS its generate reads
    lacks: ClassVar[dict[str, str]] = {}  # operation -> why this model has none
    # The operations (each kind of recipe defines those its model has):
    load_data: ClassVar[Callable[..., Any] | None] = None  # (source, limit) -> the splits it trains on
    fit: ClassVar[Callable[..., Any] | None] = None  # (model, data, epochs, **run_options) -> history
    evaluate: ClassVar[Callable[..., Any] | None] = (
        None  # (model, pieces) -> {"nll": ...} per token, frame or voice step
    )
    to_piece: ClassVar[Callable[..., Any] | None] = None  # (generated, card) -> Piece
    primers: ClassVar[Callable[..., Any] | None] = None  # (card) -> the validation pieces ``--primer`` picks from
    generate: ClassVar[Callable[..., Any] | None] = None  # (model, card, options) -> Generated
    # (model, data, steps_per_beat, **options) -> rolls of the training pieces, the test pieces and music
    # generated from validation openings, for the card's copy check (the GAN counts copied excerpts itself)
    copy_rolls: ClassVar[Callable[..., Any] | None] = None

    def build(self, data, size: dict | None = None) -> keras.Model:
        return self.builder(data, **{**self.size, **(size or {})})

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

    def copies(self, model: keras.Model, data, steps_per_beat: int, limit: int | None, **options) -> dict:
        """The card's copy check (:func:`course_lib.memorisation.copy_card`): what the model's music copies.

        Not for a ``--limit`` run: a smoke test of a few pieces has no training data worth comparing with.
        """
        from course_lib.memorisation import copy_card

        if limit is not None:
            return {"copies": None}
        training, held_out, generated = self.copy_rolls(model, data, steps_per_beat, **options)
        return {"copies": {**copy_card(training, held_out, generated, steps_per_beat), "grid": steps_per_beat}}

    def continuation_title(self, options: dict) -> str:
        return f"{self.name}, temperature {options['temperature']}, seed {options['seed']} (first bar: the primer)"


class TokenRecipe(Recipe):
    """A melody model (the LSTM or the Transformer): windows of tokens in, the next token's logits out."""

    unit = "token"
    generate_options = ("bars", "temperature", "top_k", "top_p", "primer")

    def load_data(self, source, limit=None) -> MelodyData:
        data = melody_data(source)
        data.train, data.valid, data.test = (pieces[:limit] for pieces in (data.train, data.valid, data.test))
        return data

    def fit(self, model, data, epochs, **run_options):
        train, valid = melody_windows(data.train), melody_windows(data.valid, hop=MELODY_WINDOW)
        return _runs().train_token_model(model, train, valid, epochs, **{**self.settings, **run_options})

    def evaluate(self, model, pieces):
        from course_lib import training

        return training.evaluate_tokens(model, melody_windows(pieces, hop=MELODY_WINDOW))

    def card_fields(self, model, data, source, limit):
        vocabulary = [data.vocabulary.lowest, data.vocabulary.highest]
        fields = super().card_fields(model, data, source, limit)
        copies = self.copies(model, data, data.steps_per_beat, limit)
        return {**fields, "vocabulary": vocabulary, "steps_per_beat": data.steps_per_beat, **copies}

    def copy_rolls(self, model, data, steps_per_beat, **options):
        from course_lib.memorisation import COPY_BARS, COPY_PIECES
        from course_lib.pianoroll import to_pianoroll

        rate = steps_per_beat

        def roll(tokens) -> np.ndarray:
            return to_pianoroll(data.vocabulary.decode(np.asarray(tokens), rate), steps_per_beat=rate)

        opening = 4 * rate
        generated = [
            generate_melody_tokens(model, list(piece[:opening]), COPY_BARS * opening, seed=i)[opening:]
            for i, piece in enumerate(data.valid[:COPY_PIECES])
        ]
        return [roll(p) for p in data.train], [roll(p) for p in data.test], [roll(t) for t in generated]

    def to_piece(self, generated, card):
        notes = MelodyVocabulary(*card["vocabulary"]).decode(np.asarray(generated), card["steps_per_beat"])
        return Piece(notes, TempoMap.constant(card.get("tempo_bpm", datasets.CHORALE_TEMPO_BPM)))

    def primers(self, card):
        return melody_split(card["data"], "valid", MelodyVocabulary(*card["vocabulary"]))

    def generate(self, model, card, options):
        rate = card["steps_per_beat"]
        primer = validation_piece(self.primers(card), options["primer"])[: 4 * rate]
        top = {"top_k": options["top_k"], "top_p": options["top_p"]}
        tokens = generate_melody_tokens(
            model,
            list(primer),
            options["bars"] * 4 * rate,
            temperature=options["temperature"],
            seed=options["seed"],
            **top,
        )
        return Generated(self.to_piece(tokens, card), self.continuation_title(options))


class FrameRecipe(Recipe):
    """A piano-roll model: frames so far in, the next frame's 88 key logits out."""

    unit = "frame"
    generate_options = ("bars", "temperature", "primer")

    def load_data(self, source, limit=None) -> datasets.Splits:
        return first_pieces(chorale_data(source), limit)

    def fit(self, model, data, epochs, **run_options):
        return _runs().train_frame_model(
            model, list(data.train), list(data.valid), epochs, **{**self.settings, **run_options}
        )

    def evaluate(self, model, pieces):
        from course_lib import training

        return training.evaluate_frames(model, list(pieces))

    def card_fields(self, model, data, source, limit):
        rate = 1 if source in SOURCES else imported_rate(source)
        fields = {**super().card_fields(model, data, source, limit), "steps_per_beat": rate, "lowest": PIANO_LOWEST}
        return {**fields, **self.copies(model, data, rate, limit)}

    def copy_rolls(self, model, data, steps_per_beat, **options):
        from course_lib.memorisation import COPY_BARS, COPY_PIECES

        opening = 4 * steps_per_beat
        generated = [
            generate_roll(model, np.asarray(piece[:opening]), COPY_BARS * opening, seed=i)[opening:]
            for i, piece in enumerate(data.valid[:COPY_PIECES])
        ]
        return list(data.train), list(data.test), generated

    def to_piece(self, generated, card):
        lowest = sounding_lowest(card["data"], card["lowest"])  # the JSB split sounds an octave below its rolls
        tempo = card.get("tempo_bpm", datasets.CHORALE_TEMPO_BPM)
        return roll_to_piece(generated, card.get("steps_per_beat", 1), lowest, tempo)

    def primers(self, card):
        return chorale_split(card["data"], "valid")

    def generate(self, model, card, options):
        rate = card.get("steps_per_beat", 1)
        primer = np.asarray(validation_piece(self.primers(card), options["primer"])[: 4 * rate])
        steps = options["bars"] * 4 * rate
        rolls = generate_roll(model, primer, steps, options["temperature"], options["seed"])
        return Generated(self.to_piece(rolls, card), self.continuation_title(options))


def validation_piece(valid: list, index: int):
    """Validation piece ``index`` (``--primer``), or a one-line error naming the numbers there are."""
    if not 0 <= index < len(valid):
        raise CourseError(f"--primer must be 0..{len(valid) - 1} (a validation piece)")
    return valid[index]


class GanRecipe(Recipe):
    """The WGAN-GP of notebook 07: a generator of two-bar, four-voice excerpts and its critic."""

    unit = "generator step"
    data_parallel = False
    shown = (("distance", "distance"), ("pitch classes", "used_pitch_classes"), ("diversity", "diversity"))
    generate_options = ("bars",)
    lacks = {
        "evaluate": "a GAN has no likelihood; its card scores generated excerpts (gan_monitor)",
        "to_piece": "its generate writes the excerpts as a piece itself (gan.generate)",
        "primers": "it starts from noise, not from a primer",
    }

    def load_data(self, source, limit=None) -> datasets.Splits:
        from course_lib import gan

        return datasets.Splits(*(gan.load_excerpts(split)[:limit] for split in datasets.Splits._fields))

    def fit(self, model, data, epochs, time_limit=None, seed=0, callbacks=(), steps_per_epoch=None, **run_options):
        import keras

        from course_lib import autodiff, gan, gan_monitor
        from course_lib.runs import fit_resumable

        settings = self.settings
        # Several steps per compiled call (TensorFlow, 2 CPU cores: 355 -> 317 ms per step at 8). On endless
        # batches a call always takes all its steps, so their number must divide an epoch's.
        every = steps_per_epoch or settings["steps_per_epoch"]  # generator steps between checkpoints and scores
        model.compile(
            generator_optimizer=keras.optimizers.Adam(settings["learning_rate"], *settings["betas"]),
            critic_optimizer=keras.optimizers.Adam(settings["learning_rate"], *settings["betas"]),
            steps_per_execution=math.gcd(autodiff.steps_per_call(), every),
        )
        # Every optimizer built now (TensorFlow builds them at the first step), so that a resumed run loads
        # their state; Keras's backup builds the model's own, unused one before loading, so it is built too.
        model.generator_optimizer.build(model.generator.trainable_variables)
        model.critic_optimizer.build(model.critic.trainable_variables)
        model.optimizer.build(model.trainable_variables)
        batches = gan.ExcerptBatches(data.train, settings["batch_size"], seed, every)
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
        # the same check for held-out excerpts: what a model that copies nothing would still match
        held_out_copied = round(gan_monitor.copied_share(data.valid, monitor.training), 4) if len(data.valid) else None
        return {
            "training_excerpts": len(data.train),
            "generator_steps": int(keras.ops.convert_to_numpy(model.generator_optimizer.iterations)),
            "scored": f"{gan_monitor.SCORE_SAMPLES} excerpts, seed {gan_monitor.SCORE_SEED}, argmax binarisation",
            "generated": {k: round(v, 4) for k, v in generated.items()},
            "held_out_copied": held_out_copied,
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
    data_parallel = False
    shown = (("train", "loss"), ("valid", "val_loss"))
    note = "(Keras loss: 3 voices, padding counted; train adds the voice-leading penalties)"
    generate_options = ("primer",)  # the whole melody, at the temperature on the model's card
    lacks = {"to_piece": "it writes four voices, not tokens or frames: its result's to_piece (satb_model)"}

    def build(self, data, size=None):
        from course_lib import satb_model

        return satb_model.compile_harmoniser(super().build(data, size), self.settings["learning_rate"])

    def load_data(self, source, limit=None) -> datasets.Splits:
        from course_lib import harmonising

        return first_pieces(harmonising.load_lines(), limit)

    def fit(self, model, data, epochs, **run_options):
        from course_lib import satb_model
        from course_lib.runs import fit_resumable

        seed = run_options.pop("seed", 0)
        options = {**self.settings, **run_options}
        batch_size = options.pop("batch_size")
        options.pop("learning_rate")  # the model's compile step reads it (build)
        batches = satb_model.Batches(data.train, batch_size, seed=seed)
        validation = satb_model.Batches(data.valid, batch_size, shuffle=False)
        return fit_resumable(model, batches, validation, epochs, seed=seed, **options)

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
            **self.copies(model, data, 2, limit, temperature=alone),
        }

    def copy_rolls(self, model, data, steps_per_beat, temperature=1.0):
        """Alto, tenor and bass only (the harmoniser is given the soprano), harmonised alone at ``temperature``."""
        from course_lib import satb_model, voices
        from course_lib.memorisation import COPY_PIECES
        from course_lib.pianoroll import to_pianoroll

        def lower_voices(lines) -> np.ndarray:
            piece = lines.to_piece()
            piece.notes = [note for note in piece.notes if note.voice > 0]
            return to_pianoroll(piece, steps_per_beat=lines.steps_per_beat)

        generated = [
            satb_model.harmonise(model, voices.soprano_only(lines), temperature, i, rules=False, cadence_tries=0)
            for i, lines in enumerate(data.valid[:COPY_PIECES])
        ]
        return (
            [lower_voices(x) for x in data.train],
            [lower_voices(x) for x in data.test],
            [lower_voices(x) for x in generated],
        )

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


def generate_melody_tokens(model, primer: list[int], steps: int, **options) -> list[int]:
    """:func:`course_lib.transformer_sampling.generate_melody_tokens`, imported when first used (it loads Keras)."""
    from course_lib import transformer_sampling

    return transformer_sampling.generate_melody_tokens(model, primer, steps, **options)


def generate_roll(model, primer: np.ndarray, steps: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """:func:`course_lib.transformer_sampling.generate_roll`, imported when first used (it loads Keras)."""
    from course_lib import transformer_sampling

    return transformer_sampling.generate_roll(model, primer, steps, temperature, seed)


def _runs():
    """:mod:`course_lib.runs`, imported when a recipe first trains (it loads Keras)."""
    from course_lib import runs

    return runs


def first_pieces(splits: datasets.Splits, limit: int | None) -> datasets.Splits:
    """Each split cut to its first ``limit`` pieces (all of them for ``None``): ``--limit``'s smoke test."""
    return datasets.Splits(*(list(pieces)[:limit] for pieces in splits))
