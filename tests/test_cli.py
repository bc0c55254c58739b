"""Every command-line failure a user can cause prints one line and exits non-zero; --debug shows the traceback.

Most cases call ``main`` in-process (fast); one runs the real ``python -m course_lib`` to show
the whole output is a single line there too. Paths under a regular file stand in for folders
nobody can write to: CI runs as root, for whom permissions are no obstacle.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from course_lib import datasets, pretrained, recipes
from course_lib.__main__ import main


def run_main(args: list[str], capsys) -> tuple[int, list[str]]:
    """The exit code and the non-empty lines of stderr of one command."""
    try:
        code = main(args)
    except SystemExit as stop:  # argparse's own exit on a usage error
        code = stop.code
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, lines


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A real melody model with its card, and damaged copies of it, each with a card beside it."""
    folder = tmp_path_factory.mktemp("models")
    source = pretrained.PRETRAINED_DIR / "melody.keras"
    card = json.loads(source.with_suffix(".json").read_text())
    card.pop("model_sha256")  # so the loader, not the checksum, meets the damage
    damaged = {
        "text": b"this is a text file, renamed\n",
        "random": os.urandom(4096),
        "truncated": source.read_bytes()[:60_000],
    }
    for name, content in damaged.items():
        (folder / f"{name}.keras").write_bytes(content)
        (folder / f"{name}.json").write_text(json.dumps(card))
    shutil.copy(source, folder / "melody.keras")
    shutil.copy(source.with_suffix(".json"), folder / "melody.json")
    return folder


@pytest.mark.parametrize("name", ["text", "random", "truncated"])
def test_a_file_that_is_not_a_model_is_one_line(name, model_files, tmp_path, capsys):
    code, lines = run_main(
        ["generate", "melody", "--model", str(model_files / f"{name}.keras"), "--out", str(tmp_path)], capsys
    )
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("error: ") and "is not a Keras model file" in lines[0]


