"""The shared training settings (course_lib.settings): each written once, and what the models train with."""

from __future__ import annotations

import ast
from pathlib import Path

import course_lib
from course_lib import recipes, settings

PACKAGE = Path(course_lib.__file__).parent


def literal_uses(value: float) -> list[str]:
    """Where course_lib writes the number ``value`` as a literal, as ``file:line``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is float and node.value == value:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_the_learning_rate_is_written_once():
    assert literal_uses(settings.LEARNING_RATE) == ["settings.py:6"]


def test_the_search_finds_a_number_written_twice():
    assert len(literal_uses(6e-3)) == 1  # the piano-roll LSTM's own rate, in the table
    assert len(literal_uses(0.99)) >= 2  # weight averaging, in two rows of the table


def test_the_models_that_share_the_learning_rate_use_it():
    shared = [name for name, chosen in recipes.RECIPES.items() if chosen.settings["learning_rate"] == 2e-3]
    assert shared == ["melody", "chorale-made", "satb"]
