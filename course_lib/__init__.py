"""course_lib: the helper library of the course "Making music with neural networks".

Modules, in the order the notebooks meet them: ``notes`` (the note type), ``audio`` (with the
optional ``soundfont`` renderer), ``plot``, ``widgets`` (player, sampler, quiz, latent explorer),
``midi``, ``pianoroll``, ``tokens``, ``datasets``, ``rnn_numpy``, ``models``, ``training``,
``sampling``, ``recipes`` (every trainable model as one table), ``pretrained``, ``metrics``,
``gan``, ``gan_monitor``, ``gan_recipe``, ``evaluation``, ``voices``, ``voice_leading``,
``satb_model`` and ``satb_recipe`` (four voices), ``midi_import`` (a folder of your own MIDI
files as a dataset) and ``exercises`` (the fallback that keeps a notebook with exercises
running). Two subpackages: ``checks`` (the exercise checks, one module per notebook) and
``tools`` (instructor tooling: the command line, model cards, the data builders, the notebook
builder and runner, nbgrader metadata, the demo MIDI folder). Of the student-facing modules,
only the three recipe modules' ``train`` functions reach into ``tools`` (to write the card).

The Keras backend is TensorFlow where it is installed (the course is tested with it), else JAX,
else PyTorch, unless ``KERAS_BACKEND`` says otherwise.

Importing it first in a notebook also keeps TensorFlow's C++ log lines out of cell
output (they must be silenced before TensorFlow is imported), and its warning about functions
traced again (see ``drop_retracing_warning``).
"""

import importlib.util
import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
if "KERAS_BACKEND" not in os.environ:  # Keras's default is TensorFlow: use another one where TF is absent
    for _module in ("tensorflow", "jax", "torch"):
        if importlib.util.find_spec(_module):
            os.environ["KERAS_BACKEND"] = _module
            break

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
