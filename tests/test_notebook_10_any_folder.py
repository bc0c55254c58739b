"""Notebook 10 on a folder that is not the demo: piano with pedal, 3/4 and 6/8, performances, bands with drums.

The folder is written here byte by byte (raw MIDI events, so the sustain pedal and time signatures
are the files' own), the notebook's one ``FOLDER = ...`` line is pointed at it, and every cell
must run in quick mode. The manifest must account for every file, the broken one by name.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from raw_midi import meter, midi_file, note, pedal

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "10_your_own_music.ipynb"
FOLDER_LINE = 'FOLDER = DATA_DIR / "midi" / "demo"'


def piano_with_pedal(seed: int) -> bytes:
    """Eight bars: short melody notes and left-hand arpeggios held by the sustain pedal, bar by bar."""
    rng = np.random.default_rng(seed)
    right, left = [], []
    for bar in range(8):
        root = [48, 53, 55, 48, 45, 50, 55, 48][bar]
        for beat in range(4):
            start = 4 * bar + beat
            right += note(0, start, start + 0.25, int(72 + rng.choice([0, 2, 4, 5, 7])))  # staccato: the pedal holds
            left += note(0, start, start + 0.5, root + [0, 7, 12, 16][beat])
        right += pedal(0, 4 * bar + 0.05, 4 * bar + 3.95)
    return midi_file([meter(4, 2), right, left])


def dance(numerator: int, denominator_log2: int, seed: int) -> bytes:
    """Sixteen bars of a single melody line in the given meter, in eighth notes and quarters."""
    rng = np.random.default_rng(seed)
    bar_beats = numerator * 4 / 2**denominator_log2
    events, beat, pitch = [], 0.0, 67
    while beat < 16 * bar_beats:
        length = float(rng.choice([0.5, 0.5, 1.0]))
        pitch = int(np.clip(pitch + rng.choice([-2, -1, 1, 2, 3]), 60, 79))
        events += note(0, beat, beat + length * 0.9, pitch)
        beat += length
    return midi_file([meter(numerator, denominator_log2), events])


def performance(seed: int) -> bytes:
    """A recorded performance: onsets and lengths nowhere near a beat grid (no tempo map but the default)."""
    rng = np.random.default_rng(seed)
    events, beat = [], 0.0
    for _ in range(80):
        beat += float(rng.uniform(0.13, 0.61))
        pitch = int(rng.integers(55, 84))
        events += note(0, beat, beat + float(rng.uniform(0.1, 0.9)), pitch, int(rng.integers(40, 110)))
    return midi_file([events])


def band_with_drums(seed: int) -> bytes:
    """A pop-song layout: tempo track, melody, bass, chords, and drums on channel 10."""
    rng = np.random.default_rng(seed)
    melody, bass, chords, drums = [], [], [], []
    for bar in range(8):
        root = [48, 45, 41, 43][bar % 4]
        bass += note(1, 4 * bar, 4 * bar + 2, root - 12) + note(1, 4 * bar + 2, 4 * bar + 4, root - 5)
        for offset in (0, 4, 7):
            chords += note(2, 4 * bar, 4 * bar + 4, root + 12 + offset, 60)
        for eighth in range(8):
            start = 4 * bar + eighth / 2
            drums += note(9, start, start + 0.1, 42)  # closed hi-hat
            if eighth in (0, 4):
                drums += note(9, start, start + 0.1, 36)  # kick
            if eighth in (2, 6):
                drums += note(9, start, start + 0.1, 38)  # snare
            if rng.random() < 0.7:
                melody += note(0, start, start + 0.45, int(root + 24 + rng.choice([0, 2, 4, 7, 9])))
    return midi_file([meter(4, 2, 120.0), melody, bass, chords, drums])


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    music = tmp_path_factory.mktemp("student") / "my_music"
    files = {
        "piano/nocturne.mid": piano_with_pedal(1),
        "piano/etude.mid": piano_with_pedal(2),
        "waltzes/first_waltz.mid": dance(3, 2, 3),
        "waltzes/second_waltz.mid": dance(3, 2, 4),
        "jigs/jig_one.mid": dance(6, 3, 5),
        "jigs/jig_two.mid": dance(6, 3, 6),
        "performances/improvisation.mid": performance(7),
        "performances/rubato.mid": performance(8),
        "band/song_one.mid": band_with_drums(9),
        "band/song_two.mid": band_with_drums(10),
        "band/unfinished_download.mid": band_with_drums(11)[:300],  # cut off inside a track
    }
    for name, data in files.items():
        (music / name).parent.mkdir(parents=True, exist_ok=True)
        (music / name).write_bytes(data)
    return music


def test_notebook_10_runs_on_a_folder_that_is_not_the_demo(folder, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    lines = [cell for cell in notebook.cells if cell.cell_type == "code" and FOLDER_LINE in cell.source]
    assert len(lines) == 1, "notebook 10 must choose its folder in one FOLDER = ... line"
    lines[0].source = lines[0].source.replace(FOLDER_LINE, f"FOLDER = Path({str(folder)!r})")
    later = "\n".join(c.source for c in notebook.cells[notebook.cells.index(lines[0]) + 1 :] if c.cell_type == "code")
    assert "demo" not in later and "Barney" not in later  # nothing after the FOLDER line names the demo
    monkeypatch.setenv("COURSE_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    text = "\n".join(
        "".join(output.get("text", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "my_music: 11 MIDI files" in text
    assert "3/4" in text and "6/8" in text  # the meters came through the import
    manifest = json.loads((tmp_path / "output" / "data" / "my_music" / "manifest.json").read_text())
    statuses = {entry["path"]: entry["status"] for entry in manifest["files"]}
    assert len(statuses) == 11 and statuses["band/unfinished_download.mid"] == "skipped"
    assert "band/unfinished_download.mid" in text  # the notebook shows what was skipped, by name
    assert statuses["piano/nocturne.mid"] == statuses["performances/rubato.mid"] == "imported"
    # the performances are named as played rather than written; the written pieces are not
    assert "performances/improvisation.mid: " in text and "performances/rubato.mid: " in text
    assert "played rather than written (most onsets on no grid that notation writes on): 2" in text
    assert manifest["counts"]["played"] == 2
    # the first training piece is barred by its own file's meter, not the folder's most common one
    barred = re.search(r"^(\S+\.mid): (\d+)/(\d+), (\d+) frames per bar", text, re.M)
    path, numerator, denominator, frames = barred.groups()
    entry = next(e for e in manifest["files"] if e["path"] == path)
    assert entry["time_signature"] == [int(numerator), int(denominator)] and entry["split"] == "train"
    assert int(frames) == round(int(numerator) * 4 / int(denominator) * manifest["options"]["steps_per_beat"])
    assert os.path.isdir(tmp_path / "output" / "data" / "my_music")
