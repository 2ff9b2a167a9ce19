"""What to do when the vault is locked and nobody here can type its passphrase: the one
place for that wording, used by every command (:func:`vault.cli.terminal.open_vault`),
``tokendeck lock``, the forward of ``tokendeck ssh`` and the MCP bridge.

The remedy depends on the situation, found by asking the agent: a locked agent is unlocked
with ``tokendeck unlock``; with no agent, ``tokendeck agent start`` starts one (both in a
terminal); or the environment holds the passphrase's source.
"""

from __future__ import annotations

import os

from vault.settings import NO_AGENT_ENV, PASSPHRASE_COMMAND_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

AGENT_LOCKED = "the agent is locked: tokendeck unlock"
"""A locked agent, and the command that unlocks it (``tokendeck agent start`` does too)."""
NO_AGENT = "no agent runs: tokendeck agent start"
"""No agent for this vault, and the command that starts one."""
SET_ONE = f"{PASSPHRASE_COMMAND_ENV}, {PASSPHRASE_FILE_ENV} or {PASSPHRASE_ENV}"
"""The environment's sources of the passphrase, for a process no one can answer."""


def agent_state(home: str | os.PathLike[str] | None = None) -> str | None:
    """``"unlocked"`` or ``"locked"`` for the agent serving ``home``, or None when none answers."""
    from vault.agent import wire

    answer = wire.call("ping", home=home, opt_out=False)
    if answer is None or answer[0] != "0" or len(answer) < 3:
        return None
    return answer[2]


def agent_remedy(state: str | None) -> str:
    """One of :data:`AGENT_LOCKED` or :data:`NO_AGENT` for an :func:`agent_state` that is not unlocked."""
    return AGENT_LOCKED if state == "locked" else NO_AGENT


def no_key(state: str | None, *, who: str = "") -> str:
    """The line for "the vault is locked and there is no terminal to ask on", naming the
    remedy for ``state`` (:func:`agent_state`); ``who`` names the front end that cannot ask
    (``"the bridge"``), default this process.

    - a locked agent: ``the agent is locked: tokendeck unlock (in a terminal), or set ...``
    - no agent: ``no agent runs: tokendeck agent start (in a terminal), or set ...``
    - an unlocked agent this process does not use: set ``TOKENDECK_*``, or unset
      ``TOKENDECK_NO_AGENT`` when that is what keeps it out.
    """
    cannot = f"{who} has no terminal to ask for the passphrase" if who else "no terminal to ask for the passphrase"
    if state == "unlocked":
        if os.environ.get(NO_AGENT_ENV):
            return f"{cannot}, and {NO_AGENT_ENV} keeps the running agent out: unset it, or set {SET_ONE}"
        return f"{cannot}, and the running agent does not serve this: set {SET_ONE}"
    return f"{agent_remedy(state)} (in a terminal), or set {SET_ONE}; {cannot}"
