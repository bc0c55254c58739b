"""course_lib.gan_monitor: the live monitor redraws in place, through display ids, in a real kernel; copies are counted.

Run by a headless client (nbclient, as nbgrader runs notebook 07), the monitor must leave exactly one
figure and one table in the cell, the latest, and open no widget: a captured ``ipywidgets.Output``
makes the client answer on the shell channel, which stalled nbgrader (README, "When a notebook run stalls").
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from course_lib.tools.kernel_watch import WatchedNotebookClient

REDRAW_TWICE = """
from course_lib import gan, gan_monitor

monitor = gan_monitor.live_monitor(gan.load_excerpts("valid")[:64], samples=32)
for step, polyphony in ((200, 1.25), (400, 3.75)):
    monitor.history.append({**monitor.real, "step": float(step), "polyphony": polyphony})
    monitor.on_update(monitor)
"""


def test_the_live_monitor_keeps_one_figure_and_one_table_the_latest_and_opens_no_widget():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(REDRAW_TWICE)])
    client = WatchedNotebookClient(notebook, timeout=300, kernel_name="python3")
    outputs = client.execute().cells[0].outputs
    kinds = [sorted(output.get("data", {})) for output in outputs]
    assert kinds == [["image/png", "text/plain"], ["text/plain"]], outputs
    table = outputs[1].data["text/plain"]
    assert "polyphony" in table and "3.750" in table and "1.250" not in table, table
    assert not client.comm_objects, "the monitor opened a widget that a headless client has to answer"


def test_the_monitor_counts_copies_of_training_excerpts_note_for_note():
    from course_lib import gan, gan_monitor

    train, valid = gan.load_excerpts("train"), gan.load_excerpts("valid")
    known = gan_monitor.excerpt_keys(train)
    assert gan_monitor.copied_share(train[:50], known) == 1.0
    changed = train[:50].copy()
    changed[:, 0, 0] = (changed[:, 0, 0] + 1) % gan.CLASSES  # one note changed in each: no longer copies
    assert gan_monitor.copied_share(changed, known) == 0.0
    mixed = np.concatenate([train[:3], changed[:7]])
    assert gan_monitor.copied_share(mixed, known) == pytest.approx(0.3)
    held_out = gan_monitor.copied_share(valid, known)
    assert held_out < 0.2  # held-out Bach shares a few excerpts with training (cadences, repeated pieces)
    reference = gan_monitor.excerpt_metrics(valid)
    copier = gan_monitor.excerpt_metrics(train[:64]) | {"copied": 1.0}
    assert any(flag.startswith("memorising: 100%") for flag in gan_monitor.alarms(copier, reference))
    assert not any("memorising" in flag for flag in gan_monitor.alarms(reference | {"copied": held_out}, reference))
