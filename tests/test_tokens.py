"""course_lib.tokens: melodies as rest / hold / pitch tokens, and back."""

import pytest

from course_lib.notes import Note
from course_lib.tokens import HOLD, REST, MelodyVocabulary


def test_a_melody_on_the_grid_round_trips_through_tokens():
    vocabulary = MelodyVocabulary(60, 72)
    melody = [Note(0, 1, 60), Note(1, 1.5, 64), Note(2, 4, 72)]  # a rest from beat 1.5 to 2
    tokens = vocabulary.encode(melody, steps_per_beat=2)
    assert tokens == [2, HOLD, 6, REST, 14, HOLD, HOLD, HOLD]
    assert [(n.start, n.end, n.pitch) for n in vocabulary.decode(tokens, steps_per_beat=2)] == [
        (0, 1, 60),
        (1, 1.5, 64),
        (2, 4, 72),
    ]


def test_the_vocabulary_counts_rest_hold_and_each_pitch():
    vocabulary = MelodyVocabulary(60, 72)
    assert vocabulary.size == 2 + 13
    assert [vocabulary.name(t) for t in (REST, HOLD, 2, 14)] == ["REST", "HOLD", "C4", "C5"]
    assert vocabulary.pitch(vocabulary.token(67)) == 67


def test_a_hold_with_nothing_to_hold_is_a_rest():
    assert MelodyVocabulary(60, 72).decode([HOLD, HOLD, 2, HOLD]) == [Note(0.5, 1.0, 60)]


@pytest.mark.parametrize(
    "melody, complaint",
    [
        ([Note(0, 2, 60), Note(1, 3, 62)], "overlap"),
        ([Note(0.1, 1, 60)], "not on the grid"),
        ([Note(0, 1, 90)], "outside the vocabulary"),
    ],
)
def test_what_tokens_cannot_hold_is_refused(melody, complaint):
    with pytest.raises(ValueError, match=complaint):
        MelodyVocabulary(60, 72).encode(melody, steps_per_beat=4)
