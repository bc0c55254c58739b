"""Keys by phrase, chord roots and key-aware cadences (course_lib.phrase_keys) on hand-written cases."""

from __future__ import annotations

import numpy as np

from course_lib.phrase_keys import Key, cadence_kind, chord_root, find_key, keys_by_step, phrase_spans, related_keys
from course_lib.voices import from_chords

C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60]
A_MINOR_TUNE = [69, 71, 72, 74, 76, 77, 80, 81, 76, 72, 69, 68, 69]  # G#: the raised seventh


def test_the_key_of_a_scale_and_of_a_minor_tune_follows_transposition():
    assert find_key(np.array(C_MAJOR_SCALE)) == Key(0)
    assert find_key(np.array(A_MINOR_TUNE)) == Key(9, minor=True)
    assert find_key(np.array(A_MINOR_TUNE) - 2) == Key(7, minor=True)
    assert str(find_key(np.array(C_MAJOR_SCALE) + 7)) == "G major"
    assert find_key(np.array([-1, -1])) == Key(0)  # nothing sounds


def test_roots_of_triads_sevenths_and_what_is_no_chord():
    assert chord_root({0, 4, 7}) == 0 and chord_root({4, 7, 0}) == 0  # C major, in any order
    assert chord_root({9, 0, 4}) == 9  # A minor
    assert chord_root({7, 11, 2, 5}) == 7  # G7
    assert chord_root({11, 2, 5}) == 11  # B diminished
    assert chord_root({0, 4}) == 0  # the fifth may be missing
    assert chord_root({0, 7}) is None  # a bare fifth: no third
    assert chord_root({0, 4, 7, 9}) is None  # an added sixth


C_MAJOR = Key(0)


def cadence(chords, key=C_MAJOR):
    """The cadence of a phrase whose last chord has the fermata."""
    lines = from_chords(chords, fermatas=[len(chords) - 1])
    first, end = lines.fermata_spans()[-1]
    return cadence_kind(lines.pitches(), first, end, key)


TONIC, IV, V, VI = (72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 69, 64, 57)
II, III = (74, 69, 65, 50), (71, 67, 64, 52)


def test_the_four_cadences_in_c_major():
    assert cadence([TONIC, V, TONIC]) == ("authentic", Key(0))
    assert cadence([TONIC, IV, TONIC]) == ("plagal", Key(0))
    assert cadence([TONIC, IV, V]) == ("half", Key(0))
    assert cadence([TONIC, V, VI]) == ("deceptive", Key(0))


def test_what_the_key_blind_test_passes_is_no_cadence_in_the_key():
    from course_lib.voice_leading import cadence_at

    lines = from_chords([TONIC, II, III], fermatas=[2])
    first, end = lines.fermata_spans()[-1]
    assert cadence_at(lines.pitches(), first, end)  # a root-position triad whose bass rose a step
    assert cadence([TONIC, II, III]) is None  # ii-iii is no cadence in C major or a neighbouring key
    assert cadence([TONIC, V, (72, 67, 64, 52)]) is None  # the tonic in first inversion


def test_a_phrase_may_cadence_in_a_neighbouring_key():
    e_major = (71, 68, 64, 52)  # V of A minor
    a_minor = (72, 69, 64, 45)
    assert cadence([TONIC, e_major, a_minor]) == ("authentic", Key(9, minor=True))
    assert Key(9, minor=True) in related_keys(Key(0)) and len(related_keys(Key(0))) == 6
    assert related_keys(Key(9, minor=True))[1] == Key(0)  # A minor's relative major


def test_each_phrase_gets_its_own_key():
    g_major = [(74, 71, 67, 55), (74, 72, 66, 50), (74, 71, 67, 43)]  # G, D7, G
    lines = from_chords([TONIC, IV, V, TONIC, *g_major], fermatas=[3, 6])
    assert phrase_spans(lines) == [(0, 8), (8, 14)]
    keys = keys_by_step(lines)
    assert keys[0] == Key(0) and keys[-1] == Key(7)
