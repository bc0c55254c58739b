"""Files written whole or not at all: every atomic write in the course goes through :func:`atomic_path`.

A file is written under a temporary name beginning ``partial-`` in its own folder, then renamed
over the target (a rename within a folder is atomic). A crash leaves at most a ``partial-`` file,
which :func:`remove_partial_files` clears. No Keras here: the command line's ``data`` commands
and the MIDI import use it too.

Used by ``python -m course_lib`` (train, data import) and :mod:`course_lib.checkpoints`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from course_lib.errors import CourseError

PARTIAL_PREFIX = "partial-"  # the temporary name of a file being written; removed when a run next opens the folder


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on leaving the block it replaces ``path``.

    If the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix="".join(path.suffixes), dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; these are ordinary files
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write a text file whole or not at all."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def copy_atomically(source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to ``target`` whole or not at all; returns ``target``."""
    with atomic_path(target) as temporary:
        shutil.copyfile(source, temporary)
    return Path(target)


def remove_partial_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files an interrupted atomic write left in ``folder``; return them."""
    leftovers = list(Path(folder).glob(f"{PARTIAL_PREFIX}*"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def check_writable(folder: str | Path) -> Path:
    """Create ``folder`` and write a scratch file in it, so a long job fails at once, not at its end."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CourseError(f"cannot write to {folder}: it is a file, not a folder; pass --out with a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CourseError(
            f"cannot write to {folder} ({error.strerror or error}); pass --out with a folder you can write to"
        ) from error
    return folder
