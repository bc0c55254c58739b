"""The intervals the harmoniser sees, and what its training penalises (course_lib.voice_intervals)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import voice_intervals as vi
from course_lib.voice_leading import CADENCE_APPROACH, is_root_position_triad, parallel_kind
from course_lib.voices import VOCABULARY, VOICE_HOLD


def random_steps(count: int, seed: int):
    """Random four-voice steps around the voices' ranges, some voices silent, crossings included."""
    rng = np.random.default_rng(seed)
    centres = np.array([69, 62, 55, 45])
    for _ in range(count):
        before = centres + rng.integers(-9, 10, size=4)
        now = centres[:3] + rng.integers(-9, 10, size=3)
        before[rng.random(4) < 0.05] = -1
        now[rng.random(3) < 0.05] = -1
        yield before, now


def test_parallel_with_is_the_evaluators_parallel_kind_for_every_token() -> None:
    checked = found = 0
    for before, now in random_steps(400, seed=1):
        for voice in (1, 2, 3):
            mine, pitches = vi.candidates(voice, before)
            for upper in range(voice):
                got = vi.parallel_with(upper, voice, before, now)
                for token in range(VOCABULARY):
                    pitch = int(pitches[token])
                    alive = min(pitch, now[upper], before[upper], before[voice]) >= 0
                    expected = alive and parallel_kind((before[upper], before[voice]), (now[upper], pitch)) is not None
                    assert got[token] == expected, (before, now, voice, upper, token)
                    checked += 1
                    found += expected
    assert found > 100 and checked > 100_000  # the random steps do hold parallels, crossed ones too


@pytest.mark.parametrize("begins", [0.0, 1.0])
def test_no_cadence_for_the_bass_is_the_evaluators_cadence_test(begins: float) -> None:
    cadences = 0
    for before, now in random_steps(600, seed=2):
        bad = vi.no_cadence(3, before, now, np.array([begins]))
        for token in range(VOCABULARY):
            bass = int(before[3] if token == VOICE_HOLD else vi.TOKEN_PITCHES[token])
            if now[0] < 0:
                assert not bad[token]  # nothing counts while the soprano rests
                continue
            if bass < 0:
                assert bad[token]  # a bass rest under a sung fermata is no cadence
                continue
            chord = [*now, bass]
            lowest = min(now) >= 0 and bass < min(now)
            held = bass == before[3] and not begins  # after its first step a fermata may hold
            approached = held or before[3] < 0 or (bass - before[3]) % 12 in CADENCE_APPROACH
            expected_cadence = lowest and is_root_position_triad(chord) and approached
            assert bad[token] == (not expected_cadence), (before, now, token)
            cadences += expected_cadence
    assert cadences > 50


def test_no_cadence_for_alto_and_tenor_leaves_a_bass_that_makes_one() -> None:
    """A note is spoilt exactly when no choice of pitch classes below it can complete a cadence chord."""
    rng = np.random.default_rng(3)
    spoilt = kept = 0
    for _ in range(60):
        before = np.array([72, 64, 55, 48])
        now = np.array([int(rng.integers(67, 79)), int(rng.integers(60, 67)), -1])
        for voice in (1, 2):
            bad = vi.no_cadence(voice, before, now, np.array([0.0]))
            for token in range(VOCABULARY):
                pitch = int(before[voice] if token == VOICE_HOLD else vi.TOKEN_PITCHES[token])
                if pitch < 0:
                    assert bad[token]
                    continue
                upper = [int(now[0]), pitch] if voice == 1 else [int(now[0]), int(now[1]), pitch]
                tenors = [[]] if voice == 2 else [[24 + t] for t in range(12)]  # any pitch class
                possible = any(  # a bass below everything, on any pitch class
                    is_root_position_triad([*upper, *tenor, 12 + b]) for tenor in tenors for b in range(12)
                )
                assert bad[token] == (not possible), (now, voice, pitch)
                spoilt += bad[token]
                kept += not bad[token]
    assert spoilt > 100 and kept > 100


def test_the_loss_penalises_only_while_training_and_only_the_bad_notes() -> None:
    before = np.array([[[67, 60, 55, 48]]])  # G4 C4 G3 C3
    now = np.array([[[69, 62, 57]]])  # A4 D4 A3: the soprano moved up a step
    fermata = np.zeros((1, 1, 1), dtype="float32")
    layer = vi.VoiceLeadingLoss(3, parallel=1.0, cadence=0.0)
    parallel_tokens = np.flatnonzero(sum(vi.parallel_with(u, 3, before, now) for u in range(3))[0, 0])
    assert len(parallel_tokens) > 0  # D3, for one: octaves with the alto (C4 -> D4), fifths with the tenor

    def loss(logits, training: bool) -> float:
        out = layer([logits, before, now, fermata], training=training)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), logits)  # logits pass through
        return float(sum(keras.ops.convert_to_numpy(x) for x in layer.losses))

    uniform = np.zeros((1, 1, VOCABULARY), dtype="float32")
    assert loss(uniform, training=False) == 0.0
    share = len(parallel_tokens) / VOCABULARY
    assert loss(uniform, training=True) == pytest.approx(-np.log(1 - share + 1e-6), rel=1e-4)
    away = uniform.copy()
    away[..., parallel_tokens] = -30.0  # the model already avoids them: almost no loss
    assert loss(away, training=True) < 1e-5
