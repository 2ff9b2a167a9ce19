"""Fault injection into a running tokendeck process with libfiu (Debian's ``fiu-utils``):
the process is started under ``fiu-run -x`` (libfiu's POSIX preload library, which wraps
``write``, ``pwrite``, ``fsync``, ``fdatasync`` and the rest of libc), and ``fiu-ctrl``
makes those calls fail, with a chosen errno, while it runs: a failing or full disk under a
live agent, exactly as the operating system would report one.

``tests/system-deps.sh`` installs ``fiu-utils``; without it these tests skip with one
reason, and fail under CI.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.system import unavailable

FIU_RUN = shutil.which("fiu-run")
FIU_CTRL = shutil.which("fiu-ctrl")

FSYNC_FAILS = (("posix/io/sync/fsync", errno.EIO), ("posix/io/sync/fdatasync", errno.EIO))
"""A disk that takes writes but cannot make them durable (SQLite syncs with fdatasync or fsync)."""
WRITE_FULL = (("posix/io/rw/pwrite", errno.ENOSPC), ("posix/io/rw/write", errno.ENOSPC))
"""A full disk: every write says ENOSPC (SQLite writes its WAL with pwrite)."""
WRITE_FAILS = (("posix/io/rw/pwrite", errno.EIO),)
"""A disk whose writes fail with an I/O error."""


def require_fiu() -> None:
    """Skip (fail under CI) when libfiu's tools are not installed."""
    if FIU_RUN is None or FIU_CTRL is None or not Path("/usr/lib/fiu/fiu_posix_preload.so").exists():
        unavailable("libfiu (fiu-run, fiu-ctrl) is not installed")


def under_fiu(argv: list[str], control: Path) -> list[str]:
    """``argv`` run under libfiu's POSIX wrappers, remote-controlled through fifos at ``control``."""
    assert FIU_RUN is not None
    return [FIU_RUN, "-x", "-f", str(control), *argv]


@dataclass
class Injector:
    """Turns failure points on and off in one running process."""

    pid: int
    control: Path

    def _ctrl(self, *commands: str) -> None:
        assert FIU_CTRL is not None
        argv = [FIU_CTRL, "-f", str(self.control)]
        for command in commands:
            argv += ["-c", command]
        subprocess.run([*argv, str(self.pid)], check=True, timeout=30, capture_output=True)

    def fail(self, points: tuple[tuple[str, int], ...]) -> None:
        """Make every call of each point fail with its errno, from now on."""
        self._ctrl(*(f"enable name={name},failinfo={number}" for name, number in points))

    def heal(self, points: tuple[tuple[str, int], ...]) -> None:
        """Let those calls succeed again."""
        self._ctrl(*(f"disable name={name}" for name, _ in points))
