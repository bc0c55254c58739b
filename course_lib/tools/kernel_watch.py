"""Run notebooks so that a lost kernel reply fails within seconds instead of stalling (instructor tool).

A notebook client sends a cell to the kernel and waits for two things: the kernel's ``idle`` status
on IOPub and its ``execute_reply`` on the shell channel. The kernel sends the reply first, so once
``idle`` has arrived the reply is due at once. If it has not come ``reply_grace`` seconds later, the
wait would otherwise last until the cell's timeout (15 minutes in the README's nbgrader set-up);
:class:`ReplyWatch` stops it with :class:`LostReplyError`, naming the notebook, the cell and the
missing message, and says whether the reply sits unread in the client's own socket (README,
"Testing": the stall this caught).

Used by ``notebooks run`` (:mod:`course_lib.tools.runner`) and, through
:mod:`course_lib.tools.nbgrader_execute`, by nbgrader's autograde in the tests and the README's set-up.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import zmq
from jupyter_core.utils import run_sync
from nbclient import NotebookClient


class LostReplyError(RuntimeError):
    """The kernel finished a cell (it reported ``idle``), but its ``execute_reply`` never reached the client."""


def reply_waiting_unread(client: NotebookClient) -> bool:
    """Whether a message sits in the client's shell socket, read through a plain (blocking) view of it.

    The asyncio socket's own ``get`` would schedule its waiters and so end the stall it is asked about.
    """
    socket = client.kc.shell_channel.socket
    return bool(zmq.Socket.shadow(socket.underlying).get(zmq.EVENTS) & zmq.POLLIN)


def where(client: NotebookClient, cell: Any, cell_index: int) -> str:
    """The notebook (as the client's resources name it), the cell's index and id, and its first line."""
    resources = client.resources or {}
    notebook = resources.get("unique_key") or resources.get("metadata", {}).get("path", "the notebook")
    first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return f"{notebook}, cell {cell_index} (id {cell.get('id', '?')}: {first_line[:60]!r})"


class ReplyWatch:
    """Mixin for an nbclient :class:`NotebookClient`: a cell whose kernel went idle without a reply fails fast."""

    reply_grace: float = 30.0  # seconds from the kernel's idle status to its missing execute_reply

    def process_message(self, msg: dict, cell: Any, cell_index: int) -> Any:
        if msg.get("msg_type") == "status" and msg.get("content", {}).get("execution_state") == "idle":
            self.idle_at = time.monotonic()
        return super().process_message(msg, cell, cell_index)

    async def async_execute_cell(
        self, cell: Any, cell_index: int, execution_count: int | None = None, store_history: bool = True
    ) -> Any:
        self.idle_at: float | None = None
        running = asyncio.ensure_future(super().async_execute_cell(cell, cell_index, execution_count, store_history))
        while not running.done():
            await asyncio.wait({running}, timeout=1.0)
            if running.done() or self.idle_at is None or time.monotonic() - self.idle_at < self.reply_grace:
                continue
            unread = reply_waiting_unread(self)
            # Asking the asyncio socket for its events lets asyncio see an unread reply, so the client can
            # end the cell cleanly before the run fails; a reply that is truly gone is cancelled instead.
            self.kc.shell_channel.socket.get(zmq.EVENTS)
            await asyncio.wait({running}, timeout=5.0)
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            raise LostReplyError(
                f"{where(self, cell, cell_index)}: the kernel went idle {self.reply_grace:.0f} s ago, but its "
                "execute_reply never reached the client"
                + (
                    ": it was waiting unread in the client's shell socket (a lost wake-up; README,"
                    " 'When a notebook run stalls')"
                    if unread
                    else ", and the client's shell socket is empty"
                )
            )
        return running.result()

    # nbclient binds its blocking ``execute_cell`` to its own coroutine; nbconvert's and nbgrader's
    # preprocessors call ``execute_cell``, so bind it again to the watched one.
    execute_cell = run_sync(async_execute_cell)


class WatchedNotebookClient(ReplyWatch, NotebookClient):
    """nbclient's :class:`NotebookClient` with :class:`ReplyWatch`: what ``notebooks run`` executes with."""
