"""The nbgrader stall in twenty lines of ZeroMQ: a send through a blocking shadow hides a reply from asyncio.

What nbclient does while it waits for a cell's ``execute_reply``: it awaits ``poll`` on its asyncio
DEALER socket. If the client sends on that socket meanwhile through a blocking shadow of it (as
jupyter_client's ``Session.send`` does for an asyncio socket, and nbclient sends a widget update each
time a cell's output is captured in an ``ipywidgets.Output``), the send processes the socket's pending
commands. That consumes the edge-triggered wake-up of a reply that has just arrived: the reply is in
the socket, but the poll sleeps on until its timeout. Run::

    .venv/bin/python bench/kernel_stall.py

and it prints how long the poll waited for a reply that was already there, with each kind of send.
README, "When a notebook run stalls", says what this meant for the test suite and what the course changed.
"""

from __future__ import annotations

import asyncio
import time
from importlib import metadata

import zmq
import zmq.asyncio
from jupyter_client.session import Session

TIMEOUT_S = 5.0


async def waited_for_reply(side_send: str) -> tuple[float, bool]:
    """Seconds the client's poll waited after the reply arrived, and whether the reply was in the socket."""
    kernel = zmq.Context.instance().socket(zmq.ROUTER)
    port = kernel.bind_to_random_port("tcp://127.0.0.1")
    client = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    client.setsockopt(zmq.IDENTITY, b"client")
    client.connect(f"tcp://127.0.0.1:{port}")
    session = Session()
    session.send(client, "execute_request", {})
    kernel.recv_multipart()
    poll = asyncio.ensure_future(client.poll(int(TIMEOUT_S * 1000)))  # what nbclient awaits
    await asyncio.sleep(0.1)
    kernel.send_multipart([b"client", b"execute_reply"])
    time.sleep(0.2)  # the reply reaches the client while its event loop is busy
    if side_send == "blocking shadow (Session.send)":
        session.send(client, "comm_msg", {})
    elif side_send == "asyncio socket":
        await client.send_multipart([b"comm_msg"])
    arrived = time.perf_counter()
    await poll
    waited = time.perf_counter() - arrived
    in_socket = bool(zmq.Socket.shadow(client.underlying).get(zmq.EVENTS) & zmq.POLLIN)
    client.close(linger=0)
    kernel.close(linger=0)
    return waited, in_socket


def main() -> None:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("pyzmq", "jupyter_client", "nbclient"))
    print(f"A reply arrives while the client waits for it ({versions}; poll timeout {TIMEOUT_S:.0f} s)\n")
    print(f"{'send on the socket meanwhile':<34}{'poll woke after':>16}  reply in socket")
    for side_send in ("none", "asyncio socket", "blocking shadow (Session.send)"):
        waited, in_socket = asyncio.run(waited_for_reply(side_send))
        print(f"{side_send:<34}{waited:>14.2f} s  {'yes' if in_socket else 'no'}")


if __name__ == "__main__":
    main()
