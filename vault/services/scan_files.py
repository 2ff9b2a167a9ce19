"""``tokendeck scan``'s reading of one file, and the workers that read them
(:mod:`vault.services.scanning` walks and hands them out; docs/scan.md).

Each file is opened once (``O_NOFOLLOW | O_NONBLOCK``, checked again on the open descriptor) and
read whole when it is a regular file of the user's under the size limit with no NUL byte in its
first block.  Where the matcher can (:attr:`Matcher.reads_files`), a batch is first read and
searched in C (``vault/core/literals.c``, the same checks), and only a file with something to say
(a copy, a skip, an error) is opened again here, to say it.
"""

from __future__ import annotations

import errno
import os
import stat
from functools import partial
from typing import TYPE_CHECKING

from vault.services.scan_match import Matcher

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Executor

BINARY_PROBE = 8192
"""A NUL byte in this first block marks a binary file, skipped."""


FileResult = tuple[str, str, int, list[tuple[str, str, bool, str, int]]]
"""What reading and matching one file gave: status (read, skip, unreadable, binary, link), why,
its size, and its hits (credential, kind, live, form, line)."""


def scan_file(matcher: Matcher, path: str, max_size: int, uid: int) -> FileResult:
    """Open ``path`` once (no symlink followed, nothing but a regular file of ``uid``'s under
    ``max_size`` read, no NUL in its first block) and match its bytes.  The walk sends only what
    its ``lstat`` found a regular file, so a FIFO, a socket or a device is never opened; one put
    in its place meanwhile is opened without blocking or becoming a terminal, and not read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return ("link", "", 0, [])  # a symlink: judged by the walk, not here
        if exc.errno == errno.ENXIO:
            return ("skip", "a socket", 0, [])
        return ("unreadable", why(exc), 0, [])
    try:
        info = os.fstat(fd)
        kind = not_regular(info.st_mode)
        if kind:
            return ("skip", kind, 0, [])
        if info.st_uid != uid:
            return ("skip", "not yours (owned by another user)", 0, [])
        if info.st_size > max_size:
            return (
                "skip",
                f"larger than the {size_text(max_size)} limit ({size_text(info.st_size)}; --max-size)",
                0,
                [],
            )
        try:
            # One read of the size fstat gave, into one buffer (no copy joins pieces); more only if it
            # grew.  A larger file's first block is looked at first, so a binary is not read whole.
            if info.st_size >= BINARY_PROBE and b"\0" in os.pread(fd, BINARY_PROBE, 0):
                return ("binary", "", 0, [])
            data = os.read(fd, min(info.st_size, max_size) + 1)
            if info.st_size < BINARY_PROBE and b"\0" in data[:BINARY_PROBE]:
                return ("binary", "", 0, [])
            if len(data) > info.st_size and len(data) <= max_size:
                data += os.read(fd, max_size + 1 - len(data))
        except OSError as exc:
            return ("unreadable", why(exc), 0, [])
    finally:
        os.close(fd)
    hits = [(h.who.credential, h.who.kind, h.who.live, h.form, h.line) for h in matcher.find(data)]
    return ("read", "", len(data), hits)


def why(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else type(exc).__name__


_WORKER: tuple[Matcher, int, int] | None = None
"""A worker process's matcher, size limit and user id: inherited from the scan at the fork (the
secrets are never pickled, sent or written; the workers are this process's own children)."""


def start_workers(
    jobs: int, matcher: Matcher, max_size: int, uid: int
) -> tuple[Executor, Callable[[list[str]], BatchResult]]:
    """``jobs`` workers, and what to hand each batch to.  Threads where the matcher reads whole
    files in C (:attr:`Matcher.reads_files`: it holds no lock of Python's while it reads and
    searches, and a thread starts in microseconds); else processes forked from this one."""
    if matcher.reads_files:
        from concurrent.futures import ThreadPoolExecutor  # not multiprocessing (about 15 ms to import)

        return ThreadPoolExecutor(jobs, thread_name_prefix="scan"), partial(read_batch, matcher, max_size, uid)
    import multiprocessing
    import signal
    from concurrent.futures import ProcessPoolExecutor

    global _WORKER  # noqa: PLW0603 - what the forked workers inherit
    _WORKER = (matcher, max_size, uid)
    pool = ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("fork"), initializer=signal.signal,
        initargs=(signal.SIGINT, signal.SIG_IGN),  # Ctrl+C is the scan's to handle
    )  # fmt: skip
    return pool, work


BatchResult = tuple[int, int, list[tuple[str, FileResult]]]
"""What a worker gives back for a batch: how many files it read that held nothing, their bytes,
and every other file's result (a copy found, a skip): most of a large scan is counted, not sent."""


def work(batch: list[str]) -> BatchResult:
    """:func:`read_batch` in a forked worker, with what it inherited."""
    if _WORKER is None:
        raise RuntimeError("no matcher in this worker")
    return read_batch(*_WORKER, batch)


def read_batch(matcher: Matcher, max_size: int, uid: int, batch: list[str]) -> BatchResult:
    """Read and match every file of ``batch``: in C where the matcher can (a file with nothing to
    say is only counted), and here, with :func:`scan_file`, for the rest."""
    if matcher.reads_files:
        from vault.core.literals import BINARY

        clean = matcher.clean_files(batch, uid=uid, max_size=max_size, probe=BINARY_PROBE)
        again: list[str] = []
        rest: list[tuple[str, FileResult]] = []
        files = size = 0
        for path, read in zip(batch, clean, strict=True):
            if read >= 0:
                files, size = files + 1, size + read
            elif read == BINARY:
                rest.append((path, ("binary", "", 0, [])))
            else:
                again.append(path)
    else:
        again, files, size, rest = batch, 0, 0, []
    for path in again:
        result = scan_file(matcher, path, max_size, uid)
        if result[0] == "read" and not result[3]:
            files += 1
            size += result[2]
        else:
            rest.append((path, result))
    return files, size, rest


def not_regular(mode: int) -> str:
    """What a file the scan skips is ("" for a regular file): a symlink, or what
    :func:`vault.core.outside.describe_kind` says of the rest."""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISLNK(mode):
        return "a symlink"
    from vault.core.outside import describe_kind

    return describe_kind(mode)


def size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"
