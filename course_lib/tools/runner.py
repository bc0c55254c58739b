"""Execute the solution notebooks and store light outputs with their provenance (instructor tool).

The outputs stored in ``solutions/`` come from a full-mode run, the run a student reads about; a
markdown cell tagged ``provenance`` under the title says when, on what machine and backend, and how
long each notebook took. The student build (``tools.notebooks``) leaves that cell out. Audio,
widget and engraved-score outputs are dropped before saving, so committed notebooks stay small and
carry no widget state; the text and figures that nbval and readers need are kept.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import nbformat

from course_lib.score import HTML_CLASS
from course_lib.tools.notebooks import PROVENANCE_TAG, SOLUTIONS_DIR, render, solution_notebooks

HEAVY_MIME_TYPES = ("application/vnd.jupyter.widget-view+json", "audio/wav", "audio/x-wav")


def is_heavy(output: dict) -> bool:
    """True for outputs that embed audio, widget state or an engraved score (an SVG of 100-300 kB)."""
    data = output.get("data", {})
    if any(mime in data for mime in HEAVY_MIME_TYPES):
        return True
    html = str(data.get("text/html", ""))
    return "<audio" in html or f'class="{HTML_CLASS}"' in html


def lighten(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop heavy outputs and saved widget state, in place; returns the notebook."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not is_heavy(o)]
        cell.metadata.pop("execution", None)  # per-run timestamps: churn, not content
    notebook.metadata.pop("widgets", None)
    return notebook


def cpu_name() -> str:
    """The processor's model name where Linux says it, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def provenance_text(seconds: float, quick: bool, when: datetime | None = None) -> str:
    """The sentence that says how the stored outputs were made."""
    import course_lib  # noqa: F401  (picks KERAS_BACKEND the way a notebook's first cell does)

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    when = when or datetime.now(timezone.utc)
    minutes, rest = divmod(round(seconds), 60)
    mode = "quick mode (`COURSE_QUICK=1`, as the tests run)" if quick else "full mode (what you run)"
    return (
        f"*The outputs stored below come from a run in {mode} on {when:%Y-%m-%d} "
        f"({platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {cpu_name()}; "
        f"Python {platform.python_version()}, Keras {_version('keras')} on {backend} {_version(backend)}). "
        f"The notebook took {minutes} min {rest} s from top to bottom. "
        "Timings and sampled music will differ on your machine.*"
    )


def set_provenance(notebook: nbformat.NotebookNode, text: str) -> None:
    """Put ``text`` in the notebook's provenance cell, the one after the title (made if missing)."""
    for cell in notebook.cells:
        if PROVENANCE_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = text
            return
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [PROVENANCE_TAG]})
    cell.id = "provenance"
    notebook.cells.insert(1, cell)


def run_solutions(
    prefixes: list[str] | None = None, solutions_dir: Path = SOLUTIONS_DIR, timeout: int = 1200, quick: bool = False
) -> None:
    """Run each matching solution notebook top to bottom (full mode unless ``quick``) and save it."""
    from course_lib.tools.kernel_watch import WatchedNotebookClient

    os.environ["COURSE_QUICK"] = "1" if quick else "0"
    for path in solution_notebooks(solutions_dir):
        if prefixes and not any(path.name.startswith(p) for p in prefixes):
            continue
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        WatchedNotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}, "unique_key": path.name},
        ).execute()
        set_provenance(notebook, provenance_text(time.perf_counter() - started, quick))
        path.write_text(render(lighten(notebook)))
        print(f"ran {path.name} in {time.perf_counter() - started:.0f} s ({path.stat().st_size / 1024:.0f} KiB)")
