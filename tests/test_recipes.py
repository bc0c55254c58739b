"""Training recipes, resumable checkpoints, the tune split, the train/generate CLI and the shipped models."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from course_lib import pretrained, recipes
from course_lib.__main__ import main
from course_lib.datasets import DataError, load_chorale_list, sha256_of, split_by_tune, tune_of
from course_lib.midi import read_midi
from course_lib.models import melody_lstm
from course_lib.notes import Note, Piece
from course_lib.tokens import HOLD, REST, MelodyVocabulary
from course_lib.training import Checkpoints, save_atomically, train_token_model


def test_split_by_tune_keeps_every_harmonisation_of_a_tune_together():
    chorales = load_chorale_list()
    splits = split_by_tune(chorales)
    assert sum(len(part) for part in splits) == len(chorales)
    tunes = [{tune_of(c) for c in part} for part in splits]
    assert not tunes[0] & tunes[1] and not tunes[0] & tunes[2] and not tunes[1] & tunes[2]
    shared = [tune for tune in {tune_of(c) for c in chorales} if sum(tune_of(c) == tune for c in chorales) > 1]
    assert len(shared) > 50  # the data really repeats tunes, so a split by piece would leak them


def test_split_by_tune_on_a_lopsided_collection():
    def piece(first_pitch: int) -> Piece:
        return Piece([Note(i, i + 1, first_pitch + i % 3, voice=0) for i in range(12)])

    pieces = [piece(60)] * 7 + [piece(62 + i) for i in range(3)]  # one tune harmonised 7 times, 3 others
    splits = split_by_tune(pieces, (0.5, 0.25, 0.25), seed=1)
    homes = [i for i, part in enumerate(splits) if any(tune_of(p) == tune_of(piece(60)) for p in part)]
    assert len(homes) == 1 and sum(len(part) for part in splits) == 10


def test_top_line_tokens_take_the_highest_key_and_hold_repeats():
    vocabulary = MelodyVocabulary(60, 72)
    roll = np.zeros((5, 88), dtype=bool)
    roll[0, [60 - 21, 64 - 21]] = True  # chord: the top note E4 counts
    roll[1, 64 - 21] = True  # the same key again: a hold
    roll[3, 67 - 21] = True  # after a silent frame: G4
    tokens = recipes.top_line_tokens(roll, vocabulary).tolist()
    assert tokens == [vocabulary.token(64), HOLD, REST, vocabulary.token(67), REST]


def tiny_melody_run(epochs, checkpoints=None):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 6, size=(40, 9)).astype("int32")
    valid = rng.integers(0, 6, size=(8, 9)).astype("int32")
    model = melody_lstm(6, embedding=4, units=8, dropout=0.5)
    history = train_token_model(model, train, valid, epochs, batch_size=8, checkpoints=checkpoints, patience=50)
    return model, history


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    whole, whole_history = tiny_melody_run(4)
    checkpoints = Checkpoints(tmp_path / "run")
    tiny_melody_run(2, checkpoints)  # "interrupted" after 2 epochs
    assert len(checkpoints.latest()["history"]["loss"]) == 2
    resumed, resumed_history = tiny_melody_run(4, checkpoints)
    np.testing.assert_allclose(resumed_history["val_nll"], whole_history["val_nll"], rtol=1e-4)
    for a, b in zip(resumed.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    names = sorted(p.name for p in checkpoints.folder.iterdir())
    assert names[0] == "backup" and names[-1] == "state.json" and all(n.startswith("best-") for n in names[1:-1])
    assert sorted(checkpoints.read()) == ["3", "4"]  # the states after the last two epochs


def test_a_finished_model_is_saved_without_its_optimizer(tmp_path):
    model, _ = tiny_melody_run(1)
    with_optimizer = save_atomically(model, tmp_path / "a.keras")
    bare = save_atomically(model, tmp_path / "b.keras", include_optimizer=False)
    assert bare.stat().st_size < with_optimizer.stat().st_size
    for a, b in zip(keras.models.load_model(bare).get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_then_generate_from_the_command_line(tmp_path, capsys):
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
    assert "epoch   1" in capsys.readouterr().out


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


@pytest.mark.parametrize("name", recipes.MODELS)
def test_each_shipped_model_scores_what_its_card_says(name):
    card = pretrained.card(name)
    data = recipes.load_data(name, card["data"])
    assert card["data_sha256"] == sha256_of(recipes.data_file(card["data"]))
    scores = recipes.evaluate(name, pretrained.load(name), data, "valid")
    assert scores["nll"] == pytest.approx(card["valid"]["nll"], abs=1e-3)


def test_the_shipped_generator_scores_what_its_card_says():
    from course_lib import gan, gan_monitor, gan_recipe

    card = pretrained.card("gan")
    assert card["data_sha256"] == sha256_of(recipes.data_file("chorales"))
    monitor = gan_monitor.GanMonitor(gan.load_excerpts("train"))
    scores = gan_recipe.score(pretrained.load("gan"), monitor)
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


def test_resuming_into_a_different_model_says_so(tmp_path):
    checkpoints = Checkpoints(tmp_path / "run")
    tiny_melody_run(1, checkpoints)
    other = melody_lstm(6, embedding=4, units=12)
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 6, size=(8, 9)).astype("int32")
    with pytest.raises(ValueError, match="checkpoint of a different model"):
        train_token_model(other, windows, windows, 2, checkpoints=checkpoints)


@pytest.mark.parametrize("name", ["chorale", "chorale-made"])
def test_each_frame_recipe_trains_with_its_own_optimiser_settings(name):
    from course_lib.datasets import Splits, load_jsb
    from course_lib.models import lstm_made, pianoroll_lstm

    jsb = load_jsb()
    model = pianoroll_lstm(units=8) if name == "chorale" else lstm_made(units=8, hidden=16)
    recipes.fit(name, model, Splits(jsb.train[:2], jsb.valid[:2], []), epochs=1)
    settings = recipes.FRAME_SETTINGS[name]
    assert float(model.optimizer.learning_rate) == pytest.approx(settings["learning_rate"])
    assert model.optimizer.use_ema == ("averaging" in settings)


def test_a_caller_can_override_a_recipe_setting():
    from course_lib.datasets import Splits, load_jsb
    from course_lib.models import pianoroll_lstm

    jsb = load_jsb()
    model = pianoroll_lstm(units=8)
    recipes.fit("chorale", model, Splits(jsb.train[:2], jsb.valid[:2], []), epochs=1, learning_rate=1e-3)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.optimizer.use_ema  # the other setting is still the recipe's


def tiny_averaged_run(epochs, checkpoints=None):
    from course_lib.datasets import load_jsb
    from course_lib.models import pianoroll_lstm
    from course_lib.training import train_frame_model

    jsb = load_jsb()
    keras.utils.set_random_seed(0)
    model = pianoroll_lstm(units=8, deep=8)
    history = train_frame_model(
        model, jsb.train[:4], jsb.valid[:2], epochs, averaging=0.9, checkpoints=checkpoints, patience=50
    )
    return model, history


def test_a_resumed_averaged_run_ends_where_an_uninterrupted_one_does(tmp_path):
    whole, whole_history = tiny_averaged_run(4)
    checkpoints = Checkpoints(tmp_path / "run")
    tiny_averaged_run(2, checkpoints)  # "interrupted" after 2 epochs: it must resume from the training weights
    resumed, resumed_history = tiny_averaged_run(4, checkpoints)
    np.testing.assert_allclose(resumed_history["val_nll"], whole_history["val_nll"], rtol=1e-4)
    for a, b in zip(resumed.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_every_recipe_can_be_shipped():
    assert set(recipes.MODELS) <= set(pretrained.SHIPPED)
