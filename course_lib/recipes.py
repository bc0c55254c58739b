"""The course's three trainable models as recipes: their data, builder, training and generation.

``python -m course_lib train NAME`` and ``python -m course_lib generate NAME`` run these, and
the notebooks call the same functions, so a model trained in a notebook, on the command line
or shipped in ``data/pretrained/`` is the same kind of object.

========  ==============================================  ====================================
name      model                                           default data
========  ==============================================  ====================================
melody    :func:`~course_lib.models.melody_lstm`          soprano lines of music21's chorales
chorale   :func:`~course_lib.models.pianoroll_lstm`       the JSB standard split
chorale-made  :func:`~course_lib.models.lstm_made`        the JSB standard split
========  ==============================================  ====================================

Each also trains on a folder of your own MIDI files imported with ``python -m course_lib data
import FOLDER --name NAME``: pass ``NAME`` as the data source.

Notebook: 05_lstm_melody
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib import datasets
from course_lib.errors import CourseError
from course_lib.notes import Piece, TempoMap, monophonic, quantise
from course_lib.pianoroll import PIANO_HIGHEST, PIANO_LOWEST, from_pianoroll, to_pianoroll
from course_lib.tokens import HOLD, REST, MelodyVocabulary

if TYPE_CHECKING:  # Keras (and its backend) loads when a model is built or trained, not for the table
    import keras

SOURCES = ("chorales", "jsb")
MELODY_WINDOW = 64  # tokens a training window predicts (4 bars of 4/4 at 4 steps per beat)
TEMPO_BPM = datasets.CHORALE_TEMPO_BPM
OUTPUT_DIR = Path("output")


@dataclass
class MelodyData:
    """Token sequences of monophonic lines, split by tune (chorales) or by the JSB split.

    Notebook: 05_lstm_melody
    """

    vocabulary: MelodyVocabulary
    steps_per_beat: int
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]
    source: str


def soprano_tokens(chorale: Piece, vocabulary: MelodyVocabulary, steps_per_beat: int = 4) -> np.ndarray:
    """A chorale's soprano line as tokens (quantised, one note at a time).

    Notebook: 05_lstm_melody
    """
    return np.array(vocabulary.encode(monophonic(quantise(chorale.voice(0), steps_per_beat)), steps_per_beat))


def top_line_tokens(roll: np.ndarray, vocabulary: MelodyVocabulary, lowest: int = PIANO_LOWEST) -> np.ndarray:
    """The highest sounding key of each frame of a roll as tokens; the same key again is a hold.

    A roll cannot tell a repeated note from a held one, so repeated notes merge.

    Notebook: 05_lstm_melody
    """
    tokens, previous = [], None
    for frame in np.asarray(roll, dtype=bool):
        keys = np.flatnonzero(frame)
        pitch = int(keys[-1]) + lowest if len(keys) else None
        tokens.append(REST if pitch is None else HOLD if pitch == previous else vocabulary.token(pitch))
        previous = pitch
    return np.array(tokens)


def melody_data(source: str = "chorales") -> MelodyData:
    """The melody model's data: soprano lines at 4 steps per beat split by tune, or JSB top lines per beat.

    Notebook: 05_lstm_melody
    """
    if source == "chorales":
        splits = datasets.load_chorales(by="tune")
        pitches = [note.pitch for part in splits for chorale in part for note in chorale.voice(0)]
        vocabulary = MelodyVocabulary(min(pitches), max(pitches))
        parts = [[soprano_tokens(chorale, vocabulary) for chorale in part] for part in splits]
        return MelodyData(vocabulary, 4, *parts, source)
    if source == "jsb":
        splits = datasets.load_jsb()
        tops = [int(np.flatnonzero(roll.any(axis=0))[-1]) + PIANO_LOWEST for part in splits for roll in part]
        bottoms = [int(np.flatnonzero(roll.any(axis=0))[0]) + PIANO_LOWEST for part in splits for roll in part]
        vocabulary = MelodyVocabulary(min(bottoms), max(tops))
        parts = [[top_line_tokens(roll, vocabulary) for roll in part] for part in splits]
        return MelodyData(vocabulary, 1, *parts, source)
    return imported_melody_data(source)


def imported_melody_data(name: str) -> MelodyData:
    """The melody lines of a folder imported by ``data import``, with a vocabulary cut to their range."""
    from course_lib.midi_import import load_imported

    imported = load_imported(name)
    tokens = [t for part in imported.melodies for t in part]
    pitched = np.concatenate([t[t >= 2] for t in tokens] or [np.zeros(0, int)])
    if not imported.melodies.valid or not pitched.size:
        raise datasets.DataError(
            f"dataset {name!r} needs at least 3 different files with notes to train and validate on"
        )
    lowest, highest = int(pitched.min()) - 2, int(pitched.max()) - 2
    parts = [[np.where(t >= 2, t - lowest, t) for t in part] for part in imported.melodies]
    for label, part in zip(("training", "validation"), parts[:2], strict=True):
        if not any(len(t) > MELODY_WINDOW for t in part):
            raise datasets.DataError(
                f"every {label} piece of {name!r} is shorter than the melody model's window of {MELODY_WINDOW + 1} "
                f"steps ({imported.steps_per_beat} per beat): import longer files or a finer --steps-per-beat"
            )
    return MelodyData(MelodyVocabulary(lowest, highest), imported.steps_per_beat, *parts, name)


def melody_windows(sequences: list[np.ndarray], length: int = MELODY_WINDOW + 1, hop: int = 8) -> np.ndarray:
    """Windows of ``length`` tokens from every sequence, stacked: the model's training examples.

    Notebook: 05_lstm_melody
    """
    parts = [datasets.windows(sequence, length, hop) for sequence in sequences]
    return np.concatenate([p for p in parts if len(p)] or [np.empty((0, length), int)]).astype("int32")


def chorale_roll(chorale: Piece) -> np.ndarray:
    """A chorale as a ``(frames, 88)`` roll at one frame per beat, like the JSB rolls."""
    return to_pianoroll(chorale, steps_per_beat=1, lowest=PIANO_LOWEST, highest=PIANO_HIGHEST)


def chorale_data(source: str = "jsb") -> datasets.Splits:
    """The chorale models' data: ``(frames, 88)`` boolean rolls, one frame per beat."""
    if source == "jsb":
        return datasets.load_jsb()
    if source == "chorales":
        return datasets.Splits(*[[chorale_roll(c) for c in part] for part in datasets.load_chorales(by="tune")])
    from course_lib.midi_import import load_imported

    rolls = load_imported(source).rolls  # an imported folder: (frames, 88) at its own steps per beat
    if not rolls.valid:
        raise datasets.DataError(
            f"dataset {source!r} needs at least 3 different files with notes to train and validate on"
        )
    return rolls


