"""What importing course_lib sets up before a notebook's first cell; and a test file for each of its modules."""

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import course_lib


def test_tensorflows_retracing_warning_is_dropped_and_its_other_warnings_are_not(caplog):
    logger = logging.getLogger("tensorflow")
    assert course_lib.drop_retracing_warning in logger.filters
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 410 calls to <function f> triggered tf.function retracing. Tracing is ...")
        logger.warning("something a student should see")
    assert [record.getMessage() for record in caplog.records] == ["something a student should see"]


def backend_chosen(environment: dict[str, str]) -> tuple[str, str]:
    """The Keras backend and JAX cache folder a fresh process gets after ``import course_lib``."""
    code = "import os, course_lib; print(os.environ['KERAS_BACKEND']); print(os.environ['JAX_COMPILATION_CACHE_DIR'])"
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR")}
    result = subprocess.run([sys.executable, "-c", code], env={**env, **environment}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    backend, cache = result.stdout.split()
    return backend, cache


def test_the_default_backend_is_the_first_installed_of_jax_tensorflow_torch(tmp_path):
    expected = next(b for b in course_lib.BACKENDS if importlib.util.find_spec(b))
    backend, cache = backend_chosen({"XDG_CACHE_HOME": str(tmp_path)})
    assert backend == expected
    assert cache == str(tmp_path / "course_lib" / "jax")  # the user's cache, not the working folder


def test_keras_backend_and_the_cache_folder_can_be_chosen(tmp_path):
    assert backend_chosen({"KERAS_BACKEND": "torch", "JAX_COMPILATION_CACHE_DIR": str(tmp_path)}) == (
        "torch",
        str(tmp_path),
    )


def test_jax_keeps_what_it_compiles_on_disk_for_the_next_process(tmp_path):
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    code = (
        "import course_lib, keras, numpy as np\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "model.compile('adam', 'mse')\n"
        "model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(KERAS_BACKEND="jax", XDG_CACHE_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "course_lib" / "jax").iterdir()), "nothing was cached"


def test_every_module_has_its_own_test_file():
    """A maintainer looks for tests/test_NAME.py first (the package itself: this file; ``__main__``: test_cli)."""
    package = Path(course_lib.__file__).parent
    tests = Path(__file__).parent
    modules = [path.stem for path in package.glob("*.py") if not path.stem.startswith("__")]
    assert len(modules) > 30
    assert [name for name in modules if not (tests / f"test_{name}.py").exists()] == []
