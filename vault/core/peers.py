"""Who is asking: a local process, named the way a person (and a session's boundary) needs.

The agent learns a client's pid from the socket's peer credentials (``SO_PEERCRED``).  A pid
alone is not an identity: the kernel reuses it.  :class:`Peer` pairs it with the process's start
time (``/proc/PID/stat`` field 22, clock ticks since boot), which no later process with the same
pid can share; :func:`peer` reads one, :func:`within` says whether a process descends from a
session's root (walking ``PPid`` up, each ancestor checked by pid *and* start time), and
:func:`become_subreaper` makes a session's root the parent of any orphan below it, so that a
double fork (``setsid``, a daemon) cannot leave the session.

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
SHOWN_ARGV = 60
"""The most characters of a command line a question or an audit row shows."""
_MAX_DEPTH = 256
"""Ancestors walked at most (a loop in /proc would be a kernel bug; this bounds it anyway)."""


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

    def shown(self) -> str:
        """``python3 client.py --x (pid 4242) in /home/me/src``: no secret, one line, short."""
        from vault.core.masking import echo
        from vault.errors import printable

        words = [echo(word, quoted=False) for word in self.argv] or [os.path.basename(self.exe or "") or "?"]
        line = " ".join(words)
        if len(line) > SHOWN_ARGV:
            line = line[: SHOWN_ARGV - 1] + "…"
        where = f" in {self.cwd}" if self.cwd else ""
        return printable(f"{line} (pid {self.pid}){where}")


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
