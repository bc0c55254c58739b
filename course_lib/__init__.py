"""course_lib: the helper library of the course "Making music with neural networks".

Modules, in the order the notebooks meet them: ``notes`` (the note type), ``audio`` (with the
optional ``soundfont`` renderer), ``plot``, ``widgets`` (player, sampler, quiz, latent explorer),
``midi``, ``pianoroll``, ``tokens``, ``datasets``, ``tune_matching`` (which chorales share a hymn tune),
``files`` (atomic writes), ``rnn_numpy``,
``autodiff`` (each backend's gradients), ``models``, ``training``, ``sampling``, ``melodies``,
``sources``, ``recipes`` (every trainable model as one table, its kinds in ``recipe_kinds`` and
its shared settings in ``settings``), ``runs`` and ``checkpoints`` (resumable training runs),
``outputs`` (the files a generated piece is written as), ``pretrained``, ``metrics``,
``gan``, ``gan_monitor``, ``evaluation``, ``voices``, ``voice_leading``, ``phrase_keys`` (the key of
each phrase, and its cadences), ``voice_intervals``,
``score`` (engraved scores: MusicXML and SVG), ``notation`` (how a score's notes are written),
``satb_model`` and ``harmonising`` (four voices), ``midi_import`` (a folder of your own MIDI
files as a dataset) and ``exercises`` (the fallback that keeps a notebook with exercises
running). Two subpackages: ``checks`` (the exercise checks, one module per notebook) and
``tools`` (instructor tooling: the command line, the train command's model cards and devices,
the data builders, the notebook builder and runner, grading, the kernel watch, the demo MIDI
folder). No other module imports ``tools`` (tests/test_import_graph.py).

The Keras backend is JAX where it is installed, else TensorFlow, else PyTorch, unless
``KERAS_BACKEND`` says otherwise: JAX compiles the whole training step, LSTM included, with XLA,
and trains the course's models fastest on a laptop CPU (README, "Backends, GPUs and devices";
``bench/backends.py``). JAX keeps what it compiles in a cache on disk (see :func:`jax_cache_dir`),
so a notebook run a second time starts training at once.

Importing it first in a notebook also keeps TensorFlow's C++ log lines out of cell
output (they must be silenced before TensorFlow is imported), and its warning about functions
traced again (see ``drop_retracing_warning``).
"""

import importlib.util
import logging
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
BACKENDS = ("jax", "tensorflow", "torch")  # the order of preference: fastest first (bench/backends.py)
if "KERAS_BACKEND" not in os.environ:  # Keras's own default is TensorFlow
    for _module in BACKENDS:
        if importlib.util.find_spec(_module):
            os.environ["KERAS_BACKEND"] = _module
            break


def jax_cache_dir() -> Path:
    """Where JAX keeps compiled code between runs: ``$XDG_CACHE_HOME/course_lib/jax`` (``~/.cache/...``).

    JAX compiles a training step once per batch shape (a few seconds each); with the cache, a later
    process with the same model and shapes loads it instead. ``JAX_COMPILATION_CACHE_DIR`` chooses
    another folder.
    """
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "course_lib" / "jax"


# JAX reads these when it is imported: cache every compiled function, however quick its compile.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(jax_cache_dir()))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

__version__ = "0.1.0"


def drop_retracing_warning(record: logging.LogRecord) -> bool:
    """False for TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warning.

    The course compiles each model once per batch shape, a handful of bucket lengths, by design;
    in a notebook that warning says nothing a student can act on. Every other message still shows.
    """
    return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(drop_retracing_warning)  # TensorFlow's Python logger


def quick_mode() -> bool:
    """True when ``COURSE_QUICK=1`` (the test suite sets it): notebooks shrink data and epochs."""
    return os.environ.get("COURSE_QUICK", "") == "1"
