"""One refresher per credential, across threads and processes.

A refresh of a rotating refresh token must happen once: two parties presenting
the same refresh token is, at best, one wasted call and, under RFC 9700
§4.14.2, the whole grant revoked.  Each credential has a lock file in the vault
home, taken with ``flock``: the kernel drops it when its holder exits or dies,
so a crashed refresher never blocks a credential for long.  ``flock`` locks
belong to open file descriptions, so threads of one process (each opening the
file) exclude each other too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from vault.errors import RefreshBusy, VaultUnusable
from vault.settings import REFRESH_LOCK_WAIT


def lock_path(home: Path, name: str) -> Path:
    """The lock file of one credential (its name hashed: file names stay plain ASCII)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return home / "locks" / f"{digest}.lock"


@contextlib.contextmanager
def credential_lock(
    home: Path,
    name: str,
    *,
    wait: float = REFRESH_LOCK_WAIT,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the refresh lock of ``name`` for the ``with`` block.

    Raises:
        RefreshBusy: another party held it for longer than ``wait`` seconds.
    """
    path = lock_path(home, name)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:  # a full or read-only disk: nothing was sent, nothing changed
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise VaultUnusable(
            f"cannot make {name}'s refresh lock in {path.parent} ({reason}); nothing was changed"
        ) from None
    try:
        deadline = monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if monotonic() >= deadline:
                    raise RefreshBusy(
                        f"{name} is being refreshed by another process, still waiting for its provider "
                        f"after {wait:g} s; try again shortly"
                    ) from None
                sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
