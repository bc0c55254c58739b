"""Harmonising melodies (course_lib.harmonising): a melody from any MIDI file, the files written, the
``harmonise`` command with a tiny and with the shipped model."""

import pytest

from course_lib import harmonising, satb_model, voices
from course_lib.errors import CourseError
from course_lib.midi import read_midi, write_midi
from course_lib.notes import Note, Piece
from course_lib.voices import VOICE_HOLD, VOICE_REST


def test_a_melody_is_moved_to_c_and_gets_fermatas():
    # a tune in D major, with a rest after the fourth note and a long last note
    notes = [Note(0, 1, 62), Note(1, 2, 66), Note(2, 3, 69), Note(3, 4, 74), Note(5, 6, 73), Note(6, 10, 74)]
    lines, shift = harmonising.melody_from_piece(Piece(notes))
    assert shift % 12 == 10  # D -> C
    assert lines.transposition == -2  # the key's move, without the octaves that put it in the soprano's range
    assert [voices.pitch_of(t) % 12 for t in lines.tokens[:, 0] if t > VOICE_HOLD] == [0, 4, 7, 0, 11, 0]
    assert lines.fermata_starts() == [6, 12]
    assert (lines.tokens[:, 1:] == VOICE_REST).all()


def test_melodies_the_harmoniser_cannot_take_are_course_errors():
    with pytest.raises(CourseError, match="no notes"):
        harmonising.melody_from_piece(Piece([]))
    with pytest.raises(CourseError, match="spans"):
        harmonising.melody_from_piece(Piece([Note(0, 1, 40), Note(1, 2, 90)]))


def test_harmonise_file_writes_four_tracks_wav_png_and_score(tmp_path, tiny_harmoniser):
    melody = tmp_path / "tune.mid"
    write_midi(Piece([Note(i, i + 1, p) for i, p in enumerate([67, 69, 71, 72, 71, 69, 67, 67])]), melody)
    card = {"temperature": 0.75}
    paths = harmonising.harmonise_file(melody, tmp_path / "out", tiny_harmoniser, card)
    assert [p.name for p in paths] == [f"tune-satb.{s}" for s in ("mid", "wav", "png", "musicxml", "svg")]
    assert all(p.stat().st_size > 0 for p in paths)
    result = read_midi(paths[0])
    assert len(result.voices()) >= 3
    soprano = sorted((n for n in result.notes if n.voice == 0), key=lambda n: n.start)
    assert [n.pitch for n in soprano][:4] == [67, 69, 71, 72]  # moved to C and back: the tune as given