def data_file(source: str) -> Path:
    """The file a data source is read from: a bundled file, or an imported dataset's manifest."""
    if source in SOURCES:
        return datasets.JSB_FILE if source == "jsb" else datasets.CHORALES_FILE
    from course_lib.midi_import import IMPORT_DIR, MANIFEST_NAME

    return IMPORT_DIR / source / MANIFEST_NAME


def source_timing(source: str) -> dict:
    """Frames per beat of a source's piano rolls and the tempo to play generated music at."""
    if source in SOURCES:
        return {"frame_steps_per_beat": 1, "tempo_bpm": TEMPO_BPM}
    from course_lib.midi_import import load_imported

    imported = load_imported(source)
    return {"frame_steps_per_beat": imported.steps_per_beat, "tempo_bpm": imported.tempo_bpm}


class Recipe:
    """One trainable model: its builder, its data, how it trains, scores and turns output into music.

    The command line, the bench and the notebooks reach every model through :data:`RECIPES`,
    so a model trained anywhere is the same kind of object. Subclasses say what differs between
    token models and frame models; nothing else branches on a model's name.
    """

    unit = ""  # what the NLL is per: "token" or "frame"
    batch_size = 1  # examples per batch (the training functions' default)

    def __init__(self, name: str, builder: Callable, default_source: str, epochs: int, settings: dict) -> None:
        self.name, self.builder, self.default_source = name, builder, default_source
        self.epochs, self.settings = epochs, settings  # at most this many epochs; the loop's options

    def build(self, data) -> keras.Model:
        return self.builder(data)

    def load_data(self, source: str):
        raise NotImplementedError

    def fit(self, model: keras.Model, data, epochs: int, **loop_options) -> dict[str, list[float]]:
        raise NotImplementedError

    def evaluate(self, model: keras.Model, sequences: list) -> dict[str, float]:
        raise NotImplementedError

    def steps_per_beat(self, data, card: dict) -> int:
        raise NotImplementedError

    def card_fields(self, data, source: str) -> dict:
        raise NotImplementedError

    def to_piece(self, generated: np.ndarray, card: dict) -> Piece:
        raise NotImplementedError

    def generate(self, model, card, primer_sequence, steps, temperature, top_k, top_p, seed) -> np.ndarray:
        raise NotImplementedError


