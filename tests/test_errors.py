"""course_lib.errors: the base class of every problem a user can fix, and sizes for people."""

import pytest

from course_lib.datasets import DataError
from course_lib.errors import CourseError, TooLargeError, human_size
from course_lib.midi import MidiError


@pytest.mark.parametrize(
    "n_bytes, text",
    [(0, "0 bytes"), (1023, "1023 bytes"), (2048, "2 KiB"), (984 * 2**20, "984 MiB"), (29.3 * 2**30, "29.3 GiB")],
)
def test_human_size_picks_the_unit_a_person_reads(n_bytes, text):
    assert human_size(n_bytes) == text


def test_human_size_goes_past_gibibytes_to_tebibytes():
    assert human_size(21 * 2**40) == "21.0 TiB"


def test_every_user_error_is_a_course_error_and_too_large_is_also_a_value_error():
    for error in (DataError, MidiError, TooLargeError):
        assert issubclass(error, CourseError)
    with pytest.raises(ValueError, match="too long"):
        raise TooLargeError("too long: pass max_beats")
