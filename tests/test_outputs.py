"""The files a generated piece is written as (course_lib.outputs): each one readable back, or none at all."""

from __future__ import annotations

import pytest

from course_lib.errors import TooLargeError
from course_lib.midi import read_midi
from course_lib.notes import Note, Piece, TempoMap
from course_lib.outputs import write_outputs
from course_lib.score import MAX_BEATS


def test_a_piece_is_written_as_midi_audio_a_picture_and_a_score(tmp_path):
    notes = [Note(0.0, 1.0, 60), Note(1.0, 2.0, 64), Note(2.0, 4.0, 67)]
    paths = write_outputs(Piece(notes, TempoMap.constant(120.0)), tmp_path / "out" / "tune", "a C major arpeggio")
    assert sorted(p.suffix for p in paths) == [".mid", ".musicxml", ".png", ".svg", ".wav"]
    assert [(n.start, n.end, n.pitch) for n in read_midi(tmp_path / "out" / "tune.mid").notes] == [
        (n.start, n.end, n.pitch) for n in notes
    ]
    wav = (tmp_path / "out" / "tune.wav").read_bytes()
    assert wav[:4] == b"RIFF" and len(wav) > 44_100  # two seconds at 120 bpm, 16-bit samples
    assert (tmp_path / "out" / "tune.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "out" / "tune.svg").read_text()


def test_music_too_long_to_engrave_writes_nothing(tmp_path):
    long = Piece([Note(0.0, MAX_BEATS + 4.0, 60)])
    with pytest.raises(TooLargeError, match="cut it first"):
        write_outputs(long, tmp_path / "out" / "long", "too long")
    assert not (tmp_path / "out").exists()