class TokenRecipe(Recipe):
    """A melody model: windows of tokens in, the next token's logits out."""

    unit = "token"
    batch_size = 64

    def load_data(self, source: str) -> MelodyData:
        return melody_data(source)

    def fit(self, model, data, epochs, **loop_options):
        from course_lib import training

        train, valid = melody_windows(data.train), melody_windows(data.valid, hop=MELODY_WINDOW)
        return training.train_token_model(model, train, valid, epochs, **{**self.settings, **loop_options})

    def evaluate(self, model, sequences):
        from course_lib import training

        return training.evaluate_tokens(model, melody_windows(sequences, hop=MELODY_WINDOW))

    def steps_per_beat(self, data, card):
        return data.steps_per_beat

    def card_fields(self, data, source):
        return {"vocabulary": [data.vocabulary.lowest, data.vocabulary.highest], "steps_per_beat": data.steps_per_beat}

    def to_piece(self, generated, card):
        vocabulary = MelodyVocabulary(*card["vocabulary"])
        tempo = TempoMap.constant(card.get("tempo_bpm", TEMPO_BPM))
        return Piece(vocabulary.decode(generated, card["steps_per_beat"]), tempo)

    def generate(self, model, card, primer_sequence, steps, temperature, top_k, top_p, seed):
        from course_lib import sampling

        return np.array(sampling.generate_tokens(model, list(primer_sequence), steps, temperature, top_k, top_p, seed))


class FrameRecipe(Recipe):
    """A piano-roll model: frames so far in, the next frame's 88 key logits out."""

    unit = "frame"
    batch_size = 8

    def load_data(self, source: str) -> datasets.Splits:
        return chorale_data(source)

    def fit(self, model, data, epochs, **loop_options):
        from course_lib import training

        train, valid = list(data.train), list(data.valid)
        return training.train_frame_model(model, train, valid, epochs, **{**self.settings, **loop_options})

    def evaluate(self, model, sequences):
        from course_lib import training

        return training.evaluate_frames(model, list(sequences))

    def steps_per_beat(self, data, card):
        return card.get("steps_per_beat", 1)

    def card_fields(self, data, source):
        return {"steps_per_beat": source_timing(source)["frame_steps_per_beat"], "lowest": PIANO_LOWEST}

    def to_piece(self, generated, card):
        tempo = TempoMap.constant(card.get("tempo_bpm", TEMPO_BPM))
        notes = from_pianoroll(generated, steps_per_beat=card.get("steps_per_beat", 1), lowest=card["lowest"])
        return Piece(notes, tempo)

    def generate(self, model, card, primer_sequence, steps, temperature, top_k, top_p, seed):
        from course_lib import sampling

        return sampling.generate_frames(model, primer_sequence, steps, temperature, seed)


def _models():
    """:mod:`course_lib.models`, imported when a recipe first builds a model (it loads Keras)."""
    from course_lib import models

    return models


