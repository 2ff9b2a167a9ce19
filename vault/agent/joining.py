"""A TUI joins an unlocked agent: the agent hands it the vault's key over its own socket.

The TUI needs an open :class:`~vault.services.tokens.Vault` in its own process (it shows,
edits and signs in with it), so "unlocked by the agent" means the agent gives the TUI the
key it holds, as ``gpg-agent`` gives a cached passphrase to the same user's ``gpg``.  The
``join`` request is answered:

- only on the agent's own socket (0600, in a 0700 directory), and only to a peer whose
  credentials show the agent's own user id (checked on every connection before a byte is
  read, :mod:`vault.agent.switchboard`);
- never through a forward (``tokendeck ssh``): a forward passes on ``token``, ``tokens``,
  ``list`` and ``git`` only (:data:`vault.agent.forwarding.SERVED_OPS`), and ``join`` is
  not even in :meth:`~vault.agent.server.Agent.answer`, only in the local socket's handler;
- only while the agent is unlocked (a locked agent holds no key: the TUI asks as before).

Why this gives nobody anything new: a process that can connect to that socket runs as the
same user, and can already read every token through ``token`` and ``list``, read the
agent's memory (same uid, unless ptrace is restricted), and run ``tokendeck`` itself.  What
travels is the derived 256-bit SQLCipher key (the agent never holds the passphrase), so it
does not reveal a passphrase the user may use elsewhere.  It is never logged, printed, put
in argv or an exception: the agent's log says only ``a TUI (pid N) joined``, and the TUI
proves the key as it proves a typed one (:func:`vault.services.opening.open_handed`) before
anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from vault.agent import wire
from vault.core.clock import Clock
from vault.core.secret import Secret
from vault.errors import VaultError, to_fields
from vault.services.opening import open_handed
from vault.services.tokens import Vault

JOIN_OP = "join"
"""The request; its one argument says who joins (``tui``), for the agent's log."""
JOINERS = {"tui": "a TUI"}
"""Who joins, as the agent's log names them."""


def hand_over(vault: Vault, args: list[str], pid: int | None, log: Callable[[str], None]) -> list[str]:
    """The agent's answer to ``join``: the key of its open ``vault`` and the agent's pid (the
    log line names who joined, never the key).  Called for the agent's own socket only."""
    try:
        key = vault.records.keys.handover_key()
    except VaultError as exc:
        return [str(exc.exit_code), *to_fields(exc)]
    log(f"{JOINERS.get(args[0] if args else '', 'a client')} (pid {pid or 'unknown'}) joined")
    return ["0", key.secret.reveal(), str(os.getpid())]


def join_unlocked(home: str | os.PathLike[str], clock: Clock | None = None) -> tuple[Vault, int] | None:
    """The vault at ``home`` opened with the key of its unlocked agent, and the agent's pid; None
    when no unlocked agent answers (none runs, it is locked, it refused) or its key does not
    open the vault: then the caller asks for the passphrase as before.  Never a prompt."""
    if wire.forwarded_socket() is not None:  # a remote's forward never hands a key: do not ask
        return None
    home = os.path.abspath(os.fspath(home))
    answer = wire.call(JOIN_OP, "tui", home=home, opt_out=False)
    if answer is None or answer[0] != "0" or len(answer) != 3 or not answer[2].isdigit():
        return None
    key, pid = Secret(answer[1]), int(answer[2])
    answer.clear()  # the key's only copy is the Secret's from here on
    try:
        return open_handed(home, key, clock), pid
    except VaultError:
        return None
