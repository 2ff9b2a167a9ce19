"""The one rule every command that reads or changes the vault follows: a running, unlocked
agent for this vault does the work (no passphrase asked again); when there is none (no
agent, a locked one, one serving another vault: it answers "do it yourself"), the vault is
opened here, with this terminal's prompt, and the same function does the same work.

A command gathers its input first (arguments, a secret from stdin or a prompt, a
confirmation, a sign-in in the browser), then hands the request to :class:`Route`, which
keeps its choice for the rest of the command: once the vault is opened here it is used for
every later step, so nobody is asked for the passphrase twice.  What the agent does for a
command is :mod:`vault.services.commands`; this side only prints the
:class:`~vault.services.protocol.Report` it gets back.

Kept local on purpose: ``init`` and ``restore`` (there is no vault for an agent to hold
yet, or the vault is being replaced under it: restore refuses while the agent has it open),
``passphrase change`` (re-keying changes the key the agent holds: the agent notices and
locks itself), and ``import token-storage`` (it stores through the library's TokenStorage,
:mod:`vault.integrations`, a layer above the agent that the agent may not import).  A
request longer than the agent takes (:data:`vault.agent.wire.MAX_REQUEST`: a very large
import) is also done here.  ``token``, ``list``, ``exec`` and ``git-credential get``
ask the agent before argparse (:mod:`vault.cli.fast`) and fall back here.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from vault.cli import terminal

if TYPE_CHECKING:
    from vault.services.protocol import Report
    from vault.services.tokens import Vault


class Route:
    """One command's way to the vault: the agent, else the vault opened here (once)."""

    def __init__(self) -> None:
        self._vault: Vault | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Route:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stack.close()

    def ask(self, op: str, *fields: str, local: Callable[[Vault], Report], change: bool = False) -> Report:
        """The agent's answer to ``op`` with ``fields``, else ``local`` on the vault opened here.

        Raises:
            VaultError: what the agent, or ``local``, raised; AgentNoAnswer: ``change``, and the
                agent took the request but ended without an answer.
        """
        from vault.agent.wire import result
        from vault.services.protocol import Report

        if self._vault is None:
            answer = result(op, *fields, change=change)
            if answer is not None:
                return Report.from_fields(answer)
            self._vault = self._stack.enter_context(terminal.open_vault())
        return local(self._vault)

    def command(self, op: str, **request: Any) -> Report:
        """Run the command request ``op`` (:mod:`vault.services.commands`) with ``request``."""
        from vault.services.protocol import READS

        def local(vault: Vault) -> Report:
            from vault.services.commands import run

            return run(vault, op, payload)

        payload = json.dumps(request)
        return self.ask(op, payload, local=local, change=op not in READS)


def show(done: Report) -> int:
    """Print a report (messages, then data) and return its exit code."""
    sys.stderr.write(done.err)
    sys.stdout.write(done.out)
    return done.code


def report(op: str, *fields: str, local: Callable[[Vault], Report]) -> int:
    """Print what a read reports (:meth:`Route.ask`); its exit code."""
    with Route() as route:
        return show(route.ask(op, *fields, local=local))


def command(op: str, **request: Any) -> int:
    """Run one command request and print what it reports; its exit code."""
    with Route() as route:
        return show(route.command(op, **request))


def data(done: Report) -> dict[str, Any]:
    """A report's ``data``."""
    found = json.loads(done.data) if done.data else {}
    return found if isinstance(found, dict) else {}


def data_of(done: Report) -> Any:
    """A report's ``data``, whatever JSON it is (None when there is none)."""
    return json.loads(done.data) if done.data else None