# The table. Settings of the frame models (notebook 06), each chosen on JSB validation: the piano-roll
# LSTM trains best with a high learning rate whose noise weight averaging smooths out
# (bench/chorale_learning_rate.py); the LSTM-MADE with a wide LSTM and MADE, dropout on its input and
# output, and weight averaging (bench/jsb_settings.py).
RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        TokenRecipe("melody", lambda data: _models().melody_lstm(data.vocabulary.size), "chorales", 100, {}),
        FrameRecipe(
            "chorale",
            lambda data: _models().pianoroll_lstm(input_dropout=0.3, deep=512),
            "jsb",
            200,
            {"learning_rate": 6e-3, "averaging": 0.99},
        ),
        FrameRecipe(
            "chorale-made",
            lambda data: _models().lstm_made(units=512, hidden=2048, dropout=0.6, input_dropout=0.3),
            "jsb",
            200,
            {"learning_rate": 2e-3, "averaging": 0.99, "patience": 15},
        ),
    )
}
MODELS = tuple(RECIPES)
FRAME_SETTINGS = {name: recipe.settings for name, recipe in RECIPES.items() if recipe.unit == "frame"}


def recipe(name: str) -> Recipe:
    """The recipe of model ``name``, or a one-line error naming the ones there are."""
    if name not in RECIPES:
        raise CourseError(f"unknown model {name!r}: choose from {', '.join(MODELS)}")
    return RECIPES[name]


def build(name: str, data) -> keras.Model:
    """A fresh, untrained model for recipe ``name`` (its size set by the data for the melody).

    Notebook: 10_your_own_music
    """
    return recipe(name).build(data)


def fit(name: str, model: keras.Model, data, epochs: int | None = None, **loop_options) -> dict[str, list[float]]:
    """Train ``model`` with the recipe's settings; ``loop_options`` go to the training loop (and override them).

    Notebook: 10_your_own_music
    """
    chosen = recipe(name)
    return chosen.fit(model, data, chosen.epochs if epochs is None else epochs, **loop_options)


def evaluate(name: str, model: keras.Model, data, split: str = "valid") -> dict[str, float]:
    """NLL (nats per token or per frame) and accuracy of ``model`` on a split of its data."""
    return recipe(name).evaluate(model, getattr(data, split))


def load_data(name: str, source: str | None = None):
    """The data recipe ``name`` trains on: :class:`MelodyData` or :class:`~course_lib.datasets.Splits` of rolls."""
    chosen = recipe(name)
    return chosen.load_data(source or chosen.default_source)


def train(
    name: str,
    source: str | None = None,
    epochs: int | None = None,
    out: Path = OUTPUT_DIR / "train",
    limit: int | None = None,
    time_limit: float | None = 9 * 60,
    progress: Callable[[str], None] | None = print,
    command: str | None = None,
    seed: int = 0,
    devices: int = 1,
) -> dict:
    """Train recipe ``name`` into ``out/name/``: ``NAME.keras`` (best weights), its card ``NAME.json``
    and ``checkpoint/`` (every epoch, atomically). Running it again resumes an unfinished run.

    ``limit`` trains on the first ``limit`` training pieces only (a smoke test); ``command`` is
    recorded in the card (the command line that ran this); ``seed`` seeds the starting weights,
    dropout and batch order. A run resumes only with the same data, limit and seed. ``devices`` > 1
    trains data-parallel (:mod:`course_lib.tools.devices`). Returns the card.
    """
    import keras

    from course_lib.tools.cards import write_card
    from course_lib.tools.devices import data_parallel
    from course_lib.training import Checkpoints, check_writable, save_atomically

    chosen = recipe(name)
    source = source or chosen.default_source
    folder = check_writable(Path(out) / name)
    data = chosen.load_data(source)
    if limit is not None:
        data.train[limit:] = []
    checkpoints = Checkpoints(folder / "checkpoint")
    data_sha256 = datasets.sha256_of(data_file(source))
    checkpoints.check_settings(
        {"model": name, "data": source, "data_sha256": data_sha256, "limit": limit, "seed": seed}
    )
    if progress and checkpoints.exists():
        progress(f"resuming from {checkpoints.folder}")

    def report(epoch: int, scores: dict) -> None:
        if progress:
            minutes, seconds = divmod(int(scores["seconds"]), 60)
            progress(
                f"{name} epoch {epoch + 1:3d}  train {scores['loss']:.3f}  valid {scores['val_nll']:.3f} "
                f"nats/{chosen.unit}  lr {scores['learning_rate']:.1e}  {minutes:2d}:{seconds:02d}"
            )

    with data_parallel(devices, chosen.settings.get("batch_size", chosen.batch_size)) as where:
        if progress and devices > 1:
            progress(f"training on {where}")
        keras.utils.set_random_seed(seed)  # the starting weights
        model = chosen.build(data)
        history = fit(
            name, model, data, epochs, time_limit=time_limit, seed=seed, on_epoch=report, checkpoints=checkpoints
        )
    path = save_atomically(model, folder / f"{name}.keras", include_optimizer=False)
    card = write_card(
        model,
        path,
        name=name,
        command=command or f"python -m course_lib train {name} --data {source}",
        data=source,
        data_file=data_file(source),  # for an imported folder: its manifest
        training_pieces=len(data.train),
        seed=seed,
        devices=devices,
        epochs=len(history["loss"]),
        train_seconds=round(history["seconds"][-1], 1),
        valid={k: round(v, 4) for k, v in chosen.evaluate(model, data.valid).items()},
        test={k: round(v, 4) for k, v in chosen.evaluate(model, data.test).items()},
        unit=f"nats per {chosen.unit}",
        **chosen.card_fields(data, source),
        **({} if source in SOURCES else {"tempo_bpm": source_timing(source)["tempo_bpm"]}),
    )
    if progress:
        progress(f"wrote {path} ({card['size_bytes'] / 1e6:.1f} MB); valid {card['valid']}, test {card['test']}")
    return card


