"""The recipe table (course_lib.recipes): five models, their settings, the train and generate commands,
and the shipped models against their cards."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

import keras
import nbformat
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


@pytest.mark.parametrize("name", ["melody", "melody-transformer", "chorale", "chorale-made", "chorale-transformer"])
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
        recipes.CourseError,
        match="unknown model 'tcn': choose from melody, melody-transformer, chorale, chorale-made, "
        "chorale-transformer, gan, satb",
    ):
        recipes.recipe("tcn")


@pytest.mark.parametrize("name", ["melody", "chorale", "satb"])
def test_limit_cuts_every_split_to_its_first_pieces(name):
    whole, limited = recipes.load_data(name), recipes.load_data(name, limit=3)
    for split in ("train", "valid", "test"):
        assert len(getattr(limited, split)) == 3, split
        for mine, theirs in zip(getattr(limited, split), getattr(whole, split)[:3], strict=True):
            assert str(mine) == str(theirs), split


def test_every_row_of_the_table_gives_every_field_by_name():
    tree = ast.parse(Path(recipes.__file__).read_text())
    table = next(n for n in tree.body if isinstance(n, ast.AnnAssign) and ast.unparse(n.target) == "RECIPES")
    rows = [n for n in ast.walk(table) if isinstance(n, ast.Call) and ast.unparse(n.func).endswith("Recipe")]
    assert len(rows) == len(recipes.MODELS)
    for row in rows:
        assert row.args == [], ast.unparse(row)
        assert {"name", "builder", "default_source", "epochs", "settings"} <= {k.arg for k in row.keywords}


def test_a_model_without_an_operation_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(recipes.GanRecipe, "generate", None)
    monkeypatch.setattr(recipes.GanRecipe, "lacks", {**recipes.GanRecipe.lacks, "generate": "a probe, for this test"})
    assert main(["generate", "gan", "--out", str(tmp_path / "gen")]) == 2
    assert capsys.readouterr().err == "error: gan has no generate: a probe, for this test\n"
    assert not (tmp_path / "gen").exists()  # refused before loading or writing anything
    with pytest.raises(recipes.CourseError, match="^gan has no to_piece: its generate writes"):
        recipes.to_piece("gan", np.zeros((2, 4)), {})
    with pytest.raises(recipes.CourseError, match="^satb has no to_piece"):
        recipes.to_piece("satb", np.zeros((2, 4)), {})
    with pytest.raises(recipes.CourseError, match="^gan has no evaluate: a GAN has no likelihood"):
        recipes.evaluate("gan", None, Splits([], [], []))


def notebook_06_runs() -> dict[str, tuple[dict, dict, int]]:
    """What notebook 06 trains each frame model with: ``{builder: (size, settings, epochs)}``, read from its code."""
    path = Path(recipes.__file__).parents[1] / "solutions" / "06_lstm_chorales.ipynb"
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    tree = ast.parse("\n".join(line for line in "\n".join(cells).splitlines() if not line.lstrip().startswith("%")))
    train_now = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "train_now")
    named = train_now.args.args[-len(train_now.args.defaults) :]
    shared = {a.arg: ast.literal_eval(d) for a, d in zip(named, train_now.args.defaults, strict=True)}
    for call in (n for n in ast.walk(train_now) if isinstance(n, ast.Call)):
        keywords = {k.arg: k.value for k in call.keywords}
        called = ast.unparse(call.func)
        if called == "FrameBatches" and "seed" in keywords:  # the training batches
            shared["batch_size"] = ast.literal_eval(keywords["batch_size"])
        elif called.endswith("ReduceLROnPlateau"):
            shared["lr_patience"] = ast.literal_eval(keywords["patience"])
            shared["monitor"] = ast.literal_eval(call.args[0])
        elif called == "model.fit":
            epochs = ast.literal_eval(keywords["epochs"].orelse)  # 1 if QUICK else EPOCHS
    found = {}
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "train_now"):
        builder = call.args[0]
        size = {k.arg: ast.literal_eval(k.value) for k in builder.keywords}
        settings = {**shared, **{k.arg: ast.literal_eval(k.value) for k in call.keywords}}
        found[ast.unparse(builder.func)] = (size, {k: v for k, v in settings.items() if v is not None}, epochs)
    return found


def test_notebook_06_trains_with_the_tables_settings():
    """Notebook 06 writes its two models' settings out for students to read; they are the table's."""
    trained = notebook_06_runs()
    assert set(trained) == {"pianoroll_lstm", "lstm_made"}
    for builder, name in (("pianoroll_lstm", "chorale"), ("lstm_made", "chorale-made")):
        chosen = recipes.recipe(name)
        assert trained[builder] == (chosen.size, chosen.settings, chosen.epochs), name


@pytest.mark.parametrize("name", ["chorale", "chorale-made", "chorale-transformer"])
def test_the_jsb_models_write_music_at_the_pitch_bach_wrote(name):
    """The JSB split is written an octave above sounding pitch: its models' music is heard and engraved an
    octave down, as four voices where the roll allows (median MIDI 62 in Bach's JSB test pieces, 74 as written;
    the generated median is over three pieces of 8 bars)."""
    from course_lib.datasets import load_jsb_split

    model, card = pretrained.load(name), pretrained.card(name)
    generate = recipes.operation(name, "generate")
    pieces = [
        generate(model, card, {**recipes.generate_options(name, {"bars": 8}), "seed": seed}).piece for seed in range(3)
    ]
    bach = [n.pitch for roll in load_jsb_split("test") for n in recipes.to_piece(name, roll, card).notes]
    assert np.median(bach) == 62
    assert abs(np.median([n.pitch for piece in pieces for n in piece.notes]) - 62) <= 4  # one piece may wander (55)
    assert recipes.to_piece(name, load_jsb_split("test")[0], card).voices() == [0, 1, 2, 3]  # soprano to bass
