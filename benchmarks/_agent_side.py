"""Side A2 of ``refresh.py``: the same due credentials refreshed through the agent.

The agent (:class:`vault.agent.server.Agent`, on the benchmark's open vault, without its own
background refresher so nothing else touches the credentials) serves its real Unix socket
from a thread of this process.  The clients are another process, as scripts are: C threads
each asking ``token NAME`` over the socket (``vault.agent.wire.call``, what ``tokendeck token``
does), so every answer is a refresh on read inside the agent.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vault import Vault

START_TIMEOUT = 60.0


def _ask(conn: Connection, home: str, names: list[str], concurrency: int) -> None:
    """The client process: on each count, ask for that many tokens, C at a time; send (seconds,
    failures, this process's CPU seconds for them)."""
    os.environ["TOKENDECK_HOME"] = home
    from vault.agent import wire

    def one(name: str) -> bool:
        answer = wire.call("token", name, timeout=60)
        return answer is not None and answer[0] == "0"

    conn.send("ready")
    while (count := conn.recv()) is not None:
        start, cpu = time.perf_counter(), os.times()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            answered = list(pool.map(one, names[:count]))
        elapsed, after = time.perf_counter() - start, os.times()
        conn.send((elapsed, answered.count(False), after.user + after.system - cpu.user - cpu.system))


class AgentSide:
    """An agent on ``v`` and a client process; :meth:`run` times one round of ``count`` tokens."""

    def __init__(
        self, v: Vault, home: Path, names: list[str], concurrency: int, on_error: Callable[[str], None]
    ) -> None:
        from vault.agent import wire
        from vault.agent.server import Agent

        os.environ["TOKENDECK_HOME"] = str(home)
        os.makedirs(wire.runtime_dir(), mode=0o700, exist_ok=True)  # the agent's launcher makes it
        self._on_error = on_error
        self.agent = Agent(v, wire.socket_path(wire.home_dir()), reopen=lambda passphrase: v, refresher=False)
        self.agent.listen()
        self._serving = threading.Thread(target=self.agent.serve, name="bench-agent", daemon=True)
        self._serving.start()
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._clients = context.Process(
            target=_ask, args=(child, str(home), names, concurrency), name="agent-clients", daemon=True
        )
        self._clients.start()
        child.close()
        if not self._conn.poll(START_TIMEOUT) or self._conn.recv() != "ready":
            on_error("the agent's client process did not start")

    client_cpu = 0.0
    """The client process's CPU seconds in the last :meth:`run`."""

    def run(self, count: int) -> float:
        self._conn.send(count)
        seconds, failures, self.client_cpu = self._conn.recv()
        if failures:
            self._on_error(f"the agent answered {count - failures} of {count} token requests")
        return float(seconds)

    def stop(self) -> None:
        """Stop the clients, then the agent (which closes the vault it was given)."""
        self._conn.send(None)
        self._clients.join(30)
        self.agent.stop()
        self._serving.join(30)
