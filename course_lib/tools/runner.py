"""Execute the solution notebooks in quick mode and store light outputs (instructor tool).

Audio, widget and engraved-score outputs are dropped before saving, so committed notebooks stay
small and carry no widget state; the text and figures that nbval and readers need are kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from course_lib.score import HTML_CLASS
from course_lib.tools.notebooks import SOLUTIONS_DIR, render, solution_notebooks

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


def run_solutions(prefixes: list[str] | None = None, solutions_dir: Path = SOLUTIONS_DIR, timeout: int = 600) -> None:
    """Run each matching solution notebook top to bottom with ``COURSE_QUICK=1`` and save it."""
    from nbclient import NotebookClient

    os.environ["COURSE_QUICK"] = "1"
    for path in solution_notebooks(solutions_dir):
        if prefixes and not any(path.name.startswith(p) for p in prefixes):
            continue
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        path.write_text(render(lighten(notebook)))
        print(f"ran {path.name} ({path.stat().st_size / 1024:.0f} KiB)")
