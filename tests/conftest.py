"""Test-suite settings: notebooks run in quick mode, quietly; the backend matrix's runner."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Set before any kernel starts: nbval's kernels inherit this environment.
os.environ["COURSE_QUICK"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parent.parent
# JAX's compiled code is cached in the checkout's git-ignored output/ folder, not the user's cache:
# every process of one test run (xdist workers, notebook kernels, the CLI) shares it, and a clean clone
# starts empty, as CI does, so the suite's time does not depend on what ran on the machine before.
os.environ["JAX_COMPILATION_CACHE_DIR"] = str(ROOT / "output" / "jax-cache")
# Tests run small shapes in quick mode, where compiling costs more than running: XLA's backend optimisations
# off (level 0) made tests/test_runs.py and notebook 09 take 136 s instead of 184 s from an empty cache on
# 2 cores (2026-12-07). Set before any kernel starts, so that every process of the run shares one cache key
# (XLA_FLAGS are part of it). Only the suite sets it: a student's notebooks compile as usual.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()

# The course picks the Keras backend (JAX where installed) when it is imported before Keras. A test module
# that imports Keras first would otherwise get Keras's own default (TensorFlow), so the backend of a run
# would depend on which module a worker happened to import first.
import course_lib  # noqa: E402, F401

# The backend matrix (tests/test_backend_tensorflow.py, tests/test_backend_torch.py) runs these files
# again under another Keras backend; under JAX, the default, they run in the suite itself. The choice keeps the
# matrix within about 5 minutes on 2 cores (timings: README, "Backends and Python versions").
BACKEND_MATRIX_FILES = (
    "tests/test_models.py",
    "tests/test_sampling.py",
    "tests/test_training.py",
    "tests/test_gan.py",
    "tests/test_transformer.py",
    "tests/test_transformer_sampling.py",
)

# The files that take longest, longest first (seconds in one run of the whole suite on 2 cores, from
# `pytest --junitxml`). pytest-xdist hands out whole files (--dist loadfile) in collection order
# (--no-loadscope-reorder): starting the long ones first keeps a worker from being left with one at the end.
LONGEST_FIRST = (  # seconds per file in a run of the whole suite on 2 cores under JAX, 2026-12-06
    "tests/test_nbgrader.py",  # ~210 s: nbgrader releases every notebook, autogrades two solved and all wrong
    "tests/test_backend_tensorflow.py",  # 40 s
    "tests/test_runs.py",  # ~70 s: five models resume exactly
    "tests/test_backend_torch.py",  # 55 s
    "tests/test_recipes.py",
    "tests/test_devices.py",
    "tests/test_midi_import.py",
    "solutions/09_four_voices.ipynb",
    "solutions/07_gan_pianoroll.ipynb",
    "solutions/06_lstm_chorales.ipynb",
    "tests/test_satb_model.py",
    "tests/test_cli.py",
    "tests/test_browser.py",
    "tests/test_score.py",  # ~20 s
)


def pytest_configure(config):
    """The main process (not an xdist worker) names this run's log of nbgrader tries; workers inherit it."""
    if not hasattr(config, "workerinput"):
        os.environ["COURSE_NBGRADER_TRIES_LOG"] = str(ROOT / "output" / f"nbgrader-tries-{os.getpid()}.log")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Prints how many tries each nbgrader command of the run needed; one is the norm.

    README, "When a notebook run stalls".
    """
    log = Path(os.environ.get("COURSE_NBGRADER_TRIES_LOG", "-"))
    if not hasattr(config, "workerinput") and log.is_file():  # xdist workers run this hook too, unseen
        terminalreporter.section("nbgrader tries")
        for line in log.read_text().splitlines():
            terminalreporter.write_line(line)
        log.unlink()


def pytest_collection_modifyitems(config, items):
    """Puts the files of LONGEST_FIRST first, in that order; the others follow, and each file's tests keep theirs."""
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


TINY = {  # each recipe's model at a size that trains in seconds: what the command-line and run tests train
    "melody": {"embedding": 4, "units": 8},
    "melody-transformer": {"width": 8, "heads": 2, "depth": 1, "feed_forward": 16},
    "chorale": {"units": 8, "deep": 8},
    "chorale-made": {"units": 8, "hidden": 16},
    "chorale-transformer": {"width": 8, "heads": 2, "depth": 1, "feed_forward": 16, "hidden": 16},
    "gan": {"latent": 8, "width": 8},
    "satb": {"units": 8, "embedding": 4, "head": 8},
}


@pytest.fixture
def tiny_models(monkeypatch):
    """Every recipe of the table builds its model at the sizes of TINY (the recipes' other settings unchanged)."""
    from course_lib import recipes

    for name, size in TINY.items():
        monkeypatch.setattr(recipes.RECIPES[name], "size", {**recipes.RECIPES[name].size, **size})
    monkeypatch.setattr(recipes.RECIPES["gan"], "settings", {**recipes.RECIPES["gan"].settings, "steps_per_epoch": 10})
    return TINY


@pytest.fixture(scope="module")
def tiny_harmoniser():
    """A four-voice harmoniser (TINY's sizes), untrained, with nonzero interval weights to check."""
    import keras
    import numpy as np

    from course_lib import satb_model

    keras.utils.set_random_seed(1)
    model = satb_model.satb_harmoniser(**TINY["satb"])
    rng = np.random.default_rng(1)
    for voice in satb_model.LOWER_VOICES:  # the interval weights start at zero: give them values to check
        layer = model.get_layer(f"{voice}_intervals")
        layer.set_weights([rng.normal(0, 0.3, size=w.shape).astype("float32") for w in layer.get_weights()])
    return model


@pytest.fixture
def run_under_backend(tmp_path):
    """Runs BACKEND_MATRIX_FILES with pytest in a fresh process under KERAS_BACKEND=backend.

    Skips when the backend is not installed, unless COURSE_REQUIRE_BACKENDS=1 (CI sets it);
    fails with the run's last lines when any test there fails or none ran."""

    def run(backend: str, files=BACKEND_MATRIX_FILES) -> str:
        if importlib.util.find_spec(backend) is None:
            source = "requirements-instructor.txt" if backend == "torch" else "requirements.txt"
            message = f"{backend} is not installed: pip install -r {source}"
            if os.environ.get("COURSE_REQUIRE_BACKENDS") == "1":
                pytest.fail(message + " (COURSE_REQUIRE_BACKENDS=1)")
            pytest.skip(message)
        # The inner run is a pytest of its own: not an xdist worker, its own temporary folder.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
        env["KERAS_BACKEND"] = backend
        # One compute thread: the suite's two workers already keep both cores busy, and PyTorch's and
        # TensorFlow's thread pools waiting on each other made the matrix slower (torch and TensorFlow side by
        # side on 2 cores: 36 s and 78 s with their own pools, 27 s and 74 s with one thread, 2026-12-07).
        env |= {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
        command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts="]
        command += ["-q", "--basetemp", str(tmp_path / "inner"), *files]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        output = result.stdout + result.stderr
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        passed = re.search(r"(\d+) passed", summary)
        if result.returncode != 0 or not passed or "failed" in summary or "error" in summary:
            pytest.fail(
                f"KERAS_BACKEND={backend} pytest {' '.join(files)}: exit code {result.returncode}; "
                f"its last lines:\n{output[-4000:]}",
                pytrace=False,
            )
        return summary

    return run