def test_a_model_of_another_kind_is_named(model_files, tmp_path, capsys):
    code, lines = run_main(
        ["generate", "chorale", "--model", str(model_files / "melody.keras"), "--out", str(tmp_path)], capsys
    )
    assert code == 2 and lines == [
        f"error: {model_files / 'melody.keras'} is a 'melody' model (says its card), not 'chorale': "
        f"run generate melody --model {model_files / 'melody.keras'}"
    ]


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["generate", "melody", "--temperature", "0"], "argument --temperature: must be above 0, not 0"),
        (["generate", "melody", "--bars", "-3"], "argument --bars: must be 1 or more, not -3"),
        (["generate", "melody", "--top-k", "0"], "argument --top-k: must be 1 or more, not 0"),
        (["generate", "melody", "--top-p", "1.5"], "argument --top-p: must be in (0, 1], not 1.5"),
        (["train", "melody", "--epochs", "0"], "argument --epochs: must be 1 or more, not 0"),
        (["train", "melody", "--minutes", "-1"], "argument --minutes: must be above 0, not -1"),
    ],
)
def test_out_of_range_options_are_one_line(args, complaint, capsys):
    code, lines = run_main(args, capsys)
    assert code == 2 and len(lines) == 1 and complaint in lines[0]


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["gan", "--temperature", "0.5"], "gan does not use --temperature: it takes --bars and --seed"),
        (["chorale", "--top-k", "5"], "chorale does not use --top-k: it takes --bars, --temperature, --primer and"),
        (["chorale-made", "--top-p", "0.9", "--top-k", "3"], "chorale-made does not use --top-k, --top-p:"),
        (["satb", "--bars", "4"], "satb does not use --bars: it takes --primer and --seed"),
        (["satb", "--temperature", "1"], "satb does not use --temperature"),
        (["gan", "--primer", "0"], "gan does not use --primer"),
    ],
)
def test_an_option_the_model_does_not_use_is_refused_in_one_line_before_any_work(args, complaint, tmp_path, capsys):
    out = tmp_path / "never-made"
    code, lines = run_main(["generate", *args, "--out", str(out)], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and complaint in lines[0]
    assert not out.exists()


def test_every_option_a_model_takes_is_one_it_uses():
    """The defaults fill what was not given; a given value wins; --seed is every model's."""
    assert recipes.generate_options("melody", {"top_k": 5, "bars": None}) == {
        **recipes.GENERATE_DEFAULTS,
        "top_k": 5,
    }
    assert recipes.generate_options("gan", {"bars": 4, "temperature": None})["bars"] == 4
    taken = {name: set(recipes.recipe(name).generate_options) for name in recipes.MODELS}
    assert set().union(*taken.values()) == set(recipes.GENERATE_DEFAULTS)
    assert taken["melody"] == set(recipes.GENERATE_DEFAULTS)


@pytest.mark.parametrize("command", [["train", "melody"], ["generate", "melody"], ["data", "build"]])
def test_an_unwritable_output_folder_fails_before_any_work(command, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / ("chorales.npz" if command[0] == "data" else "out")
    code, lines = run_main([*command, "--out", str(out)], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: cannot write to {blocker}")


def test_the_real_command_prints_one_line_and_debug_the_traceback(tmp_path):
    command = [sys.executable, "-m", "course_lib", "generate", "melody", "--out", str(tmp_path / "f" / "x")]
    (tmp_path / "f").write_text("a file")
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 2 and quiet.stdout == ""
    assert quiet.stderr.strip().splitlines() == [
        f"error: cannot write to {tmp_path / 'f' / 'x'} (Not a directory); pass --out with a folder you can write to"
    ]
    loud = subprocess.run([*command, "--debug"], capture_output=True, text=True, timeout=120)
    assert loud.returncode != 0 and "Traceback (most recent call last)" in loud.stderr


def copy_data(tmp_path, monkeypatch):
    """The bundled data files and pretrained models, copied where a test may break them."""
    data = tmp_path / "data"
    shutil.copytree(datasets.DATA_DIR, data, ignore=shutil.ignore_patterns("midi"))
    monkeypatch.setattr(datasets, "CHORALES_FILE", data / "chorales.npz")
    monkeypatch.setattr(datasets, "CHORALES_CARD", data / "chorales.json")
    monkeypatch.setattr(datasets, "JSB_FILE", data / "jsb" / "jsb_chorales.npz")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", data / "pretrained")
    return data


def test_data_verify_lists_every_problem_with_the_command_that_fixes_it(tmp_path, monkeypatch, capsys):
    data = copy_data(tmp_path, monkeypatch)
    assert run_main(["data", "verify"], capsys) == (0, [])
    (data / "chorales.json").unlink()  # a missing card must not pass
    (data / "jsb" / "jsb_chorales.npz").unlink()
    model = data / "pretrained" / "melody.keras"
    model.write_bytes(model.read_bytes()[:-1])
    code, lines = run_main(["data", "verify"], capsys)
    assert code == 1 and len(lines) == 3, lines
    assert "chorales.json (the checksum card of chorales.npz) is missing" in lines[0]
    assert "jsb_chorales.npz is missing; rebuild it with: python -m course_lib data jsb" in lines[1]
    assert (
        "melody.keras does not match its card; restore it with git, or retrain: python -m course_lib train" in lines[2]
    )


def test_loading_without_a_checksum_card_fails(tmp_path, monkeypatch):
    data = copy_data(tmp_path, monkeypatch)
    (data / "chorales.json").unlink()
    with pytest.raises(datasets.DataError, match="checksum card of chorales.npz"):
        datasets.load_chorale_list(data / "chorales.npz")


def test_same_command_same_first_epoch_and_resume_refuses_other_settings(tiny_models, tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert main(["train", "melody", "--limit", "3", "--epochs", "1", "--seed", "5", "--out", str(out)]) == 0
    cards = [json.loads((out / "melody" / "melody.json").read_text()) for out in (first, second)]
    assert cards[0]["valid"] == cards[1]["valid"] and cards[0]["seed"] == 5
    capsys.readouterr()
    code, lines = run_main(
        ["train", "melody", "--limit", "3", "--epochs", "1", "--seed", "6", "--out", str(first)], capsys
    )
    assert code == 2 and len(lines) == 1 and "seed 5 there, 6 now" in lines[0], lines
    code, lines = run_main(
        ["train", "melody", "--data", "jsb", "--limit", "3", "--seed", "5", "--out", str(first)], capsys
    )
    assert code == 2 and len(lines) == 1 and "data 'chorales' there, 'jsb' now" in lines[0], lines


def test_training_into_another_models_checkpoint_is_one_line(tiny_models, tmp_path, capsys):
    assert main(["train", "melody", "--limit", "3", "--epochs", "1", "--out", str(tmp_path / "a")]) == 0
    shutil.copytree(tmp_path / "a" / "melody" / "checkpoint", tmp_path / "b" / "chorale" / "checkpoint")
    capsys.readouterr()
    code, lines = run_main(["train", "chorale", "--limit", "3", "--out", str(tmp_path / "b")], capsys)
    assert code == 2 and len(lines) == 1 and "model 'melody' there, 'chorale' now" in lines[0], lines


NO_BACKEND = """
import sys
from course_lib.tools.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED", [m for m in ("keras", "jax", "tensorflow", "torch") if m in sys.modules])
"""


@pytest.mark.parametrize("command", [["--help"], ["data", "verify"], ["data", "import", "--help"], ["train", "--help"]])
def test_help_and_data_verify_load_no_keras_backend(command):
    result = subprocess.run([sys.executable, "-c", NO_BACKEND, *command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED []"
