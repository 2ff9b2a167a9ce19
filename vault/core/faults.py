"""Named steps where the fault-injection tests kill a tokendeck process.

``TOKENDECK_FAULT=POINT`` (or ``POINT:N``) makes the process SIGKILL itself the first (or
N-th) time it reaches :func:`reached` with that name: how ``tests/test_faults.py`` proves
that a kill at every step of a write leaves a vault that opens on the first try, with
nothing lost and no plaintext anywhere.  Unset, each step costs one comparison.

The steps: ``commit`` (just before a transaction commits) and ``committed`` (just after),
``rekey-announced``, ``rekeyed``, ``checkpointed`` (a passphrase change), ``export-temp``
(the temp file is written and synced) and ``export-renamed`` (it has replaced the target);
a restore's ``restore-staged`` (the incoming vault is written, its journal not yet),
``restore-committed`` (the journal is written), ``restore-moved`` (after each file it moves)
and ``restore-done`` (every file moved, the journal not yet removed).
"""

from __future__ import annotations

import os

from vault.settings import FAULT_ENV

_point, _, _count = os.environ.get(FAULT_ENV, "").partition(":")
_left = int(_count) if _count.isdigit() else 1


def reached(point: str) -> None:
    """Die here if the fault plan names ``point`` and this is its turn."""
    global _left
    if point != _point:
        return
    _left -= 1
    if _left == 0:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
