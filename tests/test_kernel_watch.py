"""course_lib.tools.kernel_watch: a notebook run whose kernel reply is lost fails in seconds, saying where.

The lost reply is made on purpose, the way the nbgrader stall made it (README, "When a notebook run stalls"): while the
kernel runs a cell, the client touches its shell socket outside asyncio's view (a blocking shadow of
the socket) just after the reply has arrived. That consumes the socket's edge-triggered wake-up, so
the client's pending poll never fires and the reply sits unread.
"""

from __future__ import annotations

import time

import nbformat
import pytest
from nbconvert.preprocessors import ExecutePreprocessor

from course_lib.tools import kernel_watch


def notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])


class SwallowsTheWakeUp(kernel_watch.WatchedNotebookClient):
    """Once the kernel announces the cell, waits (blocking the loop) until the reply is in the socket.

    Looking at the socket's events through a blocking shadow is itself what strands the reply.
    """

    reply_grace = 3.0

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") == "execute_input" and "stall" in cell.source:
            deadline = time.monotonic() + 30
            while not kernel_watch.reply_waiting_unread(self) and time.monotonic() < deadline:
                time.sleep(0.05)
        return super().process_message(msg, cell, cell_index)


class PreprocessorSwallowsTheWakeUp(SwallowsTheWakeUp, ExecutePreprocessor):
    """The same through nbconvert's ``ExecutePreprocessor``: the ``execute_cell`` path of nbgrader's ``Execute``."""


STALLING = ("x = 1", "import time\ntime.sleep(0.3)  # stall here", "x + 1")


@pytest.mark.parametrize("route", ["NotebookClient.execute", "ExecutePreprocessor.preprocess (nbgrader's)"])
def test_a_lost_reply_fails_within_seconds_naming_the_notebook_cell_and_message(route):
    resources = {"metadata": {"path": "."}, "unique_key": "lost-reply-demo"}
    if route.startswith("NotebookClient"):
        client = SwallowsTheWakeUp(notebook(*STALLING), timeout=600, kernel_name="python3", resources=resources)
        run = client.execute
    else:
        client = PreprocessorSwallowsTheWakeUp(timeout=600, kernel_name="python3")
        run = lambda: client.preprocess(notebook(*STALLING), resources)  # noqa: E731
    started = time.monotonic()
    with pytest.raises(kernel_watch.LostReplyError) as lost:
        run()
    assert time.monotonic() - started < 60, "the watch should stop a lost reply within a minute, not at the timeout"
    message = str(lost.value)
    assert "lost-reply-demo, cell 1" in message and "stall here" not in message.split("'")[0]
    assert "execute_reply" in message and "was waiting unread in the client's shell socket" in message


def test_a_healthy_run_is_untouched():
    client = kernel_watch.WatchedNotebookClient(
        notebook("import time\ntime.sleep(0.3)\nprint('slept')", "6 * 7"), timeout=600, kernel_name="python3"
    )
    executed = client.execute()
    assert executed.cells[0].outputs[0].text == "slept\n"
    assert executed.cells[1].outputs[0].data["text/plain"] == "42"