def primer(name: str, data, beats: int = 4, piece: int = 0, steps_per_beat: int | None = None) -> np.ndarray:
    """The first ``beats`` beats of validation piece ``piece``: a seed phrase from the data.

    ``steps_per_beat`` is the frame models' frame rate (1 unless the data were imported finer).
    """
    rate = recipe(name).steps_per_beat(data, {"steps_per_beat": steps_per_beat or 1})
    return np.asarray(data.valid[piece][: beats * rate])


def to_piece(name: str, generated: np.ndarray, card: dict) -> Piece:
    """Generated tokens or frames as a :class:`Piece` at the course's chorale tempo.

    Notebook: 08_evaluation
    """
    return recipe(name).to_piece(generated, card)


def generate(
    name: str,
    model: keras.Model,
    card: dict,
    primer_sequence: np.ndarray,
    beats: int = 64,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
) -> Piece:
    """Continue ``primer_sequence`` by ``beats`` beats with a trained model; returns the whole piece."""
    chosen = recipe(name)
    steps = beats * card.get("steps_per_beat", 1)
    generated = chosen.generate(model, card, primer_sequence, steps, temperature, top_k, top_p, seed)
    return chosen.to_piece(generated, card)


def write_outputs(piece: Piece, stem: Path, title: str, **score_options: Any) -> list[Path]:
    """Write ``stem.mid``, ``stem.wav``, ``stem.png`` (the piano roll) and the score ``stem.musicxml`` and ``stem.svg``.

    The score is quantised to sixteenth notes; ``score_options`` (``satb``, ``fermatas``, ``marks``)
    go to :func:`course_lib.score.engrave`. Music too long to engrave is refused before anything
    is written.
    """
    from matplotlib.figure import Figure

    from course_lib import score
    from course_lib.audio import synthesize, wav_bytes
    from course_lib.midi import write_midi
    from course_lib.plot import plot_pianoroll

    score.check_size(piece)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(s) for s in (".mid", ".wav", ".png")]
    write_midi(piece, paths[0])
    paths[1].write_bytes(wav_bytes(synthesize(piece)))
    figure = Figure(figsize=(9, 2.8))  # drawn off screen: no pyplot state, no backend switch
    plot_pianoroll(piece, title=title, ax=figure.add_subplot())
    figure.savefig(paths[2], dpi=100, bbox_inches="tight")
    engraving = score.engrave(piece, title=title, grid=score.DEFAULT_GRID, **score_options)
    return paths + engraving.write(stem)
