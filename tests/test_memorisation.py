"""Copies of the training data (course_lib.memorisation): runs and excerpts against a brute-force search."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from course_lib.memorisation import CopyFinder, copy_scores


def random_roll(steps: int, seed: int, pitches: int = 12) -> np.ndarray:
    """Frames with two random notes each: distinct enough that chance matches are short."""
    rng = np.random.default_rng(seed)
    roll = np.zeros((steps, pitches), dtype=bool)
    for step in range(steps):
        roll[step, rng.choice(pitches, 2, replace=False)] = True
    return roll


def brute_longest_run(roll, training) -> int:
    best = 0
    for piece in training:
        for i in range(len(roll)):
            for j in range(len(piece)):
                n = 0
                while i + n < len(roll) and j + n < len(piece) and (roll[i + n] == piece[j + n]).all():
                    n += 1
                best = max(best, n)
    return best


def test_a_sample_that_copies_nine_frames_is_found_out():
    training = [random_roll(40, seed) for seed in range(3)]
    sample = random_roll(30, 99)
    sample[10:19] = training[1][5:14]  # nine frames copied from the middle of a training piece
    finder = CopyFinder(training)
    assert finder.longest_run(sample) == brute_longest_run(sample, training) >= 9


def test_the_rolling_hash_agrees_with_a_brute_force_search_on_random_rolls():
    training = [random_roll(25, seed, pitches=4) for seed in range(4)]  # few pitches: many chance matches
    finder = CopyFinder(training)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the hash's wrap-around must be silent
        for seed in range(10, 16):
            sample = random_roll(20, seed, pitches=4)
            assert finder.longest_run(sample) == brute_longest_run(sample, training)


def test_copied_excerpts_start_at_every_bar_and_match_at_any_step():
    training = [random_roll(64, 1)]
    sample = np.concatenate([training[0][3:19], random_roll(16, 7), training[0][30:46]])  # 48 steps, 1 per beat
    finder = CopyFinder(training)
    # one step per beat: 8-step excerpts at steps 0, 4, ..., 40; those at 0, 4, 8 and 32, 36, 40 are copies
    assert finder.copied_excerpts(sample, steps_per_beat=1) == (6, 11)
    # two steps per beat: 16-step excerpts at 0, 8, ..., 32; only the two copied blocks themselves
    assert finder.copied_excerpts(sample, steps_per_beat=2) == (2, 5)


def test_a_copy_of_the_training_data_scores_what_a_copy_should():
    training = [random_roll(32, seed) for seed in range(3)]
    scores = copy_scores(CopyFinder(training), [training[0], random_roll(32, 50)], steps_per_beat=2)
    assert scores["longest_run_beats"] == 16.0 and scores["excerpts"] == 6
    assert scores["copied_excerpts"] == pytest.approx(3 / 6)
    assert scores["mean_longest_run_beats"] < 16.0
