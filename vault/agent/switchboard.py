"""The agent's connections: one thread accepts, reads and writes every client of every socket
the agent listens on (its own, and each forward's) without ever blocking, and worker threads
only ever see a complete request.

A client costs a worker only while its request is worked on.  One that connects and sends
nothing, sends slowly, or does not take its answer costs a file descriptor until its deadline
(``client_timeout`` for the whole request, and again for taking the answer), never a worker;
a request waiting for the user's yes (a ``--confirm`` forward) is *parked*, holding no worker,
until the answer comes and the next step is queued (:meth:`Call.resume`).

Every connection has a *source*: the process at the other end of the agent's own socket (its
pid, from the peer credentials), or the forward it came through (all of a forward's come from
one ``ssh``).  A source may have ``source_connections`` connections open: a new one beyond
that pushes out the source's oldest that has not sent its whole request; when all of them
have, the new one is turned away with the listener's *busy* answer (a local client does the
work itself; a remote one is told the agent is busy).  All sources together may hold
``max_connections`` (fewer when the file limit is lower): beyond, the oldest unsent connection
of the source holding the most unsent ones goes.  A source has at most half its pool's workers
on its requests at once; the rest wait their turn, in order.  Requests from the agent's own
socket and from forwards run on separate pools, so a forward's never queue ahead of a local one.
"""

from __future__ import annotations

import collections
import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from vault.agent.wire import FALL_BACK, MAX_REQUEST, decode, encode, peer_ids
from vault.errors import InvalidInput, to_fields

Log = Callable[[str], None]
Job = Callable[["Call"], None]
"""Work on a request (run on a worker): it must :meth:`Call.reply` or :meth:`Call.park`."""

READING, QUEUED, WORKING, PARKED, WRITING, CLOSED = "reading", "queued", "working", "parked", "writing", "closed"
ACCEPT_BURST = 64
"""Connections taken from one listener per turn of the loop, so one busy socket cannot hold it."""
FD_RESERVE = 64
"""File descriptors kept for everything else (the vault, its -wal and -shm, logs, locks)."""
TOO_LONG = [
    str(InvalidInput.exit_code),
    *to_fields(InvalidInput(f"the request is longer than the agent takes ({MAX_REQUEST} bytes); nothing was done")),
]
"""The answer to a request longer than :data:`~vault.agent.wire.MAX_REQUEST` (its rest is not read)."""
EMFILE_PAUSE = 0.1
"""How long accepting pauses when the process is out of file descriptors anyway."""


class Listener:
    """A listening socket: its connections' requests go to ``serve`` on the ``pool`` pool;
    ``forward`` (the forward's id) makes them one source, else each client process is one."""

    def __init__(self, sock: socket.socket, serve: Job, *, forward: str | None, busy: list[str]) -> None:
        self.sock, self.serve, self.forward, self.busy = sock, serve, forward, busy


class Source:
    """Who connections come from (a client process, or a forward), and what they hold."""

    def __init__(self, key: str, pool: ThreadPoolExecutor, in_flight: int) -> None:
        self.key, self.pool = key, pool
        self.most_in_flight = in_flight
        self.calls: dict[int, Call] = {}
        self.reading: dict[int, Call] = {}
        """Its connections still sending their request, oldest first."""
        self.queue: collections.deque[tuple[Call, Job]] = collections.deque()
        self.in_flight = 0
        self.warned = False

    @property
    def idle(self) -> bool:
        return not self.calls and not self.queue and self.in_flight == 0


class Call:
    """One connection: one request (:attr:`fields`), one answer.  Its methods may be called
    from any thread; the switchboard's loop does the rest."""

    def __init__(
        self, board: Switchboard, sock: socket.socket, source: Source, listener: Listener, pid: int | None = None
    ) -> None:
        self.fields: list[str] = []
        self.source = source
        self._pid = pid
        self._board, self._sock, self._listener = board, sock, listener
        self._fd = sock.fileno()
        self._state = READING
        self._turns = 0
        """Jobs started for it: a job's end closes the call only if no later job has begun."""
        self._events = 0
        self._deadline = 0.0
        self._inbox = b""
        self._outbox = b""

    @property
    def peer_pid(self) -> int | None:
        """The client process's pid, from the socket (None where the platform cannot say; through
        an ssh forward it is the local sshd's, which names nobody: only a session uses it there)."""
        return self._pid

    def reply(self, fields: list[str]) -> None:
        """Send ``fields`` as the answer, and close (an answer that cannot be framed: just close)."""
        try:
            data: bytes | None = encode(fields, request=False)
        except ValueError:
            data = None
        self._board.post(lambda: self._board._write(self, data))

    def park(self) -> None:
        """Wait, holding no worker, until :meth:`resume` (or :meth:`reply`) is called."""
        self._board.post(lambda: self._board._park(self))

    def resume(self, job: Job) -> None:
        """Queue ``job`` for this request, on its source's turn."""
        self._board.post(lambda: self._board._enqueue(self, job))


