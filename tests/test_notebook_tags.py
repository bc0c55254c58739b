"""Every ``Notebook: NN_name`` tag in course_lib is true: that notebook's code uses the function.

A notebook uses a function or class when its cells name it (through an import or a module
attribute), when a lesson-code cell shows it, or when a function the notebook uses calls it, at
any depth. A module's own tag is true when the notebook uses something of that module. Instructor
tooling (``course_lib.tools``, the command line) carries no tag at all.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

import course_lib
from course_lib.tools import notebooks

PACKAGE = Path(course_lib.__file__).parent
TAG = re.compile(r"^\s*Notebook:\s*(.*(?:\n\s*\S.*)*)", re.MULTILINE)  # the tag line and its continuations
NOTEBOOK_NAME = re.compile(r"\b\d\d_[a-z0-9_]+\b")
LESSON_MARK = re.compile(r"^# Lesson code: course_lib\.(\w+) holds the same lines")
UNTAGGED = ("course_lib.tools", "course_lib.__main__")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tags_of(docstring: str | None) -> set[str]:
    match = TAG.search(docstring or "")
    return set(NOTEBOOK_NAME.findall(match.group(1))) if match else set()


class Library:
    """course_lib's top-level functions and classes, their tags, and what each one refers to."""

    def __init__(self) -> None:
        self.tags: dict[str, set[str]] = {}  # "module.name" or "module" -> notebooks its docstring names
        self.refers: dict[str, set[str]] = {}  # "module.name" -> library names its code refers to
        self.modules: set[str] = set()
        imported: dict[str, dict[str, str]] = {}  # module -> its import aliases, to follow re-exports
        for path in sorted(PACKAGE.rglob("*.py")):
            module = module_name(path)
            self.modules.add(module)
            tree = ast.parse(path.read_text())
            self.tags[module] = tags_of(ast.get_docstring(tree))
            aliases = imported[module] = self.aliases(tree, module)
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.ClassDef):
                    name = f"{module}.{node.name}"
                    self.tags[name] = tags_of(ast.get_docstring(node))
                    self.refers[name] = self.references(node, aliases, keep_all=True)

        def resolve(name: str) -> str:  # "checks.hints.exercise_check" -> where it is defined
            module, _, attr = name.rpartition(".")
            target = imported.get(module, {}).get(attr)
            return resolve(target) if target and target != name and name not in self.tags else name

        for name, found in self.refers.items():  # now that every module is known
            self.refers[name] = {resolve(other) for other in found} & set(self.refers)

    def aliases(self, tree: ast.AST, module: str | None) -> dict[str, str]:
        """Local name -> library module or ``module.name``, from imports and (for a module) its own defs."""
        names = {}
        if module:
            names.update(
                {n.name: f"{module}.{n.name}" for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
            )
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_lib"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    names[alias.asname or alias.name] = full
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("course_lib") and alias.asname:
                        names[alias.asname] = alias.name
        return names

    def references(self, tree: ast.AST, aliases: dict[str, str], keep_all: bool = False) -> set[str]:
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in aliases:
                found.add(aliases[node.id])
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.add(f"{aliases[node.value.id]}.{node.attr}")
        return found if keep_all else {name for name in found if name in self.refers}

    def closure(self, names: set[str]) -> set[str]:
        used, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name not in used:
                used.add(name)
                todo.extend(self.refers.get(name, ()))
        return used


LIBRARY = Library()


def used_by(path: Path) -> set[str]:
    """The library functions and classes a notebook uses, directly or through what they call."""
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    code = "\n".join(line for line in "\n".join(cells).splitlines() if not line.lstrip().startswith(("%", "!")))
    tree = ast.parse(code)
    direct = LIBRARY.references(tree, LIBRARY.aliases(tree, None))
    for source in cells:
        lesson = LESSON_MARK.match(source)
        if lesson:
            for node in ast.parse(source).body:
                if isinstance(node, ast.FunctionDef | ast.ClassDef):
                    direct.add(f"course_lib.{lesson.group(1)}.{node.name}")
    return LIBRARY.closure(direct)


def wrong_tags() -> Iterator[str]:
    uses = {path.stem: used_by(path) for path in notebooks.solution_notebooks()}
    for name, tagged in sorted(LIBRARY.tags.items()):
        for notebook in sorted(tagged):
            if notebook not in uses:
                yield f"{name}: tags {notebook}, which does not exist"
            elif name in LIBRARY.modules:
                if not any(used.startswith(name + ".") for used in uses[notebook]):
                    yield f"{name} (module): tags {notebook}, which uses nothing of it"
            elif name not in uses[notebook]:
                yield f"{name}: tags {notebook}, which never uses it"


def test_every_notebook_tag_names_a_notebook_that_uses_it():
    problems = list(wrong_tags())
    assert problems == [], f"{len(problems)} wrong tags:\n" + "\n".join(problems)


def test_instructor_tooling_has_no_notebook_tags():
    tagged = [name for name, tags in LIBRARY.tags.items() if name.startswith(UNTAGGED) and tags]
    assert tagged == []


@pytest.mark.parametrize(
    "code, uses, unused",
    [
        (
            "from course_lib.midi import read_midi\nread_midi(b'')",
            "course_lib.midi.read_midi",
            "course_lib.midi.write_midi",
        ),
        ("from course_lib import midi\nmidi.write_midi([])", "course_lib.midi.write_midi", "course_lib.midi.read_midi"),
    ],
)
def test_the_usage_finder_sees_imports_and_attributes(tmp_path, code, uses, unused):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbformat.write(notebook, tmp_path / "99_probe.ipynb")
    found = used_by(tmp_path / "99_probe.ipynb")
    assert uses in found and unused not in found
