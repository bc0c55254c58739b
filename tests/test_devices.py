"""``--devices N``: data-parallel training on two virtual CPU devices equals a one-device run.

The Transformer-MADE under JAX (the default; its data parallelism is ``keras.distribution``'s, the same for
every model) and the LSTM-MADE under TensorFlow (``MirroredStrategy``, where the layers' own variables matter).

Each backend runs in a fresh process, because the CPU must be split before the backend starts.
Tolerances: under JAX the two runs compute the same sums in another order (1e-4); under
TensorFlow each replica also draws its own dropout masks, so the runs differ a little more (0.5%).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent

TWO_RUNS = """
import json
from course_lib.autodiff import split_cpu
split_cpu(2)  # before the backend starts
import keras
from course_lib.datasets import load_jsb
from course_lib.models import lstm_made
from course_lib.transformer import transformer_made
from course_lib.tools.devices import data_parallel
from course_lib.runs import train_frame_model
jsb = load_jsb()
builders = {  # one model per backend, to keep the suite short: JAX's data parallelism does not depend on the model
    "jax": {"transformer_made": lambda: transformer_made(width=16, heads=2, depth=1, feed_forward=32, hidden=32)},
    "tensorflow": {"lstm_made": lambda: lstm_made(units=32, hidden=32)},
}[keras.backend.backend()]
runs = {}
for count in (1, 2):
    with data_parallel(count, batch_size=8) as where:
        for name, build in builders.items():
            keras.utils.set_random_seed(0)
            model = build()
            settings = {"batch_size": 8, "learning_rate": 2e-3, "monitor": "val_nll", "patience": 50, "lr_patience": 4}
            history = train_frame_model(model, jsb.train[:8], jsb.valid[:4], epochs=2, **settings)  # one batch shape
            runs[f"{name} {count}"] = {"where": where, "loss": history["loss"], "val_nll": history["val_nll"]}
print("RUNS", json.dumps(runs))
"""


@pytest.mark.parametrize(("backend", "tolerance"), [("jax", 1e-4), ("tensorflow", 5e-3)])
def test_two_devices_train_what_one_does(backend, tolerance):
    if importlib.util.find_spec(backend) is None:
        if os.environ.get("COURSE_REQUIRE_BACKENDS") == "1":
            pytest.fail(f"{backend} is not installed (COURSE_REQUIRE_BACKENDS=1)")
        pytest.skip(f"{backend} is not installed: pip install -r requirements.txt")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["KERAS_BACKEND"] = backend
    result = subprocess.run(
        [sys.executable, "-c", TWO_RUNS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RUNS ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    runs = json.loads(lines[0][5:])
    names = ["transformer_made"] if backend == "jax" else ["lstm_made"]
    assert sorted(runs) == sorted(f"{name} {count}" for name in names for count in (1, 2))
    for name in names:
        one, two = runs[f"{name} 1"], runs[f"{name} 2"]
        assert one["where"] == "1 device" and two["where"].startswith("2 ")
        for key in ("loss", "val_nll"):
            assert two[key] == pytest.approx(one[key], rel=tolerance), (name, key)
        assert one["val_nll"][1] < one["val_nll"][0], name  # it learns


def test_devices_that_cannot_split_the_batch_are_one_line(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["train", "chorale", "--devices", "3", "--limit", "2", "--epochs", "1", "--out", out]) == 2
    assert "--devices 3 must divide the batch of 8 pieces" in capsys.readouterr().err
    assert main(["train", "gan", "--devices", "2", "--out", out]) == 2
    assert "gan trains on one device" in capsys.readouterr().err


def test_cpu_threads_are_limited_for_the_running_backend():
    code = (
        "import os, course_lib, keras\n"
        "from course_lib.autodiff import limit_cpu_threads\n"
        "limit_cpu_threads(1)\n"
        "backend = keras.backend.backend()\n"
        "if backend == 'jax':\n"
        "    import jax, numpy as np\n"
        "    print('intra_op_parallelism_threads=1' in os.environ['XLA_FLAGS'], float(jax.numpy.ones(3).sum()))\n"
        "elif backend == 'tensorflow':\n"
        "    import tensorflow as tf\n"
        "    print(tf.config.threading.get_intra_op_parallelism_threads() == 1, 3.0)\n"
        "else:\n"
        "    import torch\n"
        "    print(torch.get_num_threads() == 1, 3.0)\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "3.0"]