class Switchboard:
    """Every connection of the agent, served from the thread that calls :meth:`run`."""

    def __init__(
        self,
        *,
        client_timeout: float,
        workers: int,
        forward_workers: int,
        source_connections: int,
        max_connections: int,
        allowed_uid: int,
        log: Log,
    ) -> None:
        self.client_timeout = client_timeout
        self.source_connections = source_connections
        self.max_connections = min(max_connections, _fd_budget())
        self.allowed_uid = allowed_uid
        self._log = log
        self._local = ThreadPoolExecutor(workers, thread_name_prefix="tokendeck-agent-client")
        self._forward = ThreadPoolExecutor(forward_workers, thread_name_prefix="tokendeck-agent-forward")
        self._in_flight = {False: max(1, workers // 2), True: max(1, forward_workers // 2)}
        """A source's share of its pool: half (forward or not)."""
        self._selector = selectors.DefaultSelector()
        # A socket pair, not a pipe: waking the loop must not depend on write(2), which is
        # what fails on a full or failing disk (and what a fault injector makes fail).
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._posted: collections.deque[Callable[[], None]] = collections.deque()
        self._sleeping = False
        """Whether the loop may be waiting in select: only then does :meth:`post` wake it."""
        self._listeners: dict[int, Listener] = {}
        self._sources: dict[str, Source] = {}
        self._calls: dict[int, Call] = {}
        self._reading: dict[int, Call] = {}
        self._writing: dict[int, Call] = {}
        self._paused_until: float | None = None
        self._closed = False

    # ---------------------------------------------------------- any thread

    def post(self, work: Callable[[], None]) -> None:
        """Have the loop run ``work`` (safe from any thread; a deque append is atomic)."""
        self._posted.append(work)
        if self._sleeping:
            self.wake()

    def wake(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def listen(self, sock: socket.socket, serve: Job, *, forward: str | None = None, busy: list[str]) -> None:
        """Take connections on ``sock`` (a listening socket), their requests to ``serve``."""
        sock.setblocking(False)
        listener = Listener(sock, serve, forward=forward, busy=busy)
        self.post(lambda: self._add_listener(listener))

    def held(self) -> int:
        """How many connections are open now (every state)."""
        return len(self._calls)

    def unlisten(self, sock: socket.socket) -> None:
        """Stop taking connections on ``sock`` and close it (its connections are answered)."""
        self.post(lambda: self._remove_listener(sock))

    # ---------------------------------------------------------- the loop

    def run(self, until: threading.Event) -> None:
        """Serve until ``until`` is set (call :meth:`wake` after setting it)."""
        while not until.is_set():
            self._turn()

    def drain(self, timeout: float) -> None:
        """Stop listening, drop clients still sending, and serve the rest (requests worked on,
        parked, or answers being sent) for at most ``timeout`` seconds; then close everything."""
        self._run_posted()
        for fd in list(self._listeners):
            self._remove_listener(self._listeners[fd].sock)
        for call in list(self._reading.values()):  # not started: the client does it itself
            self._watch(call, 0)
            self._turn_away(call._sock, [FALL_BACK], call.source)
            self._close(call)
        deadline = time.monotonic() + timeout
        while self._calls and time.monotonic() < deadline:
            self._turn(limit=deadline - time.monotonic())
        for call in list(self._calls.values()):
            self._close(call)
        self._local.shutdown(wait=False)
        self._forward.shutdown(wait=False)
        self._selector.close()
        self._closed = True
        self._wake_r.close()
        self._wake_w.close()

    def _turn(self, limit: float | None = None) -> None:
        """Wait for something to do (at most ``limit`` seconds: draining), and do it."""
        self._run_posted()
        if limit is not None and not self._calls:
            return  # draining, and the work just run answered the last one: nothing to wait for
        now = time.monotonic()
        wait = self._next_deadline(now)
        if limit is not None:
            wait = limit if wait is None else min(wait, limit)
        self._sleeping = True
        if self._posted:  # posted before it said it may sleep: it must not
            wait = 0.0
        events = self._selector.select(wait)
        self._sleeping = False
        for key, mask in events:
            what = key.data
            if what is None:
                with contextlib.suppress(OSError):
                    while self._wake_r.recv(4096):
                        pass
            elif isinstance(what, Listener):
                self._accept(what)
            elif mask & selectors.EVENT_READ:
                self._read(what)
            elif mask & selectors.EVENT_WRITE:
                self._send(what)
        self._run_posted()
        self._expire(time.monotonic())

    def _run_posted(self) -> None:
        while self._posted:
            work = self._posted.popleft()
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - the loop serves every client: it must not die
                self._log(f"switchboard: unexpected {type(exc).__name__}")

    def _next_deadline(self, now: float) -> float | None:
        times = [c._deadline for c in (next(iter(d.values()), None) for d in (self._reading, self._writing)) if c]
        if self._paused_until is not None:
            times.append(self._paused_until)
        return max(0.0, min(times) - now) if times else None

    def _expire(self, now: float) -> None:
        for table in (self._reading, self._writing):  # each in deadline order
            while table:
                call = next(iter(table.values()))
                if call._deadline > now:
                    break
                self._close(call)
        if self._paused_until is not None and now >= self._paused_until:
            self._paused_until = None
            for fd, listener in self._listeners.items():
                self._selector.register(fd, selectors.EVENT_READ, listener)

    # ------------------------------------------------------------ listeners

    def _add_listener(self, listener: Listener) -> None:
        fd = listener.sock.fileno()
        self._listeners[fd] = listener
        if self._paused_until is None:
            self._selector.register(fd, selectors.EVENT_READ, listener)

    def _remove_listener(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        if self._listeners.pop(fd, None) is not None and self._paused_until is None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        sock.close()

    def _accept(self, listener: Listener) -> None:
        for _ in range(ACCEPT_BURST):
            try:
                sock, _ = listener.sock.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # out of file descriptors (or memory): make room, or pause
                if not self._evict(self._greediest()):
                    self._log(f"cannot accept a client ({exc.strerror}); pausing")
                    self._pause()
                return
            sock.setblocking(False)
            self._admit(listener, sock)

    def _pause(self) -> None:
        self._paused_until = time.monotonic() + EMFILE_PAUSE
        for fd in self._listeners:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)

    # -------------------------------------------------------------- clients

    def _admit(self, listener: Listener, sock: socket.socket) -> None:
        try:
            pid, uid = peer_ids(sock)
        except OSError:
            sock.close()
            return
        if uid is None or uid != self.allowed_uid:
            self._log(f"refused a connection from uid {uid}")
            sock.close()
            return
        key = f"forward {listener.forward}" if listener.forward else f"pid {pid}" if pid else f"uid {uid}"
        source = self._sources.get(key)
        if source is None:
            pool = self._forward if listener.forward else self._local
            source = self._sources[key] = Source(key, pool, self._in_flight[bool(listener.forward)])
        crowded = len(source.calls) >= self.source_connections
        if (crowded and not self._evict(source, warn=True)) or (
            len(self._calls) >= self.max_connections and not self._evict(self._greediest())
        ):
            self._turn_away(sock, listener.busy, source)
            return
        call = Call(self, sock, source, listener, pid)
        call._deadline = time.monotonic() + self.client_timeout
        self._calls[call._fd] = source.calls[call._fd] = call
        self._reading[call._fd] = source.reading[call._fd] = call
        self._read(call)  # a client has usually sent its whole request by now
        if call._state == READING:
            self._watch(call, selectors.EVENT_READ)

    def _turn_away(self, sock: socket.socket, busy: list[str], source: Source) -> None:
        """Answer ``busy`` without reading the request (what has arrived of it is discarded
        first: closing on unread bytes would reset the connection, answer and all)."""
        with contextlib.suppress(OSError, ValueError):
            for _ in range(MAX_REQUEST // 65536 + 1):
                if not sock.recv(65536):
                    break
        with contextlib.suppress(OSError, ValueError):
            sock.send(encode(busy, request=False))
        sock.close()
        if source.idle:
            self._sources.pop(source.key, None)

    def _greediest(self) -> Source | None:
        """The source holding the most connections that have not sent their request."""
        holding = [s for s in self._sources.values() if s.reading]
        return max(holding, key=lambda s: len(s.reading)) if holding else None

    def _evict(self, source: Source | None, *, warn: bool = False) -> bool:
        """Close ``source``'s oldest connection that has not sent its request; whether there was one."""
        if source is None or not source.reading:
            return False
        if warn and not source.warned:
            source.warned = True
            self._log(f"{source.key} holds {len(source.calls)} connections: dropping the oldest that send nothing")
        self._close(next(iter(source.reading.values())))
        return True

    def _read(self, call: Call) -> None:
        try:
            chunk = call._sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._close(call)
            return
        if not chunk:  # gone, or finished sending without a whole request
            self._close(call)
            return
        call._inbox += chunk
        line, newline, _ = call._inbox.partition(b"\n")
        if len(line) > MAX_REQUEST:  # too long: one error answer, and the rest is not read
            self._watch(call, 0)
            self._turn_away(call._sock, TOO_LONG, call.source)
            self._close(call)
        elif newline:
            call.fields = decode(line)
            call._inbox = b""
            self._reading.pop(call._fd, None)
            call.source.reading.pop(call._fd, None)
            self._watch(call, 0)
            self._enqueue(call, call._listener.serve)

    def _enqueue(self, call: Call, job: Job) -> None:
        if call._state == CLOSED:
            return
        call._state = QUEUED
        call.source.queue.append((call, job))
        self._pump(call.source)

    def _pump(self, source: Source) -> None:
        while source.in_flight < source.most_in_flight and source.queue:
            call, job = source.queue.popleft()
            if call._state != QUEUED:
                continue
            call._state = WORKING
            call._turns += 1
            source.in_flight += 1
            try:
                source.pool.submit(self._work, call, job, call._turns)
            except RuntimeError:  # shut down
                source.in_flight -= 1
                self._close(call)

    def _work(self, call: Call, job: Job, turn: int) -> None:
        """On a worker: ``job``, then tell the loop it is done."""
        try:
            job(call)
        except BaseException as exc:  # noqa: BLE001 - a bug must not kill a worker; the client falls back
            self._log(f"unexpected {type(exc).__name__} answering a request")
            call.reply([FALL_BACK])
        finally:
            self.post(lambda: self._done(call, turn))

    def _done(self, call: Call, turn: int) -> None:
        source = call.source
        source.in_flight -= 1
        if call._state == WORKING and call._turns == turn:  # the job neither answered nor parked it
            self._close(call)
        self._pump(source)
        if source.idle:
            self._sources.pop(source.key, None)

    def _park(self, call: Call) -> None:
        if call._state == WORKING:
            call._state = PARKED

    def _write(self, call: Call, data: bytes | None) -> None:
        if call._state in (CLOSED, WRITING):
            return
        if data is None:
            self._close(call)
            return
        call._state, call._outbox = WRITING, data
        call._deadline = time.monotonic() + self.client_timeout
        self._writing[call._fd] = call
        self._send(call)  # an answer usually fits in the socket's buffer at once
        if call._state == WRITING:
            self._watch(call, selectors.EVENT_WRITE)

    def _send(self, call: Call) -> None:
        try:
            sent = call._sock.send(call._outbox)
        except BlockingIOError:
            return
        except OSError:
            self._close(call)
            return
        call._outbox = call._outbox[sent:]
        if not call._outbox:
            self._close(call)  # closing ends the answer

    def _watch(self, call: Call, events: int) -> None:
        if events == call._events:
            return
        if call._events and events:
            self._selector.modify(call._fd, events, call)
        elif events:
            self._selector.register(call._fd, events, call)
        else:
            self._selector.unregister(call._fd)
        call._events = events

    def _close(self, call: Call) -> None:
        if call._state == CLOSED:
            return
        self._watch(call, 0)
        call._state = CLOSED
        call._sock.close()
        source = call.source
        for table in (self._calls, self._reading, self._writing, source.calls, source.reading):
            table.pop(call._fd, None)
        if source.idle:
            self._sources.pop(source.key, None)


def _fd_budget() -> int:
    """Connections the file limit leaves room for (the soft limit, less a reserve)."""
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(FD_RESERVE, soft - FD_RESERVE) if soft != resource.RLIM_INFINITY else 1 << 20
