"""What the harmoniser sees of the intervals between voices: a learned score for every candidate note.

A dense layer over token embeddings cannot easily work out that a tenor G3 under an alto D4 makes
a fifth, let alone that the fifth before it makes the move a parallel. So each lower voice's
logits get a learned *interval bias*: for every token the voice could sing, the note it would
sound (a hold keeps the note before) is compared with the voices already chosen at this step, the
soprano first, and scored with learned weights for

- the harmonic interval with each voice above, modulo the octave (12 weights per voice above);
- a parallel fifth, octave or unison with that voice (both move the same way from a perfect
  interval to the same one): one weight per voice above;
- the melodic step from the voice's own note before (-12..+12 semitones, 25 weights);
- a crossing above the voice directly above (one weight);
- and, while a fermata sounds, a second set of harmonic-interval and step weights on top of the
  first: a phrase ending is where a cadence goes, and a cadence has its own intervals.

The weights start at zero and are learned from Bach like every other weight: nothing is
forbidden, and the model alone decides how much a parallel fifth should cost. The bias is
``SCALE`` times the weights, so that Adam, which moves each weight by about the learning rate per
step, can reach a cost of several nats within one training run.

Bach's voices alone do not teach enough: a model trained on them, left to its own choices, still
writes parallels more often than he does, and ends fewer phrases on a cadence (README, "four-voice
harmoniser").
:class:`VoiceLeadingLoss` adds two *unlikelihood* terms to the training loss (Welleck et al.
2019, "Neural text generation with unlikelihood training"): the probability a voice gives to notes
that would move in parallel fifths, octaves or unisons with a voice above, and, while a fermata
sounds, the probability each voice gives to notes that would rule out ending the phrase on a
cadence as :func:`course_lib.voice_leading.cadence_at` defines it. Each term is ``-log(1 - p)``: near 0 while
``p`` is small, and steep as ``p`` grows. The sampler is untouched: what the model learns this
way, it does alone.

:func:`interval_bias` is written once with ``ops`` as a parameter: :class:`IntervalBias` runs it on
a batch with ``keras.ops`` while training, the sampler runs it on one step with NumPy.

Notebook: 09_four_voices
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from course_lib.voice_leading import CADENCE_APPROACH
from course_lib.voices import LOWEST, VOCABULARY, VOICE_HOLD

SCALE = 10.0  # the bias is SCALE x the weights: they learn SCALE times as fast
MAX_LEAP = 12  # semitones: melodic moves up to an octave each way have their own weight; larger ones share the end ones
TOKENS = np.arange(VOCABULARY, dtype=np.int32)
# the pitch of each token; -1 for padding, rest and hold, which have none
TOKEN_PITCHES = np.where(TOKENS > VOICE_HOLD, TOKENS - 3 + LOWEST, -1).astype(np.int32)


def candidates(voice: int, before: Any, ops: Any = np) -> tuple[Any, Any]:
    """``(mine, candidate)``: the voice's pitch the step before ``(..., 1)`` and the pitch each of its
    tokens would sound ``(..., VOCABULARY)`` (a hold keeps ``mine``; -1: silent).

    Notebook: 09_four_voices
    """
    mine = before[..., voice : voice + 1]
    return mine, ops.where(TOKENS == VOICE_HOLD, mine, TOKEN_PITCHES)


def parallel_with(upper: int, voice: int, before: Any, now: Any, ops: Any = np) -> Any:
    """Which tokens of ``voice`` would move in parallel fifths, octaves or unisons with voice ``upper``.

    ``before`` ``(..., 4)`` holds the four pitches of the step before, ``now`` ``(..., 3)`` those of
    soprano, alto and tenor at this step (-1: silent). The test is
    :func:`course_lib.voice_leading.parallel_kind`'s, for every token at once: both voices change
    pitch in the same direction, and are a fifth (or a compound fifth), an octave (or a compound one)
    or a unison apart before and after.

    Notebook: 09_four_voices
    """
    mine, candidate = candidates(voice, before, ops)
    above, above_before = now[..., upper : upper + 1], before[..., upper : upper + 1]
    first, second = ops.abs(above_before - mine), ops.abs(above - candidate)
    unisons = (first == 0) & (second == 0)
    fifths = (ops.mod(first, 12) == 7) & (ops.mod(second, 12) == 7)
    octaves = (first > 0) & (second > 0) & (ops.mod(first, 12) == 0) & (ops.mod(second, 12) == 0)
    same_way = ops.sign(candidate - mine) == ops.sign(above - above_before)
    same_way = same_way & (candidate != mine) & (above != above_before)
    sounding = (candidate >= 0) & (above >= 0) & (mine >= 0) & (above_before >= 0)
    return sounding & same_way & (unisons | fifths | octaves)


def no_cadence(voice: int, before: Any, now: Any, begins: Any, ops: Any = np) -> Any:
    """Which tokens of ``voice`` would rule out a cadence at this step of a fermata.

    A cadence as :func:`course_lib.voice_leading.cadence_at` defines it: the bass is the lowest
    note and the root of a major or minor triad (third present, fifth optional, nothing else),
    reached by a step or a fourth or fifth. The alto and the tenor are drawn before the bass, so
    theirs is the part they can spoil: a note that no root can make a triad of with the voices
    above (for the tenor, one whose third is then still missing). The bass must complete the triad
    as its root, and where the fermata ``begins`` (``(..., 1)``, 1.0 at its first step) arrive by a
    step, fourth or fifth; later it may hold. ``now`` ``(..., 3)`` holds soprano, alto and tenor.
    While the soprano sings, a rest is no cadence either; while it rests, nothing is counted.

    Notebook: 09_four_voices
    """
    mine, candidate = candidates(voice, before, ops)
    singing = (now[..., 0:1] >= 0) & (candidate >= 0)
    if voice < 3:  # some root must make a triad of the voices so far (its third present, for the tenor)
        possible = candidate < -1  # all False, in the shape of the candidates
        for root in range(12):
            for third in (3, 4):
                fits, has_third = singing, ops.mod(candidate - root + 120, 12) == third
                for pitch in [*(now[..., u : u + 1] for u in range(voice)), candidate]:
                    degree = ops.mod(pitch - root + 120, 12)
                    fits = fits & ((degree == 0) | (degree == third) | (degree == 7))
                    has_third = has_third | (degree == third)
                possible = possible | (fits & (has_third | (voice == 1)))
        return (now[..., 0:1] >= 0) & ~possible
    triad, minor_third, major_third = singing, candidate < -1, candidate < -1
    for upper in range(3):
        above = now[..., upper : upper + 1]
        degree = ops.mod(above - candidate + 120, 12)
        triad = triad & (above > candidate) & ((degree == 0) | (degree == 3) | (degree == 4) | (degree == 7))
        minor_third, major_third = minor_third | (degree == 3), major_third | (degree == 4)
    approach = ops.mod(candidate - mine + 120, 12)
    reached = ((candidate == mine) & (begins < 0.5)) | (mine < 0)
    for interval in CADENCE_APPROACH:
        reached = reached | (approach == interval)
    return (now[..., 0:1] >= 0) & ~(triad & (minor_third != major_third) & reached)


def interval_bias(weights: Sequence[Any], voice: int, before: Any, now: Any, fermata: Any, ops: Any = np) -> Any:
    """The interval bias of one lower voice (1 alto, 2 tenor, 3 bass) for every token: ``(..., VOCABULARY)``.

    ``weights`` are ``(harmony (voice, 12), parallel (voice,), step (25,), crossing (1,),
    cadence_harmony (voice, 12), cadence_step (25,))``; ``before`` ``(..., 4)`` holds the four
    sounding pitches of the step before, ``now`` ``(..., 3)`` those of soprano, alto and tenor at
    this step (-1: silent) and ``fermata`` ``(..., 1)`` is 1.0 where a fermata sounds. ``ops`` is
    ``numpy`` or ``keras.ops``.

    Notebook: 09_four_voices
    """
    harmony, parallel, step, crossing, cadence_harmony, cadence_step = weights
    mine, candidate = candidates(voice, before, ops)
    sounds = candidate >= 0
    bias = ops.where(sounds, 0.0, 0.0)  # floats of the candidates' shape
    for upper in range(voice):
        above = now[..., upper : upper + 1]
        interval = ops.mod(above - candidate + 120, 12)  # the harmonic interval, modulo the octave
        scores = ops.take(harmony[upper], interval) + fermata * ops.take(cadence_harmony[upper], interval)
        bias = bias + ops.where(sounds & (above >= 0), scores, 0.0)
        bias = bias + ops.where(parallel_with(upper, voice, before, now, ops), parallel[upper], 0.0)
    leap = ops.clip(candidate - mine, -MAX_LEAP, MAX_LEAP) + MAX_LEAP
    bias = bias + ops.where(sounds & (mine >= 0), ops.take(step, leap) + fermata * ops.take(cadence_step, leap), 0.0)
    above = now[..., voice - 1 : voice]
    bias = bias + ops.where(sounds & (above >= 0) & (candidate > above), crossing[0], 0.0)
    return SCALE * bias


@keras.saving.register_keras_serializable(package="course_lib")
class IntervalBias(keras.layers.Layer):
    """:func:`interval_bias` as a Keras layer: inputs ``[before, now, fermata]``, output ``(batch, steps, VOCABULARY)``.

    Notebook: 09_four_voices
    """

    def __init__(self, voice: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.voice = voice
        self.harmony = self.add_weight((voice, 12), initializer="zeros", name="harmony")
        self.parallel = self.add_weight((voice,), initializer="zeros", name="parallel")
        self.step = self.add_weight((2 * MAX_LEAP + 1,), initializer="zeros", name="step")
        self.crossing = self.add_weight((1,), initializer="zeros", name="crossing")
        self.cadence_harmony = self.add_weight((voice, 12), initializer="zeros", name="cadence_harmony")
        self.cadence_step = self.add_weight((2 * MAX_LEAP + 1,), initializer="zeros", name="cadence_step")

    def call(self, inputs: list) -> Any:
        before, now, fermata = inputs
        weights = (self.harmony, self.parallel, self.step, self.crossing, self.cadence_harmony, self.cadence_step)
        return interval_bias(weights, self.voice, before, now, fermata, keras.ops)

    def compute_output_shape(self, input_shape: list) -> tuple:
        return (*input_shape[0][:-1], VOCABULARY)

    def get_config(self) -> dict:
        return {**super().get_config(), "voice": self.voice}


@keras.saving.register_keras_serializable(package="course_lib")
class VoiceLeadingLoss(keras.layers.Layer):
    """Passes a voice's logits through, and while training adds the unlikelihood of bad moves.

    Inputs ``[logits, before, now, fermata]`` as for :class:`IntervalBias` (``now`` holds the
    voices above, true ones under teacher forcing), but ``fermata`` ``(..., 2)`` holds both of the
    meter's fermata columns (sounding, begins). Adds ``parallel`` x ``-log(1 - p(a parallel
    note))`` and, while a fermata sounds, ``cadence`` x ``-log(1 - p(a note that rules out a
    cadence))`` (:func:`no_cadence`), each a mean over the batch's steps.

    Notebook: 09_four_voices
    """

    def __init__(self, voice: int, parallel: float = 5.0, cadence: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.voice, self.parallel, self.cadence = voice, parallel, cadence

    def call(self, inputs: list, training: bool | None = None) -> Any:
        logits, before, now, fermata = inputs  # fermata: (..., 2), sounding and begins
        if training:
            p = keras.ops.softmax(logits, axis=-1)
            bad = keras.ops.zeros_like(p) > 0
            for upper in range(self.voice):
                bad = bad | parallel_with(upper, self.voice, before, now, keras.ops)
            self.add_loss(self.parallel * unlikelihood(p, bad))
            if self.cadence:
                spoilt = no_cadence(self.voice, before, now, fermata[..., 1:2], keras.ops)
                self.add_loss(self.cadence * unlikelihood(p, spoilt, fermata[..., 0]))
        return logits

    def compute_output_shape(self, input_shape: list) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "voice": self.voice, "parallel": self.parallel, "cadence": self.cadence}


def unlikelihood(p: Any, bad: Any, where: Any = 1.0) -> Any:
    """The mean over steps of ``-log(1 - p(bad))``, counted where ``where`` is 1.

    Notebook: 09_four_voices
    """
    mass = keras.ops.sum(keras.ops.where(bad, p, 0.0), axis=-1) * where
    return keras.ops.mean(-keras.ops.log(1.0 - mass + 1e-6))
