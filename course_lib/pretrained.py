"""The models shipped in ``data/pretrained/``, each with its card.

Each model ``NAME.keras`` was made by ``python -m course_lib train NAME --publish``; its card
``NAME.json`` records that command, the checksum of the data it learned from, its validation
(and test) scores, the date and the model file's checksum, which :func:`load` verifies.

Notebook: 05_lstm_melody
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from course_lib.datasets import DATA_DIR, DataError, sha256_of
from course_lib.errors import CourseError
from course_lib.files import copy_atomically

if TYPE_CHECKING:  # Keras (and its backend) loads with a model, not for the cards or `data verify`
    import keras

PRETRAINED_DIR = DATA_DIR / "pretrained"
# trained by python -m course_lib train NAME (or a bench script's run of it, named on the card)
SHIPPED = ("melody", "melody-transformer", "chorale", "chorale-made", "chorale-transformer", "gan", "satb")


def available() -> list[str]:
    """Names of the shipped models.

    Notebook: 05_lstm_melody
    """
    return [name for name in SHIPPED if (PRETRAINED_DIR / f"{name}.json").exists()]


def card(name: str) -> dict:
    """The model card of a shipped model: command, data checksum, scores, date, size.

    Notebook: 05_lstm_melody
    """
    path = PRETRAINED_DIR / f"{name}.json"
    if not path.exists():
        shipped = ", ".join(available()) or "none"
        raise DataError(f"no pretrained model {name!r} in {PRETRAINED_DIR} (shipped: {shipped})")
    return json.loads(path.read_text())


def load(name: str) -> keras.Model:
    """A shipped model, checked against its card's checksum and loaded in Keras's safe mode.

    Notebook: 05_lstm_melody
    """
    return load_with_card(name)[0]


def load_with_card(name: str, path: str | Path | None = None) -> tuple[keras.Model, dict]:
    """Model ``name`` and its card: the shipped one, or the file ``path`` written by ``train`` with its
    card ``NAME.json`` beside it. The card must name the model and match the file's checksum; a file
    Keras cannot read is one line. Used by ``generate``, ``harmonise`` and :func:`load`.
    """
    if path is None:
        info, path = card(name), PRETRAINED_DIR / f"{name}.keras"
        if not path.exists() or sha256_of(path) != info["model_sha256"]:
            raise DataError(
                f"{path} is missing or does not match its card; restore it (git) or retrain: {info['command']}"
            )
    else:
        path = Path(path)
        card_path = path.with_suffix(".json")
        if not path.is_file() or not card_path.is_file():
            raise CourseError(f"{path} and its card {card_path.name} (written beside it by 'train') are needed")
        try:
            info = json.loads(card_path.read_text())
        except ValueError as error:
            raise CourseError(f"{card_path} is not a model card (not JSON: {error})") from error
        if info.get("name", name) != name:
            raise CourseError(
                f"{path} is a {info['name']!r} model (says its card), not {name!r}: "
                f"run generate {info['name']} --model {path}"
            )
        if "model_sha256" in info and sha256_of(path) != info["model_sha256"]:
            raise CourseError(f"{path} does not match the checksum on its card {card_path.name}")
    return read_model(path, name), info


def read_model(path: Path, name: str) -> keras.Model:
    """A ``.keras`` file loaded in safe mode, with the course's own layers registered."""
    import keras

    import course_lib.models  # noqa: F401  (registers the custom layers for loading)
    import course_lib.transformer  # noqa: F401  (the Transformer's layers, likewise)
    import course_lib.voice_intervals  # noqa: F401  (the harmoniser's interval layer, likewise)

    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a file that is not a model
        raise CourseError(
            f"{path} is not a Keras model file the course can read ({type(error).__name__}); "
            f"make one with: python -m course_lib train {name}"
        ) from error


def problems() -> list[str]:
    """Every shipped model that is missing, unreadable as a card, or does not match its card's checksum."""
    found = []
    cards = {path.stem for path in PRETRAINED_DIR.glob("*.json")}
    for path in sorted(PRETRAINED_DIR.glob("*.keras")):
        if path.stem not in cards:
            found.append(f"{path} has no card {path.stem}.json; restore it with git, or retrain with --publish")
    for name in sorted(cards):
        path = PRETRAINED_DIR / f"{name}.keras"
        try:
            info = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())
            expected, command = (
                info["model_sha256"],
                info.get("command", f"python -m course_lib train {name} --publish"),
            )
        except (ValueError, KeyError):
            found.append(f"{PRETRAINED_DIR / name}.json is not a model card; restore it with git")
            continue
        if not path.exists():
            found.append(f"{path} is missing; restore it with git, or retrain: {command}")
        elif sha256_of(path) != expected:
            found.append(f"{path} does not match its card; restore it with git, or retrain: {command}")
    return found


def publish(name: str, trained: Path) -> list[Path]:
    """Copy a trained model and its card (``trained/NAME.keras``, ``.json``) into ``data/pretrained/``.

    Only ``python -m course_lib train NAME --publish`` calls this: it is how shipped models change.
    """
    return [copy_atomically(Path(trained) / f"{name}{s}", PRETRAINED_DIR / f"{name}{s}") for s in (".keras", ".json")]
