"""``python -m course_lib train NAME --devices N``: data-parallel training on N devices.

Each batch is split across the devices, every device holds a copy of the weights, and the
gradients are added up before each step, so the run computes what a one-device run does.
Under JAX this is ``keras.distribution.DataParallel``; under TensorFlow a
``tf.distribute.MirroredStrategy``. Where there are fewer accelerators than asked for, the CPU
is split into N virtual devices (how CI tests this on a laptop-sized machine); that shows the
code is right, not that it is faster.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import keras

from course_lib.errors import CourseError


def split_cpu(count: int) -> None:
    """Ask the backend for ``count`` CPU devices; call it before the backend starts (first thing in the CLI).

    JAX reads ``XLA_FLAGS`` when it starts; TensorFlow is told through ``tf.config`` before its
    first operation. With accelerators present nothing is split.
    """
    if count < 2:
        return
    backend = keras.backend.backend()
    if backend == "jax" and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={count}"
    elif backend == "tensorflow":
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            cpu = tf.config.list_physical_devices("CPU")[0]
            try:
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
            except RuntimeError:  # TensorFlow has started already: data_parallel says how many devices it sees
                pass


def limit_cpu_threads(threads: int) -> None:
    """Let the backend compute on at most ``threads`` CPU threads; call it before the backend starts.

    The bench scripts use it so that two runs share a 2-core machine a core each. JAX reads
    ``XLA_FLAGS`` when it starts; TensorFlow and PyTorch are told through their own settings.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        flags = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    else:
        import torch

        torch.set_num_threads(threads)


def check_divides(count: int, batch_size: int) -> None:
    """Refuse a device count that cannot share a batch equally."""
    if batch_size % count:
        raise CourseError(f"--devices {count} must divide the batch of {batch_size} pieces")


@contextlib.contextmanager
def data_parallel(count: int, batch_size: int) -> Iterator[str]:
    """Build, compile and train inside this block to use ``count`` devices; yields what they are.

    Used by the command line's ``--devices``.
    """
    if count == 1:
        yield "1 device"
        return
    check_divides(count, batch_size)
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = jax.devices()
        if len(devices) < count:
            raise CourseError(f"--devices {count}: JAX sees {len(devices)} device(s) here")
        chosen = devices[:count]
        with keras.distribution.DataParallel(devices=chosen).scope():
            yield f"{count} JAX devices ({chosen[0].platform})"
    elif backend == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        if len(devices) < count:
            raise CourseError(f"--devices {count}: TensorFlow sees {len(devices)} device(s) here")
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices[:count]])
        with strategy.scope():
            yield f"{count} TensorFlow devices ({devices[0].device_type})"
    else:
        raise CourseError(f"--devices needs the JAX or TensorFlow backend; this one is {backend}")
