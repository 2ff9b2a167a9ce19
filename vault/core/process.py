"""A process that holds a vault key keeps it out of core dumps.

:func:`keep_secrets_out_of_dumps` sets ``RLIMIT_CORE`` to 0 (no core file, whatever
crashes it) and, on Linux, ``PR_SET_DUMPABLE`` to 0 (no core either, and no other
process of the same user may ptrace it or read its ``/proc/PID/mem``).  The CLI calls
it once it unlocks, the agent before it opens the vault, the TUI when it starts.  A
library user's process is left alone: that is its owner's decision.
"""

from __future__ import annotations

import contextlib
import sys

PR_SET_DUMPABLE = 4
"""``<linux/prctl.h>``."""

_core_limit: int | None = None


def keep_secrets_out_of_dumps() -> None:
    """No core file from this process, and on Linux not dumpable at all (idempotent)."""
    global _core_limit
    import resource

    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        if _core_limit is None:
            _core_limit = soft
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def restore_core_limit() -> None:
    """The core-file limit as it was, for a program this process is about to become
    (``tokendeck exec``; the kernel makes it dumpable again on ``execve``)."""
    import resource

    if _core_limit is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (_core_limit, resource.getrlimit(resource.RLIMIT_CORE)[1]))
