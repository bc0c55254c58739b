"""Harmonising melodies with a trained four-voice model: the chorales as lines, the sampling
temperature chosen on validation, and a melody from any MIDI file.

``python -m course_lib harmonise MELODY.mid`` runs :func:`harmonise_file`; the recipe table's
``satb`` entry (:mod:`course_lib.recipes`) trains the model.

Notebook: 09_four_voices
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from course_lib import datasets, satb_model, voice_leading, voices
from course_lib.errors import CourseError
from course_lib.pianoroll import PIANO_LOWEST
from course_lib.sampling import generate_frames

TEMPERATURES = (0.5, 0.75, 1.0)  # the sampling temperature is chosen on the validation split
CADENCE_TRIES = 4  # a phrase ending without a cadence is drawn again up to this many times


def load_lines() -> datasets.Splits:
    """The bundled chorales as :class:`~course_lib.voices.Lines`, split by tune (train / valid / test).

    Converted once per process (a few seconds); each call returns new lists of the same lines.

    Notebook: 09_four_voices
    """
    return datasets.Splits(*(list(part) for part in _all_lines()))


def load_split(split: str) -> list[voices.Lines]:
    """One split of :func:`load_lines` (``"train"``, ``"valid"`` or ``"test"``): only its chorales are converted."""
    return [voices.from_chorale(c) for c in datasets.load_chorale_split(split, by="tune")]


@functools.cache
def _all_lines() -> tuple[tuple[voices.Lines, ...], ...]:
    return tuple(tuple(voices.from_chorale(c) for c in part) for part in datasets.load_chorales(by="tune"))


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
        alone = voice_leading.figures(harmonise_all(model, valid, temperature, rules=False, cadence_tries=0))
        scored[f"{temperature} model alone"] = (temperature, False, score(alone), alone)
        figures = voice_leading.figures(harmonise_all(model, valid, temperature))
        scored[str(temperature)] = (temperature, True, score(figures), figures)
    best = {rules: min((s for s in scored.values() if s[1] == rules), key=lambda s: s[2])[0] for rules in (True, False)}
    # a figure with nothing to count (no fermata, no leading tone) is NaN: null in the card's JSON
    table = {name: {k: None if np.isnan(v) else round(v, 3) for k, v in s[3].items()} for name, s in scored.items()}
    return float(best[True]), float(best[False]), table


def melody_from_piece(piece, fermatas: list[float] | None = None) -> tuple[voices.Lines, int]:
    """A melody (the top line of any MIDI) as soprano-only lines in C major / A minor, and the shift used.

    The melody is moved by the semitones (-6..+5) that put most of its notes on the white keys
    (recorded as the lines' ``transposition``), then by octaves into the soprano's range. Without
    ``fermatas``, a fermata is put on the last note and on every note followed by a rest or lasting
    at least twice the median note.

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
    key_shift = max(range(-6, 6), key=lambda s: (sum((n.pitch + s) % 12 in white for n in line), -abs(s)))
    pitches = [n.pitch + key_shift for n in line]
    shift = key_shift + 12 * round((67 - (min(pitches) + max(pitches)) / 2) / 12)  # centre on G4
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
    # ranges are judged in the melody's own key, in the octave chosen for the soprano
    lines = voices.from_notes(
        line, fermatas, piece.time_signature, piece.pickup, name="melody", transposition=key_shift
    )
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
    from course_lib import pretrained
    from course_lib.midi import read_midi
    from course_lib.notes import transpose
    from course_lib.outputs import write_outputs

    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise CourseError(f"{midi_path}: no such file")
    if model is None:
        model, card = pretrained.load_with_card("satb")
    source = read_midi(midi_path)
    melody, shift = melody_from_piece(source)
    started = time.perf_counter()
    result = harmonise_with_card(model, card or {}, melody, seed, rules)
    seconds = time.perf_counter() - started
    piece = result.to_piece()
    piece.notes, piece.key = transpose(piece.notes, -shift), source.key  # the tune's own pitch and key signature
    stem = Path(out) / f"{midi_path.stem}-satb{'' if rules else '-alone'}"
    set_up = "with rules and retries" if rules else "alone, no rules"
    title = f"{midi_path.name} harmonised by the four-voice model {set_up} (seed {seed}, {seconds:.2f} s)"
    fermatas = [step / result.steps_per_beat for step in result.fermata_starts()]
    marks = voice_leading.marks(result)
    return write_outputs(piece, stem, title, satb=True, fermatas=fermatas, marks=marks, staves=staves)


def harmonise_with_card(model: keras.Model, card: dict, melody: voices.Lines, seed: int = 0, rules: bool = True):
    """Harmonise ``melody`` with the settings on the model's card: its temperature, and with ``rules`` its
    voice-leading rules and second tries at cadences; ``rules=False`` is the model alone at its own temperature.
    """
    rules = rules and card.get("rules", True)
    tries = card.get("cadence_tries", CADENCE_TRIES) if rules else 0
    temperature = card.get("temperature", 0.75)
    if not rules:
        temperature = card.get("temperature_alone", temperature)
    return satb_model.harmonise(model, melody, temperature, seed, rules, tries)


# ---------------------------------------------------------------- models side by side

JSB_OCTAVE = datasets.JSB_OCTAVE  # the JSB split is written an octave above sounding pitch


def set_ups(card: dict) -> dict[str, tuple[float, bool, int]]:
    """How a harmoniser is compared, from its card: ``{name: (temperature, rules, cadence_tries)}``.

    ``"alone"``: no rules, no second tries, at ``temperature_alone`` (what the network has learned);
    ``"rules"``: rules while sampling and second tries at cadences, as the command line harmonises.

    Notebook: 09_four_voices
    """
    alone = card.get("temperature_alone", card["temperature"])
    return {"alone": (alone, False, 0), "rules": (card["temperature"], True, card["cadence_tries"])}


def model_rows(
    melodies: Sequence[voices.Lines],
    harmonisers: dict[str, tuple[keras.Model, dict]],
    roll_models: dict[str, keras.Model] | None = None,
    openings: Sequence[np.ndarray] = (),
    bars: int = 16,
    seconds: dict[str, float] | None = None,
) -> dict[str, list[voices.Lines]]:
    """The pieces each model writes, by row name, for :func:`course_lib.voice_leading.figures` beside Bach's.

    Each piano-roll model continues each JSB opening by ``bars`` bars of four beats (seed ``i``
    for opening ``i``), and its voices are read top-down, an octave down (:data:`JSB_OCTAVE`).
    Each harmoniser, a ``(model, card)`` pair, harmonises the soprano of every melody (seed ``i``
    for melody ``i``) in both :func:`set_ups`, as rows ``"NAME, alone"`` and ``"NAME, rules"``.
    If given, ``seconds`` receives each harmoniser row's mean seconds per melody.

    Notebook: 09_four_voices
    """
    rows = {}
    for name, model in (roll_models or {}).items():
        rolls = [generate_frames(model, o, 4 * bars, seed=i)[len(o) :] for i, o in enumerate(openings)]
        rows[name] = [voices.from_roll(roll, lowest=PIANO_LOWEST - JSB_OCTAVE) for roll in rolls]
    for name, (model, card) in harmonisers.items():
        for set_up, (temperature, rules, tries) in set_ups(card).items():
            started = time.perf_counter()
            rows[f"{name}, {set_up}"] = harmonise_all(model, list(melodies), temperature, 0, rules, tries)
            if seconds is not None:
                seconds[f"{name}, {set_up}"] = (time.perf_counter() - started) / max(1, len(melodies))
    return rows
