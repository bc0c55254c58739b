"""Importing a folder of MIDI files: what is kept, what is skipped and why, the split, reuse."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import midi_import
from course_lib.datasets import DataError
from course_lib.errors import CourseError
from course_lib.midi import write_midi
from course_lib.midi_import import ImportOptions, import_folder, load_imported, skipped, split_by_file
from course_lib.notes import Note, Piece


def tune(seed: int, bars: int = 4) -> list[Note]:
    """A made-up melody over a held bass note, different for each seed."""
    rng = np.random.default_rng(seed)
    melody = [Note(b / 2, b / 2 + 0.5, int(60 + rng.integers(0, 12)), voice=0) for b in range(bars * 8)]
    return melody + [Note(0, bars * 4, 36 + seed % 12, voice=1)]


def format0_two_channels() -> bytes:
    """One track: channel 1 plays C5 (72) for a beat from beat 1, channel 3 plays C3 (48) for two beats at 0."""
    body = (
        b"\x00\x92\x30\x50"  # C3 on, channel 3
        + b"\x60\x90\x48\x50"  # beat 1: C5 on, channel 1
        + b"\x60\x80\x48\x00\x00\x82\x30\x00"  # beat 2: both off
        + b"\x00\xff\x2f\x00"
    )
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", len(body)) + body


@pytest.fixture()
def folder(tmp_path):
    """A lopsided folder: nested tunes, an upper-case suffix, a copy, and five kinds of file to skip."""
    root = tmp_path / "my music"
    (root / "set a" / "deeper").mkdir(parents=True)
    (root / "set b").mkdir()
    for i in range(8):
        write_midi(tune(i), root / "set a" / f"tune{i}.mid")
    write_midi(tune(8), root / "set a" / "deeper" / "LOUD.MIDI")
    shutil.copy(root / "set a" / "tune0.mid", root / "set b" / "same as tune0.mid")
    (root / "set b" / "two channels.mid").write_bytes(format0_two_channels())
    (root / "set b" / "notes.txt").write_text("not music")
    (root / "set b" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    write_midi(Piece([Note(0, 1, 36), Note(1, 2, 38)], drum_voices=(0,)), root / "set b" / "drums.mid")
    write_midi([], root / "set b" / "empty.mid")
    write_midi([Note(0, 1, 5), Note(1, 2, 120)], root / "set b" / "bats.mid")
    write_midi([Note(0, 600, 60)], root / "set b" / "drone.mid")
    return root


def test_manifest_lists_every_file_with_its_reason(folder, tmp_path):
    manifest = import_folder(folder, "mine", ImportOptions(max_beats=500), out=tmp_path / "out")
    reasons = dict(skipped(manifest))
    assert set(reasons) == {
        "set b/broken.mid",
        "set b/drums.mid",
        "set b/empty.mid",
        "set b/bats.mid",
        "set b/drone.mid",
    }
    assert reasons["set b/broken.mid"].startswith("not readable: header chunk truncated")
    assert reasons["set b/drums.mid"].startswith("drums only")
    assert reasons["set b/empty.mid"] == "no notes"
    assert "range" in reasons["set b/bats.mid"]
    assert reasons["set b/drone.mid"].startswith("too long: 600 beats (the limit is 500")
    paths = [e["path"] for e in manifest["files"]]
    assert "set a/deeper/LOUD.MIDI" in paths and "set b/notes.txt" not in paths and len(paths) == 16
    counts = manifest["counts"]
    assert (counts["files"], counts["imported"], counts["skipped"], counts["identical_files"]) == (16, 11, 5, 1)
    assert counts["train"] + counts["valid"] + counts["test"] == 11
    split_of = {e["sha256"]: e["split"] for e in manifest["files"] if e["status"] == "imported"}
    assert sorted(split_of.values()).count("train") == 8 and len(split_of) == 10  # 8/1/1 by content
    stored = json.loads((tmp_path / "out" / "mine" / "manifest.json").read_text())
    assert stored == {k: v for k, v in manifest.items() if k != "reused"}
    assert stored["options"] == {"steps_per_beat": 4, "max_beats": 500.0, "seed": 0, "sustain_pedal": True}
    assert stored["data_sha256"] == midi_import.sha256_of(tmp_path / "out" / "mine" / "pieces.npz")


def test_rolls_leave_drums_out_and_voices_follow_channels(folder, tmp_path):
    drums_and_bass = Piece([Note(0, 1, 36, voice=0), Note(0, 2, 40, voice=1)], drum_voices=(0,))
    write_midi(drums_and_bass, folder / "band.mid")
    manifest = import_folder(folder, "mine", ImportOptions(steps_per_beat=2), out=tmp_path / "out")
    entry = {e["path"]: e for e in manifest["files"]}
    assert entry["band.mid"]["drum_notes"] == 1 and entry["band.mid"]["notes"] == 1
    assert entry["set b/two channels.mid"]["voices"] == 2
    data = load_imported("mine", out=tmp_path / "out")
    every = [(r, m) for part in zip(data.rolls, data.melodies, strict=True) for r, m in zip(*part, strict=True)]
    band = [r for r, _ in every if r.shape[0] == 4 and r[:, 40 - 21].sum() == 4]
    assert len(band) == 1 and band[0].sum() == 4  # the bass only: the kick drum (36) is not in the roll
    two, melody = next((r, m) for r, m in every if r.shape[0] == 4 and r[:, 72 - 21].any())
    assert two[:, 72 - 21].tolist() == [False, False, True, True]  # C5 from beat 1, at 2 steps per beat
    assert two[:, 48 - 21].tolist() == [True, True, True, True]  # C3 for two beats
    assert two.sum() == 6
    assert melody.tolist() == [2 + 48, 1, 2 + 72, 1]  # the top line: C3, then C5 above it


def test_split_is_seeded_by_content_and_keeps_copies_together():
    sums = [f"{i:02x}" * 32 for i in range(30)]
    first = split_by_file(sums, seed=1)
    assert first == split_by_file(sums, seed=1) and first != split_by_file(sums, seed=2)
    assert (first.count("train"), first.count("valid"), first.count("test")) == (24, 3, 3)
    reordered = split_by_file(sums[::-1], seed=1)[::-1]
    assert reordered == first  # names and order do not matter, only contents
    with_copies = split_by_file(sums + sums[:5], seed=1)
    assert with_copies[30:] == with_copies[:5]
    assert split_by_file(sums[:2]) == ["train", "train"]


def test_same_folder_is_reused_and_a_change_rebuilds(folder, tmp_path):
    out = tmp_path / "out"
    assert import_folder(folder, "mine", out=out)["reused"] is False
    again = import_folder(folder, "mine", out=out)
    assert again["reused"] is True and again["counts"]["imported"] == 12  # the drone fits the default max_beats
    assert import_folder(folder, "mine", ImportOptions(steps_per_beat=2), out=out)["reused"] is False
    write_midi(tune(20), folder / "new.mid")
    changed = import_folder(folder, "mine", ImportOptions(steps_per_beat=2), out=out)
    assert changed["reused"] is False and changed["counts"]["imported"] == 13


def test_workers_give_the_same_dataset_as_one_process(tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    for i in range(midi_import.SMALL_FOLDER + 6):
        write_midi(tune(i, bars=1), root / f"t{i:03d}.mid")
    (root / "bad.mid").write_bytes(b"RIFF....")
    lines = []
    parallel = import_folder(root, "p", out=tmp_path / "out", workers=2, progress=lines.append)
    serial = import_folder(root, "s", out=tmp_path / "out", workers=1)
    assert parallel["data_sha256"] == serial["data_sha256"] and parallel["files"] == serial["files"]
    total = len(parallel["files"])
    assert lines[-1].startswith(f"importing {total}/{total} files") and "ETA" in lines[-1]


def test_load_checks_the_data_against_the_manifest(folder, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"no imported dataset 'mine'.*data import FOLDER --name mine"):
        load_imported("mine", out=out)
    import_folder(folder, "mine", out=out)
    pieces = out / "mine" / "pieces.npz"
    data = bytearray(pieces.read_bytes())
    data[len(data) // 2] ^= 1
    pieces.write_bytes(bytes(data))
    with pytest.raises(DataError, match="does not match its manifest"):
        load_imported("mine", out=out)


def test_user_mistakes_are_one_line_course_errors(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        import_folder(tmp_path / "nowhere", "x", out=tmp_path / "out")
    with pytest.raises(DataError, match="no .mid or .midi files"):
        import_folder(tmp_path, "x", out=tmp_path / "out")
    for name in ("jsb", "../up", ""):
        with pytest.raises(CourseError, match="plain folder name"):
            midi_import.dataset_folder(name)
    with pytest.raises(CourseError, match="steps-per-beat"):
        ImportOptions(steps_per_beat=0)


def test_import_writes_nothing_into_data(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import_folder(folder, "mine")
    assert (tmp_path / "output" / "data" / "mine" / "manifest.json").is_file()
    assert sorted(os.listdir(tmp_path)) == ["my music", "output"]


DEMO = Path(__file__).resolve().parent.parent / "data" / "midi" / "demo"


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside Keras, not ours
def test_import_train_and_generate_from_the_command_line(tiny_models, tmp_path, monkeypatch, capsys):
    from course_lib.__main__ import main
    from course_lib.midi import read_midi

    monkeypatch.chdir(tmp_path)
    assert main(["data", "import", str(DEMO), "--name", "demo", "--steps-per-beat", "2", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "imported 49 of 51 files into output/data/demo" in out
    assert "skipped oddities/drum_groove.mid: drums only" in out
    assert "skipped oddities/cut_short.mid: not readable" in out
    manifest = tmp_path / "output" / "data" / "demo" / "manifest.json"
    assert main(["data", "import", str(DEMO), "--name", "demo", "--steps-per-beat", "2"]) == 0
    assert "up to date" in capsys.readouterr().out
    for name, limit in (("melody", "4"), ("chorale-made", "3")):
        assert main(["train", name, "--data", "demo", "--limit", limit, "--epochs", "1", "--out", "t"]) == 0
        card = json.loads((tmp_path / "t" / name / f"{name}.json").read_text())
        assert card["data"] == "demo" and card["data_sha256"] == midi_import.sha256_of(manifest)
        assert card["steps_per_beat"] == 2 and card["training_pieces"] == int(limit)
        model = str(tmp_path / "t" / name / f"{name}.keras")
        assert main(["generate", name, "--model", model, "--bars", "2", "--out", "g"]) == 0
        piece = read_midi(tmp_path / "g" / f"{name}-seed0.mid")
        assert 4 + 8 - 0.6 <= piece.end <= 4 + 8  # a bar of primer and two generated bars, at 2 frames per beat
    from course_lib import recipes

    with pytest.raises(DataError, match="no imported dataset 'nothing' in output/data \\(found: demo\\)"):
        recipes.load_data("chorale", "nothing")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 20), st.floats(0.01, 4), st.integers(21, 108)),
        max_size=40,
    ),
    st.sampled_from([1, 2, 3, 4, 12]),
)
def test_fast_melody_line_is_the_skyline_of_the_notes(raw, steps_per_beat):
    from course_lib.notes import quantise, skyline
    from course_lib.pianoroll import to_pianoroll

    notes = sorted(Note(start, start + length, pitch) for start, length, pitch in raw)
    n_steps = len(to_pianoroll(notes, steps_per_beat))
    slow = midi_import.ALL_PITCHES.encode(skyline(quantise(notes, steps_per_beat)), steps_per_beat)
    assert midi_import.melody_tokens(notes, steps_per_beat, n_steps).tolist() == slow + [0] * (n_steps - len(slow))


def test_a_folder_of_every_awkward_kind_imports_in_one_call(tmp_path):
    from test_after_reading import (
        billions_of_ticks,
        header,
        hours_long_note,
        many_tracks,
        note,
        pop_song,
        time_signature,
        track,
    )

    root = tmp_path / "real world"
    root.mkdir()
    channels = [c for c in range(15) if c != 9][:14]
    files = {
        "orchestra.mid": many_tracks(36),
        "zero numerator.mid": header() + track(time_signature(0, 2) + note(0, 60, 96) + note(0, 62, 96)),
        "huge denominator.mid": header() + track(time_signature(4, 255) + note(0, 64, 96)),
        "one long note.mid": hours_long_note(),
        "billions of ticks.mid": billions_of_ticks(),
        "pop.mid": pop_song(),
        "game.mid": header(0, 1) + track(b"".join(note(c, 50 + i, 96) for i, c in enumerate(channels))),
        "zero length.mid": header(0, 1) + track(b"\x00\x90\x3c\x40\x00\x80\x3c\x00"),
        "corrupt.mid": header() + track(b"\x00\x90\x3c\xc0\x60\x80\x3c\x00"),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    manifest = import_folder(root, "real", out=tmp_path / "out")
    entry = {e["path"]: e for e in manifest["files"]}
    assert entry["orchestra.mid"]["voices"] == 36 and entry["game.mid"]["voices"] == 14
    assert entry["zero numerator.mid"]["time_signature"] == [4, 4] == entry["huge denominator.mid"]["time_signature"]
    assert entry["pop.mid"]["drum_notes"] == 3 and entry["pop.mid"]["notes"] == 2
    assert entry["one long note.mid"]["reason"].startswith("too long: 11,184,811 beats")
    assert entry["billions of ticks.mid"]["reason"].startswith("too long: 5,592,406 beats")
    assert entry["zero length.mid"]["reason"] == "no notes"
    assert entry["corrupt.mid"]["reason"] == "not readable: data byte 0xC0 > 127 in a channel message (at byte 25)"
    assert manifest["counts"]["imported"] == 5 and not any("bug" in e.get("reason", "") for e in manifest["files"])


def test_demo_folder_matches_the_checksums_in_its_readme():
    import hashlib
    import re

    row = re.compile(r"^\| `([^`]+)` \| [\d,]+ \| `([0-9a-f]{64})` \|$", re.M)
    listed = dict(row.findall((DEMO / "README.md").read_text()))
    present = {p.relative_to(DEMO).as_posix(): p for p in DEMO.rglob("*.mid")}
    assert sorted(listed) == sorted(present) and len(present) == 51
    assert {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in present.items()} == listed
    assert sum(p.stat().st_size for p in present.values()) < 1_000_000


def test_triplets_and_dotted_rhythms_are_written_music_and_a_performance_is_played(tmp_path):
    """Onsets on a triplet or thirty-second grid are notation, though off 4 steps per beat; jittered ones are not."""
    from course_lib.midi import read_midi

    # a bar each of eighth triplets, sixteenth triplets and dotted-eighth + sixteenth pairs (3/4 and 7/8 of a beat
    # are on the sixteenth grid, 3/8 and 7/8 on the thirty-second grid), written at 96 and 480 ticks per beat
    onsets = [b + k / 3 for b in range(4) for k in range(3)]
    onsets += [4 + b + k / 6 for b in range(4) for k in range(6)]
    onsets += [8 + b + offset for b in range(4) for offset in (0.0, 0.375, 0.5, 0.875)]
    written = [Note(start, start + 1 / 6, 60 + i % 12) for i, start in enumerate(onsets)]
    for ticks in (96, 480):
        notes = read_midi(write_midi(written, ticks_per_beat=ticks)).pitched_notes
        assert midi_import.unnotated_share(notes) == 0.0
        assert midi_import.off_grid_share(notes, 4) > 0.4  # the import's 4 steps per beat move those onsets

    # the same rhythm played: onsets off by about 20 ms at 120 beats per minute (0.04 beats), as a pianist's are
    rng = np.random.default_rng(3)
    played = [Note(n.start + rng.normal(0, 0.04), n.end + 0.1, n.pitch) for n in written if n.start > 0]
    assert midi_import.unnotated_share(played) > 0.6
    # a known mixture: one onset on a triplet, one on the thirty-second grid, one 0.02 beats late
    mixture = [Note(1 / 3, 1, 60), Note(0.375, 1, 62), Note(0.52, 1, 64)]
    assert midi_import.unnotated_share(mixture) == pytest.approx(1 / 3)

    folder = tmp_path / "music"
    folder.mkdir()
    write_midi(written, folder / "triplets.mid", ticks_per_beat=96)
    write_midi(played, folder / "played.mid")
    manifest = import_folder(folder, "grids", ImportOptions(), workers=1)
    played_share = midi_import.unnotated_share(read_midi(write_midi(played)).pitched_notes)  # at the file's ticks
    assert midi_import.performances(manifest) == [("played.mid", round(played_share, 3))]
    assert [path for path, _ in midi_import.off_the_step_grid(manifest)] == ["triplets.mid"]
    assert manifest["counts"]["played"] == 1
