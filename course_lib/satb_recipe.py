"""What ``python -m course_lib train satb`` and ``harmonise MELODY.mid`` run.

Training is plain ``model.fit`` with Keras's own callbacks: early stopping on the validation
split (best weights restored), a checkpoint of the best weights, ``BackupAndRestore`` so that
running the same command again after an interruption resumes, and a time limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from course_lib import datasets, satb_model, voice_leading, voices
from course_lib.errors import CourseError
from course_lib.training import TimeLimit

NAME = "satb"
TEMPERATURES = (0.5, 0.75, 1.0)  # the sampling temperature is chosen on the validation split
CADENCE_TRIES = 4  # a phrase ending without a cadence is drawn again up to this many times


def load_lines() -> datasets.Splits:
    """The bundled chorales as :class:`~course_lib.voices.Lines`, split by tune (train / valid / test).

    Notebook: 09_four_voices
    """
    return datasets.Splits(*[[voices.from_chorale(c) for c in part] for part in datasets.load_chorales(by="tune")])


class Progress(keras.callbacks.Callback):
    """One line per epoch: training and validation loss per voice step, learning rate, time.

    The training loss includes :class:`~course_lib.voice_intervals.VoiceLeadingLoss`'s penalties;
    validation has none (Keras adds a layer's losses only while training).
    """

    def __init__(self, report: Callable[[str], None]) -> None:
        super().__init__()
        self.report, self.started = report, time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        minutes, seconds = divmod(int(time.perf_counter() - self.started), 60)
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.report(
            f"satb epoch {epoch + 1:3d}  train {logs.get('loss', float('nan')) / 3:.3f}  "
            f"valid {logs.get('val_loss', float('nan')) / 3:.3f} (Keras loss / 3, padding counted; train adds the "
            "voice-leading penalties)  "
            f"lr {rate:.1e}  {minutes:2d}:{seconds:02d}"
        )


def harmonise_all(
    model: keras.Model,
    pieces: list[voices.Lines],
    temperature: float,
    seed: int = 0,
    rules: bool = True,
    cadence_tries: int = CADENCE_TRIES,
) -> list:
    """Harmonise the soprano of every piece (seed ``seed + i`` for piece ``i``).

    Notebook: 09_four_voices
    """
    return [satb_model.harmonise(model, p, temperature, seed + i, rules, cadence_tries) for i, p in enumerate(pieces)]


def choose_temperature(model: keras.Model, valid: list[voices.Lines]) -> tuple[float, float, dict]:
    """The sampling temperatures with the fewest rule breaks per cadence on validation melodies.

    One for sampling with rules and second tries, one for the model alone (no rules, no second
    tries); returns ``(with_rules, alone, the figures at every temperature)``.
    """

    def score(figures: dict) -> float:
        breaks = figures["parallels"] + figures["crossings"] + figures["out_of_range"]
        return breaks + (100 - figures["cadences"]) / 10

    scored = {}
    for temperature in TEMPERATURES:
        alone = voice_leading.evaluate(harmonise_all(model, valid, temperature, rules=False, cadence_tries=0))
        scored[f"{temperature} model alone"] = (temperature, False, score(alone), alone)
        figures = voice_leading.evaluate(harmonise_all(model, valid, temperature))
        scored[str(temperature)] = (temperature, True, score(figures), figures)
    best = {rules: min((s for s in scored.values() if s[1] == rules), key=lambda s: s[2])[0] for rules in (True, False)}
    table = {name: {k: round(v, 3) for k, v in s[3].items()} for name, s in scored.items()}
    return float(best[True]), float(best[False]), table


def train(
    out: Path,
    minutes: float = 8.0,
    epochs: int = 200,
    limit: int | None = None,
    progress: Callable[[str], None] | None = print,
    command: str = "python -m course_lib train satb",
    seed: int = 0,
    size: dict | None = None,
) -> dict:
    """Train the harmoniser into ``out/satb/``: ``satb.keras`` and its card ``satb.json``.

    Running it again after an interruption resumes from ``out/satb/backup`` (Keras's
    ``BackupAndRestore``). ``size`` overrides :func:`~course_lib.satb_model.satb_harmoniser`'s
    sizes (the tests train a tiny one). Returns the card.
    """
    from course_lib.tools.cards import write_card
    from course_lib.training import check_run_settings, check_writable, save_atomically

    keras.utils.set_random_seed(seed)
    folder = check_writable(Path(out) / NAME)
    data = load_lines()
    train_pieces = data.train[:limit]
    resuming = (folder / "backup").exists()
    data_sha256 = datasets.sha256_of(datasets.CHORALES_FILE)
    settings = {"model": NAME, "data": "chorales", "data_sha256": data_sha256, "limit": limit, "seed": seed}
    if size:
        settings["size"] = size
    check_run_settings(folder / "run.json", settings, resuming)
    if progress and resuming:
        progress(f"resuming from {folder / 'backup'}")
    model = satb_model.compile_harmoniser(satb_model.satb_harmoniser(**(size or {})))
    best = folder / "best.weights.h5"
    callbacks = [
        keras.callbacks.BackupAndRestore(str(folder / "backup")),
        keras.callbacks.ModelCheckpoint(str(best), save_best_only=True, save_weights_only=True),
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3, min_lr=1e-4),
        keras.callbacks.EarlyStopping(patience=8, restore_best_weights=True),
        TimeLimit(minutes * 60),
    ]
    if progress:
        callbacks.append(Progress(progress))
    started = time.perf_counter()
    history = model.fit(
        satb_model.Batches(train_pieces, seed=seed),
        validation_data=satb_model.Batches(data.valid, shuffle=False),
        epochs=epochs,
        callbacks=callbacks,
        verbose=0,
    )
    train_seconds = time.perf_counter() - started
    model.load_weights(best)  # the best epoch, also when the run was resumed
    temperature, temperature_alone, by_temperature = choose_temperature(model, data.valid[:limit])
    path = save_atomically(model, folder / f"{NAME}.keras", include_optimizer=False)
    card = write_card(
        model,
        path,
        name=NAME,
        command=command,
        data="chorales",
        data_file=datasets.CHORALES_FILE,
        split="by tune (datasets.load_chorales(by='tune'))",
        training_pieces=len(train_pieces),
        seed=seed,
        epochs=history.epoch[-1] + 1,  # counts the epochs of an interrupted run too
        train_seconds=round(train_seconds, 1),
        valid={k: round(float(v), 4) for k, v in satb_model.nll_per_voice(model, data.valid).items()},
        test={k: round(float(v), 4) for k, v in satb_model.nll_per_voice(model, data.test).items()},
        unit="nats per voice step (alto, tenor, bass; eighth-note grid)",
        temperature=temperature,
        temperature_alone=temperature_alone,
        rules=True,
        cadence_tries=CADENCE_TRIES,
        valid_voice_leading=by_temperature,
    )
    if progress:
        progress(f"wrote {path}; valid {card['valid']}, test {card['test']}, temperature {temperature}")
    return card


# ---------------------------------------------------------------- harmonising a melody from a file


def load_trained(path: Path) -> tuple[keras.Model, dict]:
    """A harmoniser written by ``train satb`` and the card beside it."""
    path = Path(path)
    card_path = path.with_suffix(".json")
    if not path.is_file() or not card_path.is_file():
        raise CourseError(f"{path} and its card {card_path.name} (written beside it by 'train satb') are needed")
    return keras.models.load_model(path, compile=False, safe_mode=True), json.loads(card_path.read_text())


def melody_from_piece(piece, fermatas: list[float] | None = None) -> tuple[voices.Lines, int]:
    """A melody (the top line of any MIDI) as soprano-only lines in C major / A minor, and the shift used.

    The melody is moved by the semitones (-6..+5) that put most of its notes on the white keys,
    then by octaves into the soprano's range. Without ``fermatas``, a fermata is put on the last
    note and on every note followed by a rest or lasting at least twice the median note.

    Notebook: 09_four_voices
    """
    from dataclasses import replace

    from course_lib.notes import monophonic, quantise, transpose

    drums = set(getattr(piece, "drum_voices", ()))
    line = monophonic(quantise([n for n in piece.notes if n.voice not in drums], voices.STEPS_PER_BEAT))
    if not line:
        raise voices.VoiceError("the melody has no notes")
    if line[-1].end > 512:
        raise voices.VoiceError(f"the melody lasts {line[-1].end:.0f} beats; the harmoniser takes at most 512")
    white = {0, 2, 4, 5, 7, 9, 11}
    shift = max(range(-6, 6), key=lambda s: (sum((n.pitch + s) % 12 in white for n in line), -abs(s)))
    pitches = [n.pitch + shift for n in line]
    shift += 12 * round((67 - (min(pitches) + max(pitches)) / 2) / 12)  # centre on G4
    line = [replace(n, voice=0) for n in transpose(line, shift)]
    low, high = min(n.pitch for n in line), max(n.pitch for n in line)
    if high - low > 24:
        raise voices.VoiceError(f"the melody spans {high - low} semitones; a soprano line spans at most two octaves")
    if fermatas is None:
        durations = np.array([n.end - n.start for n in line])
        long = 2 * float(np.median(durations))
        last = len(line) - 1
        fermatas = [
            n.start for i, n in enumerate(line) if i == last or line[i + 1].start > n.end or n.end - n.start >= long
        ]
    lines = voices.from_notes(line, fermatas, piece.time_signature, piece.pickup, name="melody")
    return voices.soprano_only(lines), shift


def harmonise_file(
    midi_path: Path,
    out: Path,
    model: keras.Model | None = None,
    card: dict | None = None,
    seed: int = 0,
    rules: bool = True,
    staves: int = 2,
) -> list[Path]:
    """Harmonise the top line of a MIDI file; write ``NAME-satb.mid`` (four tracks), ``.wav``, ``.png`` and the
    choir score ``.musicxml`` and ``.svg`` (with the melody's fermatas, parallels in red and crossings in blue).

    ``rules=False`` is the model alone: no voice-leading rules while sampling and no second tries at
    cadences; the files are then ``NAME-satb-alone.*``. ``staves`` is 2 (soprano and alto on one,
    tenor and bass on the other) or 4 (one per voice).
    """
    from course_lib import pretrained, voice_leading
    from course_lib.midi import read_midi
    from course_lib.notes import transpose
    from course_lib.recipes import write_outputs

    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise CourseError(f"{midi_path}: no such file")
    if model is None:
        model, card = pretrained.load(NAME), pretrained.card(NAME)
    melody, shift = melody_from_piece(read_midi(midi_path))
    started = time.perf_counter()
    card = card or {}
    rules = rules and card.get("rules", True)
    tries = card.get("cadence_tries", 4) if rules else 0
    temperature = (
        card.get("temperature", 0.75) if rules else card.get("temperature_alone", card.get("temperature", 0.75))
    )
    result = satb_model.harmonise(model, melody, temperature, seed, rules, tries)
    seconds = time.perf_counter() - started
    piece = result.to_piece()
    piece.notes = transpose(piece.notes, -shift)
    stem = Path(out) / f"{midi_path.stem}-satb{'' if rules else '-alone'}"
    set_up = "with rules and retries" if rules else "alone, no rules"
    title = f"{midi_path.name} harmonised by the four-voice model {set_up} (seed {seed}, {seconds:.2f} s)"
    fermatas = [step / result.steps_per_beat for step in result.fermata_starts()]
    marks = voice_leading.marks(result)
    return write_outputs(piece, stem, title, satb=True, fermatas=fermatas, marks=marks, staves=staves)
