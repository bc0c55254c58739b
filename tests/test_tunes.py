"""The bundled non-chorale melodies: they read, fit the harmoniser, and are not chorale tunes."""

import numpy as np
import pytest

from course_lib import datasets, harmonising
from course_lib.tunes import load_tunes


@pytest.fixture(scope="module")
def tunes():
    return load_tunes()


def test_fifteen_tunes_with_titles_origins_meters_and_pickups(tunes):
    assert len(tunes) == 15 and len({t.title for t in tunes}) == 15
    assert all(t.origin for t in tunes)
    by_title = {t.title: t.piece for t in tunes}
    assert by_title["Silent Night"].time_signature == (6, 8)
    assert by_title["Amazing Grace (New Britain)"].time_signature == (3, 4)
    assert by_title["Amazing Grace (New Britain)"].pickup == 1.0  # "A-" before the first bar
    # ties are joined: Amazing Grace's "d3- | d2" is one D5 of five beats
    assert any(n.pitch == 74 and n.end - n.start == 5 for n in by_title["Amazing Grace (New Britain)"].notes)
    twinkle = [n.pitch for n in by_title["Twinkle, Twinkle, Little Star"].notes]
    assert twinkle[:7] == [60, 60, 67, 67, 69, 69, 67]


def test_every_tune_is_one_line_the_harmoniser_takes(tunes):
    for tune in tunes:
        notes = sorted(tune.piece.notes, key=lambda n: n.start)
        assert all(a.end <= b.start for a, b in zip(notes, notes[1:], strict=False)), tune.title
        lines, _ = harmonising.melody_from_piece(tune.piece)
        assert lines.fermata_starts() and lines.steps >= 32, tune.title


def test_no_tune_begins_like_a_chorale_in_the_data(tunes):
    def opening(pitches: list[int]) -> tuple[int, ...]:
        return tuple(np.diff(pitches[:9]))  # eight intervals: the same in any key

    chorales = {
        opening([n.pitch for n in sorted(c.voice(0), key=lambda n: n.start)]) for c in datasets.load_chorale_list()
    }
    old_hundredth = [67, 67, 66, 64, 62, 67, 69, 71, 71]  # Genevan Psalm 134: Bach harmonised it (BWV 130.6)
    assert opening(old_hundredth) in chorales  # so the check can find a chorale tune
    for tune in tunes:
        assert opening([n.pitch for n in sorted(tune.piece.notes, key=lambda n: n.start)]) not in chorales, tune.title
