"""The key of each phrase, the root of a chord, and the kind of cadence at a fermata, in that key.

A chorale modulates: a phrase in C major often ends in G major or A minor. A judge of voice
leading that knows the key can tell an authentic cadence from a chord that merely looks final,
and can find the leading tone. Here the key of a phrase is found the classic way
(Krumhansl and Kessler's key profiles, 1982, as in the Krumhansl-Schmuckler algorithm): how long
each pitch class sounds in the phrase, correlated with the profile of each of the 24 keys.

A phrase runs from the end of one fermata to the end of the next; music after the last fermata
belongs to the last phrase, and a piece without fermatas is one phrase.

Notebook: 09_four_voices
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.notes import PITCH_NAMES
from course_lib.voices import Lines

# probe-tone ratings of the twelve pitch classes above the tonic (Krumhansl and Kessler 1982)
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
CADENCE_KINDS = ("authentic", "half", "plagal", "deceptive")
# the other triads of a key, as (semitones above the tonic, minor): ii iii IV V vi; III iv v VI VII
RELATED_MAJOR = ((2, True), (4, True), (5, False), (7, False), (9, True))
RELATED_MINOR = ((3, False), (5, True), (7, True), (8, False), (10, False))
# chord shapes above the root: (intervals that may sound, intervals that must); the root must sound too
CHORD_SHAPES = (
    (frozenset({0, 4, 7}), frozenset({4})),  # major triad
    (frozenset({0, 3, 7}), frozenset({3})),  # minor triad
    (frozenset({0, 4, 7, 10}), frozenset({4, 10})),  # dominant seventh
    (frozenset({0, 3, 6}), frozenset({3, 6})),  # diminished triad
)


@dataclass(frozen=True)
class Key:
    """A key: its tonic's pitch class (0 = C) and its mode."""

    tonic: int
    minor: bool = False

    @property
    def dominant(self) -> int:
        return (self.tonic + 7) % 12

    @property
    def subdominant(self) -> int:
        return (self.tonic + 5) % 12

    @property
    def leading_tone(self) -> int:
        """A semitone below the tonic, in minor too (the raised seventh)."""
        return (self.tonic + 11) % 12

    @property
    def submediant(self) -> int:
        return (self.tonic + (8 if self.minor else 9)) % 12

    def __str__(self) -> str:
        return f"{PITCH_NAMES[self.tonic]} {'minor' if self.minor else 'major'}"


def _standardised(rows: np.ndarray) -> np.ndarray:
    centred = rows - rows.mean(axis=-1, keepdims=True)
    return centred / np.linalg.norm(centred, axis=-1, keepdims=True)


# the 24 keys (C major .. B major, C minor .. B minor) and their profiles, standardised for correlation
KEYS = tuple(Key(tonic, minor) for minor in (False, True) for tonic in range(12))
_PROFILES = _standardised(np.array([np.roll(MINOR_PROFILE if k.minor else MAJOR_PROFILE, k.tonic) for k in KEYS]))


def find_key(pitches: np.ndarray) -> Key:
    """The key whose profile best matches how long each pitch class sounds in ``pitches`` (-1 = rest).

    The match is the correlation between the twelve durations and the key's profile; C major
    when nothing sounds.

    Notebook: 09_four_voices
    """
    sounding = pitches[pitches >= 0].astype(int)
    weights = np.bincount(sounding % 12, minlength=12).astype(float)
    if np.ptp(weights) == 0:
        return KEYS[0]
    return KEYS[int(np.argmax(_PROFILES @ _standardised(weights)))]


def phrase_spans(lines: Lines) -> list[tuple[int, int]]:
    """``(start, end)`` steps of each phrase: up to the end of each fermata, the rest joined to the last."""
    ends = [end for _, end in lines.fermata_spans()]
    if not ends or ends[-1] < lines.steps:
        ends = ends[:-1] + [lines.steps] if ends else [lines.steps]
    starts = [0, *ends[:-1]]
    return [(start, end) for start, end in zip(starts, ends, strict=True) if end > start]


def keys_by_step(lines: Lines) -> list[Key]:
    """The key of the phrase each step belongs to.

    Notebook: 09_four_voices
    """
    pitches = lines.pitches()
    keys: list[Key] = []
    for start, end in phrase_spans(lines):
        keys.extend([find_key(pitches[start:end])] * (end - start))
    return keys


def chord_root(pitch_classes: set[int]) -> int | None:
    """The root of a major, minor or diminished triad or a dominant seventh made of these pitch classes.

    The root and the third must sound; the fifth may be missing. None for anything else.

    Notebook: 09_four_voices
    """
    for root in sorted(pitch_classes):
        above = {(pc - root) % 12 for pc in pitch_classes}
        if any(above <= allowed and needed <= above for allowed, needed in CHORD_SHAPES):
            return root
    return None


def related_keys(key: Key) -> list[Key]:
    """``key`` and the keys of its other major and minor triads, where a phrase may cadence (C: Dm, Em, F, G, Am).

    Notebook: 09_four_voices
    """
    degrees = RELATED_MINOR if key.minor else RELATED_MAJOR
    return [key, *(Key((key.tonic + step) % 12, minor) for step, minor in degrees)]


def cadence_kind(pitches: np.ndarray, first: int, end: int, key: Key) -> tuple[str, Key] | None:
    """The cadence the four voices make on the fermata note at steps ``first..end-1``, and its key, or None.

    The last chord of the fermata in which all four voices sound, in root position (the bass has
    the root), and the last chord with another root before the fermata note. In ``key`` or, a
    phrase often ending in a neighbouring key, in one of its :func:`related_keys`:

    - **authentic**: the tonic (in a minor key also with a major third, the Picardy third) after
      the dominant or the leading-tone chord, either with the leading tone sounding;
    - **plagal**: the tonic after the subdominant;
    - **half**: the dominant with its leading tone (a major triad or a seventh chord);
    - **deceptive**: the submediant after the dominant, with the leading tone.

    A chord outside these, an inversion, a bare fifth, or a tonic reached from another chord
    (ii-iii, VII-i) is no cadence.

    Notebook: 09_four_voices
    """
    full = [step for step in range(first, end) if (pitches[step] >= 0).all()]
    if not full:
        return None
    chord = pitches[full[-1]]
    classes = {int(p) % 12 for p in chord}
    root = chord_root(classes)
    if root is None or int(chord[3]) % 12 != root:
        return None
    before, before_classes = None, set()
    for step in range(first - 1, -1, -1):
        if (pitches[step] >= 0).all():
            earlier_classes = {int(p) % 12 for p in pitches[step]}
            earlier = chord_root(earlier_classes)
            if earlier is not None and earlier != root:
                before, before_classes = earlier, earlier_classes
                break
    for local in related_keys(key):
        kind = _kind_in(local, root, classes, before, before_classes)
        if kind is not None:
            return kind, local
    return None


def _kind_in(key: Key, root: int, classes: set[int], before: int | None, before_classes: set[int]) -> str | None:
    """The cadence a root-position chord on ``root`` after a chord on ``before`` makes in ``key``, or None."""
    dominant_before = before in (key.dominant, key.leading_tone) and key.leading_tone in before_classes
    if root == key.tonic and (key.minor or (root + 4) % 12 in classes):
        if dominant_before:
            return "authentic"
        return "plagal" if before == key.subdominant else None
    if root == key.dominant and key.leading_tone in classes:
        return "half"
    if root == key.submediant and dominant_before:
        return "deceptive"
    return None
