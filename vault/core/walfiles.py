"""The vault's ``-wal`` and ``-shm`` files, seen from outside SQLite: whether the WAL holds
anything, whether any other process has the vault open, and tidying up after a refused open.

Every connection to a WAL database holds a shared lock on one byte of its ``-shm`` (the WAL
index) while it is open; an exclusive lock on that byte is how one finds out that nobody
else does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from vault.errors import VaultBusy

SHM_DMS_BYTE = 128
"""SQLite's ``WALINDEX_LOCK_OFFSET + SQLITE_SHM_NLOCK``: the byte of ``-shm`` every connection
holds a shared lock on while it has the WAL open (``os_unix.c``)."""


@contextlib.contextmanager
def sole_user(db: Path) -> Iterator[None]:
    """Hold ``db`` against every other process for the block, or refuse: the exclusive lock on
    its WAL index's "DMS" byte, which every open connection holds shared (so the agent, a TUI
    or a script that has the vault open is found), and which keeps anyone from opening it
    meanwhile.  The WAL index is created (0600) when there is none.  A lock of this process's
    own is no obstacle (POSIX record locks belong to the process).

    Raises:
        VaultBusy: another process has the vault open.
    """
    shm = f"{db}-shm"
    created = not os.path.exists(shm)
    fd = os.open(shm, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE)
        except OSError:
            raise VaultBusy(
                "the vault is open in another process (the agent, a TUI or a script): "
                "stop it (tokendeck agent stop) and try again; nothing was changed"
            ) from None
        try:
            yield
        finally:
            if created:  # ours, and nobody else's while the lock is held
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(shm)
    finally:
        os.close(fd)


def remove_unused_wal(path: Path) -> None:
    """Remove the empty ``-wal`` and the ``-shm`` a refused read-only open created, as SQLite
    itself would on closing the last read-write connection: only while no connection has them
    open (an exclusive lock on the WAL index's "DMS" byte, which every open connection shares)."""
    try:
        fd = os.open(f"{path}-shm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE)
        if os.stat(f"{path}-wal").st_size == 0:
            os.unlink(f"{path}-wal")
        os.unlink(f"{path}-shm")
    except OSError:
        pass  # someone else has the vault open: the files are theirs
    finally:
        os.close(fd)


def wal_has_frames(path: Path) -> bool:
    """Whether ``path``'s WAL holds anything (a WAL header alone is 32 bytes)."""
    try:
        return os.stat(f"{path}-wal").st_size > 32
    except OSError:
        return False
