"""course_lib's modules import one another one way: no module reaches itself through its imports.

Every ``import`` statement counts, at module level and inside functions alike (a function-level
import is still a dependency, only a later one), and so do those under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import course_lib

PACKAGE = Path(course_lib.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The course_lib modules a file imports anywhere in it (``from course_lib import x`` names module x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in MODULES and name != "course_lib"}


GRAPH = {name: imported(path) - {name} for name, path in MODULES.items()}


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]`` if there is none (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_the_search_finds_a_cycle_when_there_is_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_function_level_imports():
    assert "course_lib.harmonising" in GRAPH["course_lib.recipe_kinds"]  # imported inside SatbRecipe's methods
    assert "course_lib.voice_leading" in GRAPH["course_lib.voice_intervals"]


def test_course_lib_has_no_import_cycle():
    assert cycle(GRAPH) == []


TOOLS = "course_lib.tools"
ENTRY_POINT = "course_lib.__main__"  # ``python -m course_lib`` runs the command line, which is a tool


def imports_tools(names: set[str]) -> bool:
    return any(name == TOOLS or name.startswith(TOOLS + ".") for name in names)


def test_no_library_module_imports_the_tools():
    """The line between lesson code and instructor tooling: only the tools (and the entry point) import them."""
    library = [name for name in GRAPH if not imports_tools({name}) and name != ENTRY_POINT]
    assert [name for name in library if imports_tools(GRAPH[name])] == []
    assert imports_tools(GRAPH[ENTRY_POINT])  # the one exception is still where the rule says


def test_no_solution_notebook_imports_the_tools():
    import nbformat

    for path in sorted((PACKAGE.parent / "solutions").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
        assert TOOLS not in code, path.name


def test_the_tools_stay_small():
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items() if imports_tools({name})}
    assert len(sizes) > 5 and max(sizes.values()) <= 450, sizes


def test_the_rule_sees_a_function_level_import_of_the_tools(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from course_lib.tools.cli import main\n")
    assert imports_tools(imported(probe))