def test_harmonise_command_gives_one_line_for_a_missing_file(tmp_path, capsys):
    from course_lib.__main__ import main

    with pytest.raises(CourseError, match="no such file"):
        harmonising.harmonise_file(tmp_path / "missing.mid", tmp_path)
    code = main(["harmonise", str(tmp_path / "missing.mid"), "--out", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_the_harmonise_command_with_the_shipped_model(tmp_path, capsys):
    from course_lib.__main__ import main

    melody = tmp_path / "hymn.mid"
    tune = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]
    write_midi(Piece([Note(i, i + 1, p) for i, p in enumerate(tune)] + [Note(15, 17, 60)]), melody)
    assert main(["harmonise", str(melody), "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.count("wrote") == 5  # MIDI, WAV, PNG, MusicXML, SVG
    result = read_midi(tmp_path / "out" / "hymn-satb.mid")
    assert len(result.voices()) == 4  # a track per voice
    assert [n.pitch for n in sorted(result.voice(0), key=lambda n: n.start)] == [*tune, 60]

    # --no-rules: the model alone, written beside the other under its own name, and what harmonise gives alone
    assert main(["harmonise", str(melody), "--out", str(tmp_path / "out"), "--no-rules"]) == 0
    assert "hymn-satb-alone.mid" in capsys.readouterr().out
    alone = read_midi(tmp_path / "out" / "hymn-satb-alone.mid")
    from course_lib import pretrained

    lines, shift = harmonising.melody_from_piece(read_midi(melody))
    card = pretrained.card("satb")
    expected = satb_model.harmonise(pretrained.load("satb"), lines, card["temperature_alone"], 0, rules=False)
    for voice in range(4):
        assert [n.pitch + shift for n in sorted(alone.voice(voice), key=lambda n: n.start)] == [
            n.pitch for n in expected.to_piece().voice(voice)
        ]
    assert "alone, no rules" in (tmp_path / "out" / "hymn-satb-alone.musicxml").read_text()


def test_model_rows_names_every_row_and_harmonises_in_both_set_ups():
    import keras
    import numpy as np

    from course_lib import models
    from course_lib.voices import from_chords, soprano_only

    C5, G4, E4, D5, D4 = 72, 67, 64, 74, 62
    keras.utils.set_random_seed(0)
    harmoniser = satb_model.satb_harmoniser(units=8, embedding=4, head=8)
    card = {"temperature": 0.8, "temperature_alone": 0.5, "cadence_tries": 2}
    melodies = [soprano_only(from_chords([(C5, G4, E4, 48), (D5, G4, D4, 43), (C5, G4, E4, 48)], fermatas=[2]))] * 2
    openings = [np.eye(88, dtype=bool)[[40, 44, 47, 52]]]  # four frames of one key each
    seconds = {}
    rows = harmonising.model_rows(
        melodies, {"tiny": (harmoniser, card)}, {"roll": models.pianoroll_lstm(units=8)}, openings, 2, seconds
    )
    assert list(rows) == ["roll", "tiny, alone", "tiny, rules"] and list(seconds) == ["tiny, alone", "tiny, rules"]
    assert rows["roll"][0].steps == 2 * 4 * 2  # two bars of four beats after the opening, in eighth notes
    for i, melody in enumerate(melodies):  # seed i for melody i, the card's temperature for each set-up
        alone = satb_model.harmonise(harmoniser, melody, 0.5, i, rules=False, cadence_tries=0)
        ruled = satb_model.harmonise(harmoniser, melody, 0.8, i, rules=True, cadence_tries=2)
        assert np.array_equal(rows["tiny, alone"][i].tokens, alone.tokens)
        assert np.array_equal(rows["tiny, rules"][i].tokens, ruled.tokens)
    assert harmonising.set_ups({"temperature": 0.7, "cadence_tries": 1})["alone"] == (
        0.7,
        False,
        0,
    )  # no separate setting


def test_every_bundled_melody_comes_back_with_its_key_signature_meter_and_pickup(tmp_path, tiny_harmoniser):
    """A melody's MIDI file carries them; the harmonised MIDI file and the choir score keep them (issue 34)."""
    from music21 import converter

    from course_lib.score import parse_key
    from course_lib.tunes import load_tunes

    tunes = load_tunes()
    assert {t.piece.pickup > 0 for t in tunes} == {True, False} and len({t.piece.time_signature for t in tunes}) >= 3
    for number, tune in enumerate(tunes):
        melody = tmp_path / f"tune{number}.mid"
        write_midi(tune.piece, melody)
        card = {"temperature": 0.75}
        paths = harmonising.harmonise_file(melody, tmp_path / "out", tiny_harmoniser, card, rules=False)
        written = tune.piece.key, tune.piece.time_signature, tune.piece.pickup
        back = read_midi(paths[0])
        assert (back.key, back.time_signature, back.pickup) == written, tune.title
        first = converter.parse(paths[3]).parts[0].getElementsByClass("Measure")[0]
        assert first.keySignature.sharps == parse_key(tune.piece.key).sharps, tune.title
        assert first.timeSignature.ratioString == "{}/{}".format(*tune.piece.time_signature), tune.title
        assert first.duration.quarterLength == (tune.piece.pickup or first.barDuration.quarterLength), tune.title
