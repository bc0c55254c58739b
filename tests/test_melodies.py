"""Melody lines as tokens (course_lib.melodies): the top line of a roll, windows, imported melodies."""

from __future__ import annotations

import numpy as np

from course_lib import melodies
from course_lib.tokens import HOLD, REST, MelodyVocabulary


def test_top_line_tokens_take_the_highest_key_and_hold_repeats():
    vocabulary = MelodyVocabulary(60, 72)
    roll = np.zeros((5, 88), dtype=bool)
    roll[0, [60 - 21, 64 - 21]] = True  # chord: the top note E4 counts
    roll[1, 64 - 21] = True  # the same key again: a hold
    roll[3, 67 - 21] = True  # after a silent frame: G4
    tokens = melodies.top_line_tokens(roll, vocabulary).tolist()
    assert tokens == [vocabulary.token(64), HOLD, REST, vocabulary.token(67), REST]


def test_windows_cover_each_sequence_with_the_given_hop():
    sequences = [np.arange(10), np.arange(100, 103)]  # the second is shorter than a window
    windows = melodies.melody_windows(sequences, length=4, hop=3)
    assert windows.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]] and windows.dtype == np.int32
