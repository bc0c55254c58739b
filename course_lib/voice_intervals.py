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
:func:`interval_bias` is written once with ``ops`` as a parameter: :class:`IntervalBias` runs it on
a batch with ``keras.ops`` while training, the sampler runs it on one step with NumPy.

Notebook: 09_four_voices
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from course_lib.voices import HOLD, LOWEST, VOCABULARY

SCALE = 10.0  # the bias is SCALE x the weights: they learn SCALE times as fast
STEPS = 12  # melodic steps up to an octave each way have their own weight; larger leaps share the end ones
TOKENS = np.arange(VOCABULARY, dtype=np.int32)
# the pitch of each token; -1 for padding, rest and hold, which have none
TOKEN_PITCHES = np.where(TOKENS > HOLD, TOKENS - 3 + LOWEST, -1).astype(np.int32)


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
    mine = before[..., voice : voice + 1]  # the voice's own note before
    candidate = ops.where(TOKENS == HOLD, mine, TOKEN_PITCHES)  # what each token would sound
    sounds, moves = candidate >= 0, candidate != mine
    bias = ops.where(sounds, 0.0, 0.0)  # floats of the candidates' shape
    for upper in range(voice):
        above, above_before = now[..., upper : upper + 1], before[..., upper : upper + 1]
        both = sounds & (above >= 0)
        interval = ops.mod(above - candidate + 120, 12)  # the harmonic interval, modulo the octave
        scores = ops.take(harmony[upper], interval) + fermata * ops.take(cadence_harmony[upper], interval)
        bias = bias + ops.where(both, scores, 0.0)
        was = ops.mod(above_before - mine + 120, 12)
        perfect = ((was == 0) | (was == 7)) & (interval == was) & (mine >= 0) & (above_before >= 0)
        same_way = moves & (above != above_before) & (ops.sign(candidate - mine) == ops.sign(above - above_before))
        bias = bias + ops.where(both & perfect & same_way, parallel[upper], 0.0)
    leap = ops.clip(candidate - mine, -STEPS, STEPS) + STEPS
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
        self.step = self.add_weight((2 * STEPS + 1,), initializer="zeros", name="step")
        self.crossing = self.add_weight((1,), initializer="zeros", name="crossing")
        self.cadence_harmony = self.add_weight((voice, 12), initializer="zeros", name="cadence_harmony")
        self.cadence_step = self.add_weight((2 * STEPS + 1,), initializer="zeros", name="cadence_step")

    def call(self, inputs: list) -> Any:
        before, now, fermata = inputs
        weights = (self.harmony, self.parallel, self.step, self.crossing, self.cadence_harmony, self.cadence_step)
        return interval_bias(weights, self.voice, before, now, fermata, keras.ops)

    def compute_output_shape(self, input_shape: list) -> tuple:
        return (*input_shape[0][:-1], VOCABULARY)

    def get_config(self) -> dict:
        return {**super().get_config(), "voice": self.voice}
