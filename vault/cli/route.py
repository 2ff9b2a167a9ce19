"""The one rule a command that reads the vault follows: a running, unlocked agent answers
(no passphrase asked again), else the vault is opened here."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from vault.cli import terminal

if TYPE_CHECKING:
    from vault.services.reports import Report
    from vault.services.tokens import Vault


def report(op: str, *fields: str, local: Callable[[Vault], Report]) -> int:
    """Print what a command reports, answered by a running, unlocked agent when there is one
    (no passphrase asked again), else by ``local`` on the vault opened here; its exit code.

    Raises:
        VaultError: what the agent, or ``local``, raised.
    """
    from vault.agent.wire import result
    from vault.services.reports import Report

    answer = result(op, *fields)
    if answer is not None:
        done = Report.from_fields(answer)
    else:
        with terminal.open_vault() as vault:
            done = local(vault)
    sys.stderr.write(done.err)
    sys.stdout.write(done.out)
    return done.code
