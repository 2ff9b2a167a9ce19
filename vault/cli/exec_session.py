"""``tokendeck exec --session``: COMMAND runs as a session of the agent (:mod:`vault.agent.sessions`).

This process asks the running agent for a session rooted at itself (the agent reads its pid from
the socket), becomes a child subreaper (a double fork stays below it), reads the tokens as the
session's root, and gives COMMAND ``$TOKENDECK_AGENT_SOCK``: the session's own socket.  With
``--no-mask`` it then becomes COMMAND (``execvpe`` keeps the pid, the start time and the subreaper
setting), so the root the agent knows is COMMAND itself; otherwise it stays COMMAND's parent (below).
Either way the session ends when COMMAND does.  Inside, every
tokendeck read gets the names given with ``-e`` and nothing else, and every read is audited with
the session.

When it masks COMMAND's output (the default), or with ``--confirm`` (a yes before each token
read) or ``--confirm=once`` (one per credential), this process stays COMMAND's parent and the
session's root, so that it can ask on this terminal when no TUI or desktop notification does
(:mod:`vault.cli.consent_terminal`): the session's ``--confirm``, or a credential that asks first
(``tokendeck confirm NAME on|once``); its own reads of the ``-e`` tokens go through the session's
socket, and are asked about like any other.  With ``--no-mask`` and no ``--confirm`` it becomes COMMAND.

A session needs the agent: without one running and unlocked, the command says so and starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from vault.errors import InvalidInput, VaultLocked
from vault.settings import AGENT_SOCK_ENV

if TYPE_CHECKING:
    from vault.cli.consent_terminal import TerminalAsker

NO_AGENT = "a session needs the agent running and unlocked (tokendeck agent start); nothing was started"


def open_session(bindings: Sequence[tuple[str, str]], command: Sequence[str], ttl: str | None) -> dict[str, str]:
    """Open the session, read its tokens: what COMMAND's environment gets (each ``VAR`` its token,
    and ``$TOKENDECK_AGENT_SOCK``).

    Raises:
        InvalidInput: a bad ``--ttl``, or this process is already inside a session or a forward.
        VaultLocked: no agent running and unlocked.
        VaultError: what the agent refused (a name not stored).
    """
    _session_id, path, tokens = _open(bindings, command, ttl, None)
    return {**tokens, AGENT_SOCK_ENV: path}


def run_as_parent(
    bindings: Sequence[tuple[str, str]], command: Sequence[str], ttl: str | None, confirm: str | None,
    start: Callable[[dict[str, str]], int],
) -> int:  # fmt: skip
    """A session whose root is this process, COMMAND's parent (``--confirm``: ``confirm`` ``each`` or
    ``once``; or masking its output): open the session, asking on this terminal while it lasts (the
    session's ``--confirm``, or a credential that asks first: ``tokendeck confirm NAME``), read its
    tokens (asked about too), and ``start`` COMMAND with them (and ``$TOKENDECK_AGENT_SOCK``) as
    this process's child, to its end: its exit code.

    Raises:
        InvalidInput, VaultLocked: as :func:`open_session`.
        VaultError: what the agent refused (a name not stored, a use the user did not allow).
    """
    asker: list[TerminalAsker] = []
    try:
        _session_id, path, tokens = _open(bindings, command, ttl, confirm, asker, parent=True)
        return start({**tokens, AGENT_SOCK_ENV: path})
    finally:
        for started in asker:
            started.stop()


def _open(
    bindings: Sequence[tuple[str, str]], command: Sequence[str], ttl: str | None, confirm: str | None,
    asker: list[TerminalAsker] | None = None, *, parent: bool = False,
) -> tuple[str, str, dict[str, str]]:  # fmt: skip
    """The session's id, its socket, and each ``VAR``'s token (with ``parent``, this process stays
    outside the session as COMMAND's parent: the tokens are read through the session's socket, a
    terminal asker started first and added to ``asker``)."""
    from vault.agent import wire
    from vault.core.peers import become_subreaper
    from vault.core.timefmt import parse_duration

    seconds = parse_duration(ttl) if ttl else None
    if seconds is not None and seconds <= 0:
        raise InvalidInput("--ttl must be more than zero")
    if wire.forwarded_socket() is not None:
        raise InvalidInput(f"already inside a session or a forward (${AGENT_SOCK_ENV} is set): it cannot open another")
    names = list(dict.fromkeys(name for _, name in bindings))
    become_subreaper()
    label = os.path.basename(command[0])  # never the arguments: they may hold secrets
    kind = f"parent:{confirm or ''}" if parent else "exec"
    opened = wire.call("session-open", kind, "" if seconds is None else str(seconds), label, *names, opt_out=False)
    if opened is None or opened[0] == wire.FALL_BACK:
        raise VaultLocked(NO_AGENT)
    if opened[0] != "0":
        raise wire.error_from(opened)
    session_id, path = opened[1], opened[2]
    if parent and asker is not None:
        from vault.cli.consent_terminal import TerminalAsker

        asker.append(TerminalAsker(session_id).start())
    answer = wire.call("tokens", *names, opt_out=False, via=path if parent else None)
    if answer is None or answer[0] == wire.FALL_BACK:
        raise VaultLocked(NO_AGENT)
    if answer[0] != "0":
        raise wire.error_from(answer)
    by_name = dict(zip(names, answer[1:], strict=True))
    return session_id, path, {var: by_name[name] for var, name in bindings}
