"""The agent's switchboard on real Unix sockets, with jobs that block until the test lets
them go: a forward's requests never queue ahead of a local one, one source's requests never
take every worker, a client that does not take its answer is dropped at its deadline, a source
at its limit is turned away with its listener's busy answer, and a parked request holds no
worker.  (The agent itself, with real clients, is ``tests/test_agent_starvation.py``.)"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.test_agent import wait_until
from vault.agent.switchboard import Call, Switchboard
from vault.agent.wire import decode, encode

BIG = 8 * 1024 * 1024


class Board:
    """A switchboard serving on its own thread, and listeners made on the fly."""

    def __init__(self, tmp: Path, **limits: int | float) -> None:
        settings: dict[str, int | float] = {
            "client_timeout": 10.0, "workers": 2, "forward_workers": 2, "source_connections": 64,
            "max_connections": 1024,
        }  # fmt: skip
        settings.update(limits)
        self.log: list[str] = []
        self.board = Switchboard(allowed_uid=os.getuid(), log=self.log.append, **settings)  # type: ignore[arg-type]
        self.tmp = tmp
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.board.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def listener(self, name: str, job: Callable[[Call], None], *, forward: str | None = None) -> str:
        path = str(self.tmp / f"{name}.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(128)
        self.board.listen(sock, job, forward=forward, busy=["busy"])
        return path

    def close(self) -> None:
        self.stop.set()
        self.board.wake()
        self.thread.join(10)
        self.board.drain(5)


@pytest.fixture
def board(runtime: Path) -> Iterator[Board]:
    b = Board(runtime)
    yield b
    b.close()


def send(path: str, *fields: str) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(30)
    client.connect(path)
    # A connection turned away is answered "busy" and closed at once, maybe before the request
    # is written: the write then fails, and the answer is still there to read.
    with contextlib.suppress(BrokenPipeError):
        client.sendall(encode(list(fields), request=True))
    return client


def answer(client: socket.socket) -> list[str]:
    data = b"".join(iter(lambda: client.recv(65536), b""))
    client.close()
    return decode(data)


class Gate:
    """A job that blocks until opened, counting how many are blocked."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.waiting = 0
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        with self._lock:
            self.waiting += 1
        self.open.wait(30)
        call.reply(["0", "late", *call.fields])


def at_once(call: Call) -> None:
    call.reply(["0", "now", *call.fields])


def test_a_forwards_requests_never_queue_ahead_of_a_local_one(board: Board) -> None:
    """Two forwards' blocked requests take both forward workers; a local request is answered."""
    gate = Gate()
    forwards = [board.listener(f"forward{n}", gate, forward=f"f{n}") for n in (1, 2)]
    local = board.listener("local", at_once)
    blocked = [send(forwards[i % 2], "1", "h", str(i)) for i in range(10)]
    wait_until(lambda: gate.waiting == 2, "both forward workers to be busy")
    assert answer(send(local, "1", "h", "x")) == ["0", "now", "1", "h", "x"]
    gate.open.set()
    assert sorted(answer(c)[-1] for c in blocked) == [str(i) for i in range(10)]


def test_one_source_never_takes_every_worker(runtime: Path) -> None:
    """Two forwards share four workers, at most two each: ten blocked requests of one leave
    room for the other's."""
    board = Board(runtime, forward_workers=4)
    try:
        gate = Gate()
        busy = board.listener("busy", gate, forward="f1")
        other = board.listener("other", at_once, forward="f2")
        blocked = [send(busy, "1", "h", str(i)) for i in range(10)]
        wait_until(lambda: gate.waiting == 2, "f1's two requests to run")
        assert answer(send(other, "1", "h", "y"))[1] == "now"
        assert gate.waiting == 2  # f1's other eight still wait their turn
        gate.open.set()
        assert len([answer(c) for c in blocked]) == 10
    finally:
        board.close()


