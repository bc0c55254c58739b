"""The recipe table (course_lib.recipes): five models, their settings, the train and generate commands,
and the shipped models against their cards."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from course_lib import pretrained, recipes, sources
from course_lib.__main__ import main
from course_lib.datasets import DataError, Splits, load_jsb, sha256_of
from course_lib.midi import read_midi


def test_every_recipe_can_be_shipped_and_every_shipped_model_is_a_recipe():
    assert set(recipes.MODELS) == set(pretrained.SHIPPED)


def test_train_then_generate_from_the_command_line(tiny_models, tmp_path, capsys):
    out = tmp_path / "train"
    assert main(["train", "melody", "--limit", "4", "--epochs", "1", "--out", str(out)]) == 0
    card = json.loads((out / "melody" / "melody.json").read_text())
    assert card["epochs"] == 1 and card["training_pieces"] == 4 and card["data"] == "chorales"
    assert card["command"].endswith("train melody --limit 4 --epochs 1 --out " + str(out))
    assert card["model_sha256"] == sha256_of(out / "melody" / "melody.keras")
    assert card["backend"].split()[0] == keras.backend.backend() and card["keras"] == keras.__version__
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(recipes.__file__).parent
    )
    if head.returncode == 0:  # "+changes" when the working tree differs from the commit
        assert card["commit"].split("+")[0] == head.stdout.strip()
    else:  # not a git checkout (a downloaded archive)
        assert card["commit"] is None
    model = str(out / "melody" / "melody.keras")
    assert main(["generate", "melody", "--model", model, "--bars", "2", "--out", str(tmp_path / "gen")]) == 0
    stem = tmp_path / "gen" / "melody-seed0"
    piece = read_midi(stem.with_suffix(".mid"))
    assert 4 + 8 - 0.01 <= piece.end <= 4 + 8  # one bar of primer, two generated bars of 4/4
    assert stem.with_suffix(".wav").read_bytes()[:4] == b"RIFF"
    assert stem.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert "melody epoch   1  train" in capsys.readouterr().out


@pytest.mark.parametrize("name, option", [("gan", ["--bars", "2"]), ("satb", ["--primer", "1"])])
def test_the_gan_and_the_harmoniser_generate_like_the_others(name, option, tmp_path, capsys):
    """Their training goes through the same code as the melody's (tests/test_runs.py trains each one)."""
    out = tmp_path / "gen"
    assert main(["generate", name, *option, "--out", str(out)]) == 0
    piece = read_midi(out / f"{name}-seed0.mid")
    assert sorted({n.voice for n in piece.notes}) == [0, 1, 2, 3]  # four voices
    assert (out / f"{name}-seed0.svg").exists()
    code = main(["train", name, "--data", "jsb", "--out", str(tmp_path / "other")])
    assert code == 2 and f"{name} trains on chorales, not 'jsb'" in capsys.readouterr().err


def test_a_damaged_pretrained_model_is_refused(tmp_path, monkeypatch):
    name = pretrained.available()[0]
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    card = json.loads((pretrained.DATA_DIR / "pretrained" / f"{name}.json").read_text())
    (tmp_path / f"{name}.json").write_text(json.dumps(card))
    data = (pretrained.DATA_DIR / "pretrained" / f"{name}.keras").read_bytes()
    (tmp_path / f"{name}.keras").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(DataError, match="does not match its card"):
        pretrained.load(name)
    with pytest.raises(DataError, match="no pretrained model 'nothing'"):
        pretrained.card("nothing")


@pytest.mark.parametrize("name", ["melody", "chorale", "chorale-made"])
def test_each_shipped_model_scores_what_its_card_says(name):
    card = pretrained.card(name)
    data = recipes.load_data(name, card["data"])
    assert card["data_sha256"] == sha256_of(sources.data_file(card["data"]))
    scores = recipes.evaluate(name, pretrained.load(name), data, "valid")
    assert scores["nll"] == pytest.approx(card["valid"]["nll"], abs=1e-3)


def test_the_shipped_generator_scores_what_its_card_says():
    from course_lib import gan, gan_monitor

    card = pretrained.card("gan")
    assert card["data_sha256"] == sha256_of(sources.data_file("chorales"))
    monitor = gan_monitor.GanMonitor(gan.load_excerpts("train"))
    scores = gan_monitor.score(pretrained.load("gan"), monitor)
    for name in gan_monitor.MAIN_METRICS:
        assert scores[name] == pytest.approx(card["generated"][name], abs=1e-3)


def test_generate_gan_and_clear_errors_for_bad_arguments(tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", "gan", "--bars", "4", "--seed", "3", "--out", str(out)]) == 0
    piece = read_midi(out / "gan-seed3.mid")
    assert piece.end == pytest.approx(16.0, abs=0.01) and sorted({n.voice for n in piece.notes}) == [0, 1, 2, 3]
    assert main(["generate", "melody", "--model", str(tmp_path / "missing.keras"), "--out", str(out)]) == 2
    assert main(["generate", "melody", "--primer", "9999", "--out", str(out)]) == 2
    assert "--primer must be" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["melody", "chorale", "satb"])
def test_generate_reads_the_validation_split_alone_as_training_would(name):
    """The primers ``generate`` loads (one split, in the card's vocabulary) are the training data's own."""
    card = pretrained.card(name)
    primers = recipes.recipe(name).primers(card)
    valid = recipes.load_data(name, card["data"]).valid
    assert len(primers) == len(valid) > 10
    for mine, theirs in zip(primers, valid, strict=True):
        if name == "satb":
            np.testing.assert_array_equal(mine.tokens, theirs.tokens)
            np.testing.assert_array_equal(mine.fermata, theirs.fermata)
        else:
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("name", ["chorale", "chorale-made"])
def test_each_frame_recipe_trains_with_its_own_optimiser_settings(name):
    from course_lib.models import lstm_made, pianoroll_lstm

    jsb = load_jsb()
    model = pianoroll_lstm(units=8) if name == "chorale" else lstm_made(units=8, hidden=16)
    recipes.fit(name, model, Splits(jsb.train[:2], jsb.valid[:2], []), epochs=1)
    settings = recipes.recipe(name).settings
    assert float(model.optimizer.learning_rate) == pytest.approx(settings["learning_rate"])
    assert model.optimizer.use_ema == ("averaging" in settings)


def test_a_caller_can_override_a_recipe_setting():
    from course_lib.models import pianoroll_lstm

    jsb = load_jsb()
    model = pianoroll_lstm(units=8)
    recipes.fit("chorale", model, Splits(jsb.train[:2], jsb.valid[:2], []), epochs=1, learning_rate=1e-3)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.optimizer.use_ema  # the other setting is still the recipe's


def test_an_unknown_model_names_the_ones_there_are():
    with pytest.raises(
        recipes.CourseError, match="unknown model 'tcn': choose from melody, chorale, chorale-made, gan, satb"
    ):
        recipes.recipe("tcn")


@pytest.mark.parametrize("name", ["melody", "chorale", "satb"])
def test_limit_cuts_every_split_to_its_first_pieces(name):
    whole, limited = recipes.load_data(name), recipes.load_data(name, limit=3)
    for split in ("train", "valid", "test"):
        assert len(getattr(limited, split)) == 3, split
        for mine, theirs in zip(getattr(limited, split), getattr(whole, split)[:3], strict=True):
            assert str(mine) == str(theirs), split
