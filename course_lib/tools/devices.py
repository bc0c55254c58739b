"""``python -m course_lib train NAME --devices N``: data-parallel training on N devices.

Each batch is split across the devices, every device holds a copy of the weights, and the
gradients are added up before each step, so the run computes what a one-device run does.
Under JAX this is ``keras.distribution.DataParallel``; under TensorFlow a
``tf.distribute.MirroredStrategy``. Where there are fewer accelerators than asked for, the CPU
is split into N virtual devices (how CI tests this on a laptop-sized machine); that shows the
code is right, not that it is faster. The backend's part is :func:`course_lib.autodiff.device_scope`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from course_lib import autodiff
from course_lib.errors import CourseError


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
    with autodiff.device_scope(count) as devices:
        yield devices
