"""The requests the agent answers from the vault it holds: each is what the command of that
name does without the agent, so a client gets the same answer either way.

Besides the reads below, every command that changes the vault is a request here
(:data:`vault.services.protocol.COMMAND_NAMES`, one JSON field each), done by the same
function the command runs when there is no agent (:func:`vault.services.commands.run`).
They are served on the agent's own socket only (a forward serves
:data:`vault.agent.forwarding.SERVED_OPS`), and only while it is unlocked (locked, the agent
answers "do it yourself": the command opens the vault and asks for the passphrase as before).
The agent never logs a request's fields: a change can carry a secret (a token, a client
secret, a backup's passphrase)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection

from vault.errors import InvalidInput
from vault.services.protocol import COMMAND_NAMES, READS
from vault.services.tokens import Vault

Handler = Callable[[Vault, list[str]], list[str]]


def _token(vault: Vault, args: list[str]) -> list[str]:
    name, *_for = args  # a proxy's read names the host it is for after it
    return [vault.token(name)]


def _tokens(vault: Vault, names: list[str]) -> list[str]:
    for name in names:
        vault.get(name)  # every name exists before any refresh happens (as exec does)
    return [vault.token(name) for name in names]


def _refresh(vault: Vault, args: list[str]) -> list[str]:
    """A forced refresh (``httpx_auth`` after a 401), then the token."""
    from vault.services.refreshing import refresh

    (name,) = args
    refresh(vault, name, force=True)
    return [vault.token(name)]


def listing(vault: Vault, args: list[str], only: Collection[str] | None = None) -> list[str]:
    """``list SHAPE TIMES`` (of the credentials in ``only``, when given: a forward's)."""
    from vault.services.listing import list_output

    shape, times = args
    return list(list_output(vault.records, as_json=shape == "json", human=times == "human", only=only))


def _git(vault: Vault, args: list[str]) -> list[str]:
    from vault.services.gitcred import format_answer, lookup

    _protocol, host, _path = args
    found = lookup(vault, host)
    if found is None:
        return []
    format_answer(*found)  # refuse what git could not read, as the local path does
    return list(found)


def _show(vault: Vault, args: list[str]) -> list[str]:
    from vault.services import reports

    name, shape, times = args
    return reports.show(vault, name, as_json=shape == "json", human=times == "human").fields()


def _audit(vault: Vault, args: list[str]) -> list[str]:
    from vault.services import reports

    name, limit, shape, times, *more = args  # a fifth field, the run, only from clients that know it
    number = int(limit) if limit.isdigit() else None
    run = more[0] if more else None
    return reports.audit(
        vault, name=name or None, limit=number, as_json=shape == "json", human=times == "human", run=run or None
    ).fields()


def _proxy_runs(vault: Vault, args: list[str]) -> list[str]:
    from vault.services.proxy_runs import runs_report

    limit, shape, times = args
    out, err = runs_report(
        vault.records, limit=int(limit) if limit.isdigit() else None, as_json=shape == "json", human=times == "human"
    )
    return [out, err, "0", ""]


def _refresh_now(vault: Vault, args: list[str]) -> list[str]:
    from vault.services import reports

    name, within = args
    return reports.refresh(vault, name or None, due_within=within or None).fields()


def _names(vault: Vault, args: list[str]) -> list[str]:
    """Every credential's name (for shell completion)."""
    return [credential.name for credential in vault.credentials()]


def _git_map(vault: Vault, args: list[str]) -> list[str]:
    host, name, username = args
    vault.records.links.map_git_host(host, name, username or None)
    return []


def _proxy_setup(vault: Vault, args: list[str]) -> list[str]:
    """``proxy-setup ALLOWED``: what ``tokendeck proxy run`` needs before it starts."""
    from vault.services import proxying

    (allowed,) = args
    return proxying.setup(vault, proxying.allowed_from_field(allowed)).fields()


def _proxy_audit(vault: Vault, args: list[str]) -> list[str]:
    """``proxy-audit ROWS``: a proxy run's audit rows, written by the agent that holds the vault."""
    from vault.services import proxying

    (rows,) = args
    proxying.record(vault, proxying.rows_from_field(rows))
    return []


OPS: dict[str, Handler] = {
    "token": _token,
    "tokens": _tokens,
    "refresh": _refresh,
    "list": listing,
    "git": _git,
    "show": _show,
    "audit": _audit,
    "proxy-runs": _proxy_runs,
    "refresh-now": _refresh_now,
    "git-map": _git_map,
    "names": _names,
    "proxy-setup": _proxy_setup,
    "proxy-audit": _proxy_audit,
}
"""Requests that read the vault; each is what the command of that name does without the agent."""


def _command(op: str, vault: Vault, args: list[str]) -> list[str]:
    """A command's request (:mod:`vault.services.commands`): one JSON field."""
    from vault.services.commands import run

    if len(args) != 1:
        raise InvalidInput(f"a malformed {op} request; nothing was done")
    return run(vault, op, args[0]).fields()


COMMANDS: dict[str, Handler] = {name: functools.partial(_command, name) for name in COMMAND_NAMES}
"""The commands' requests, by name: those that change the vault, and the reads they ask first."""
CHANGES = frozenset(COMMAND_NAMES) - frozenset(READS)
"""The requests that change the vault."""
OPS.update(COMMANDS)