def test_a_client_that_does_not_take_its_answer_is_dropped_at_its_deadline(runtime: Path) -> None:
    board = Board(runtime, client_timeout=0.5)
    try:
        path = board.listener("local", lambda call: call.reply(["0", "x" * BIG]))
        slow = send(path, "1", "h", "big")  # and never reads, for now
        wait_until(lambda: board.board.held() == 1, "the answer to be under way")
        assert answer(send(path, "1", "h", "small"))[0] == "0"  # meanwhile, others are answered
        wait_until(lambda: board.board.held() == 0, "the slow reader to be dropped")
        got = b"".join(iter(lambda: slow.recv(65536), b""))
        slow.close()
        assert 0 < len(got) < BIG  # cut off: what the socket buffered, then the end
    finally:
        board.close()


def test_a_source_at_its_limit_with_every_connection_at_work_is_turned_away(runtime: Path) -> None:
    """Beyond its connections, a source's oldest idle one is pushed out; with none idle, the new
    one gets the listener's busy answer at once."""
    board = Board(runtime, source_connections=2, workers=4)
    try:
        gate = Gate()
        path = board.listener("local", gate)
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(path)
        first = send(path, "1", "h", "a")
        wait_until(lambda: gate.waiting == 1, "the first to run")
        second = send(path, "1", "h", "b")  # pushes out the idle one
        idle.settimeout(10)
        assert idle.recv(10) == b""
        idle.close()
        wait_until(lambda: gate.waiting == 2, "the second to run")
        assert answer(send(path, "1", "h", "c")) == ["busy"]
        gate.open.set()
        assert [answer(first)[-1], answer(second)[-1]] == ["a", "b"]
    finally:
        board.close()


def test_a_parked_request_holds_no_worker_and_is_answered_when_resumed(runtime: Path) -> None:
    board = Board(runtime, workers=1)
    try:
        parked: list[Call] = []

        def park(call: Call) -> None:
            if call.fields[2] == "wait":
                parked.append(call)
                call.park()
            else:
                call.reply(["0", "now"])

        path = board.listener("local", park)
        waiting = [send(path, "1", "h", "wait") for _ in range(5)]
        wait_until(lambda: len(parked) == 5, "five parked requests")
        assert answer(send(path, "1", "h", "go")) == ["0", "now"]  # the one worker is free
        for call in parked:
            call.resume(lambda again: again.reply(["0", "resumed"]))
        assert [answer(c) for c in waiting] == [["0", "resumed"]] * 5
    finally:
        board.close()


def test_a_drain_does_not_wait_when_the_last_answer_went_out_meanwhile(runtime: Path) -> None:
    """The agent's stop once hung for its whole in-flight wait (260 s): the answer to ``stop``
    and the end of its job reached the loop after the drain's first look, were sent at the
    start of its next turn, and that turn then waited for nothing.  The window is made certain
    here: the job answers while the drain takes its listeners down."""
    started, gate = threading.Event(), threading.Event()

    class Racing(Switchboard):
        def _remove_listener(self, sock: socket.socket) -> None:
            super()._remove_listener(sock)
            gate.set()
            wait_until(lambda: len(self._posted) >= 2, "the answer and the job's end to be posted")

    board = Racing(
        client_timeout=10.0, workers=2, forward_workers=2, source_connections=64, max_connections=1024,
        allowed_uid=os.getuid(), log=lambda line: None,
    )  # fmt: skip
    stop = threading.Event()
    loop = threading.Thread(target=board.run, args=(stop,), daemon=True)
    loop.start()

    def job(call: Call) -> None:
        started.set()
        gate.wait(30)
        call.reply(["0", "bye"])

    path = str(runtime / "racing.sock")
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listening.bind(path)
    listening.listen(8)
    board.listen(listening, job, busy=["busy"])
    client = send(path, "1", "h", "stop")
    assert started.wait(30)
    stop.set()
    board.wake()
    loop.join(10)
    with contextlib.suppress(BlockingIOError):  # a wake the loop left unread would end the wait by luck
        while board._wake_r.recv(4096):
            pass
    drained = threading.Thread(target=board.drain, args=(3600.0,), daemon=True)
    drained.start()
    drained.join(30)
    assert not drained.is_alive(), "the drain waited for nothing"
    assert answer(client) == ["0", "bye"]
