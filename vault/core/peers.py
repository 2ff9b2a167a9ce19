"""Who is asking: a local process, named the way a person (and a session's boundary) needs.

The agent learns a client's pid from the socket's peer credentials (``SO_PEERCRED``).  A pid
alone is not an identity: the kernel reuses it.  :class:`Peer` pairs it with the process's start
time (``/proc/PID/stat`` field 22, clock ticks since boot), which no later process with the same
pid can share; :func:`peer` reads one, :func:`within` says whether a process descends from a
session's root (walking ``PPid`` up, each ancestor checked by pid *and* start time), and
:func:`become_subreaper` makes a session's root the parent of any orphan below it, so that a
double fork (``setsid``, a daemon) cannot leave the session.  :func:`loopback_client` names
the process below a root that opened a loopback TCP connection (the placeholder proxy's client).

:meth:`Peer.shown` is how a question or the audit names a program: the executable, the
command line cut short, the working directory, with any word that could be a secret masked
(:func:`vault.core.masking.echo`): a command line is the user's text, and may hold a token.

Linux only (``/proc``); elsewhere :func:`peer` answers None and callers treat the reader as
unknown.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

PR_SET_CHILD_SUBREAPER = 36
"""``<linux/prctl.h>``."""
SHOWN_ARGV = 80
"""The most characters of a command line a question or an audit row shows."""
_MAX_DEPTH = 256
"""Ancestors walked at most (a loop in /proc would be a kernel bug; this bounds it anyway)."""
_MAX_DESCENDANTS = 4096
"""Processes below a session's root looked at, at most, when finding which one holds a socket."""


@dataclass(frozen=True)
class Peer:
    """One process: its pid and start time (together, an identity that pid reuse cannot fake),
    its parent's pid, and what it runs."""

    pid: int
    start: int
    ppid: int
    exe: str | None
    argv: tuple[str, ...]
    cwd: str | None

    def brief(self) -> str:
        """``python3 sync.py --x (pid 4242)``: the command line cut short, no secret, one line."""
        from vault.core.masking import echo
        from vault.errors import printable

        # a path is shown by its last part (``python tokendeck token gh``, not two venv paths that
        # fill the line before the words that tell what runs)
        words = [echo(_last_part(word), quoted=False) for word in self.argv]
        words = words or [os.path.basename(self.exe or "") or "?"]
        line = " ".join(words)
        if len(line) > SHOWN_ARGV:
            line = line[: SHOWN_ARGV - 1] + "…"
        return printable(f"{line} (pid {self.pid})")

    def shown(self) -> str:
        """:meth:`brief` and the working directory: ``python3 sync.py (pid 4242) in /home/me/src``."""
        from vault.errors import printable

        return self.brief() + (f" in {printable(self.cwd)}" if self.cwd else "")


def _last_part(word: str) -> str:
    """An absolute path by its last part; any other word (``-c`` code, a sentence) as it is."""
    return os.path.basename(word) if word.startswith("/") and not any(c.isspace() for c in word) else word


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, start time) from ``/proc/PID/stat``; None when the process is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or ')': split after the last
    fields = raw[raw.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):  # field 3: a zombie has ended; it only waits to be reaped
        return None
    return int(fields[1]), int(fields[19])  # field 4 ppid, field 22 starttime


def peer(pid: int) -> Peer | None:
    """The process ``pid`` as it is now, or None when it is gone (or this is not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    stat = _stat(pid)
    if stat is None:
        return None
    exe = cwd = None
    argv: tuple[str, ...] = ()
    with contextlib.suppress(OSError):
        exe = os.readlink(f"/proc/{pid}/exe")
    with contextlib.suppress(OSError):
        cwd = os.readlink(f"/proc/{pid}/cwd")
    with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = tuple(part.decode("utf-8", "replace") for part in f.read().split(b"\0") if part)
    ppid, start = stat
    return Peer(pid, start, ppid, exe, argv, cwd)


def same_process(pid: int, start: int) -> bool:
    """Whether ``pid`` is still the process that started at ``start`` (not gone, not reused)."""
    stat = _stat(pid) if sys.platform.startswith("linux") else None
    return stat is not None and stat[1] == start


def within(pid: int, root: tuple[int, int]) -> bool:
    """Whether process ``pid`` is the session root ``(pid, start)`` or descends from it.

    Each step up is read afresh; a root that has exited (or whose pid now names another
    process) contains nothing, and neither does a chain that breaks on the way up.
    """
    root_pid, root_start = root
    if not same_process(root_pid, root_start):
        return False
    current = pid
    for _ in range(_MAX_DEPTH):
        stat = _stat(current)
        if stat is None:
            return False
        if current == root_pid:
            return stat[1] == root_start
        ppid, _start = stat
        if ppid <= 1:
            return False
        current = ppid
    return False


def become_subreaper() -> bool:
    """Make this process the reaper of orphans below it (Linux ``PR_SET_CHILD_SUBREAPER``): a
    descendant whose parent exits is re-parented here, not to init, and so stays inside a
    session rooted here.  Whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return bool(ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> list[int]:
    """The processes below ``root`` (children first, then theirs), read from each task's
    ``/proc/PID/task/TID/children``; what exits meanwhile is simply missing."""
    found: list[int] = []
    todo = [root]
    while todo and len(found) < _MAX_DESCENDANTS:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                    children = [int(word) for word in f.read().split()]
                    found.extend(children)
                    todo.extend(children)
    return found


def loopback_client(port: int, among: list[int]) -> int | None:
    """Which of the processes ``among`` holds the TCP socket whose local port is ``port`` (the
    other end of a connection a local server accepted from ``127.0.0.1:port`` or ``[::1]:port``),
    or None.  Read from ``/proc/net/tcp{,6}`` (the socket's inode) and the candidates' open files:
    only ``among`` is searched, so the cost is the size of a session, not of the machine."""
    if not sys.platform.startswith("linux"):
        return None
    inodes = {inode for table in ("tcp", "tcp6") for inode in _inodes_with_local_port(table, port)}
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in among:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                        return pid
    return None


def _inodes_with_local_port(table: str, port: int) -> list[str]:
    suffix = f":{port:04X}"
    found = []
    with contextlib.suppress(OSError), open(f"/proc/net/{table}") as f:
        next(f, None)  # the header
        for line in f:
            fields = line.split()
            if len(fields) > 9 and fields[1].endswith(suffix):
                found.append(fields[9])
    return found
