"""Model cards, written in one place: what every trained model's ``NAME.json`` says.

A card holds the command that made the model, the data it learned from and their checksum, the
recipe's own scores, the Keras version, backend and code commit that trained it, and the model
file's size and checksum (which
:func:`course_lib.pretrained.load` verifies). ``train`` for every model writes its card here.
"""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import keras

from course_lib import autodiff
from course_lib.datasets import DATA_DIR, sha256_of
from course_lib.files import write_text_atomically

CODE_DIR = Path(__file__).resolve().parent.parent  # the course_lib package: the code that trains


def code_commit(folder: Path = CODE_DIR) -> str | None:
    """The git commit, with ``+changes`` when a file under ``folder`` (the course's code) differs from it; else None."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + ("+changes" if changed.stdout.strip() else "")


def write_card(model: keras.Model, path: Path, name: str, command: str, data: str, data_file: Path, **fields) -> dict:
    """Write ``path.with_suffix('.json')`` for the model saved at ``path``; return the card.

    ``data`` names the data source and ``data_file`` the file whose checksum identifies it (a
    bundled file, or an imported dataset's manifest); ``fields`` are the recipe's own entries.
    """
    card = {
        "name": name,
        "command": command,
        "data": data,
        "data_file": data_file.name if DATA_DIR in data_file.resolve().parents else data_file.as_posix(),
        "data_sha256": sha256_of(data_file),
        **fields,
        "params": model.count_params(),
        "date": datetime.date.today().isoformat(),
        "size_bytes": path.stat().st_size,
        "model_sha256": sha256_of(path),
        "keras": keras.__version__,
        "backend": autodiff.backend_version(),
        "commit": code_commit(),
    }
    write_text_atomically(path.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    return card
