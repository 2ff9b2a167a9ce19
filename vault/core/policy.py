"""The vault's one auto-lock policy: ``vault.toml`` beside the vault, for every front end.

One rule decides when the unlocked vault locks by itself: the agent locks after
``lock_after`` without a request from any client (``tokendeck token``, ``exec``, the MCP
bridge, the git helper, a forward, a TUI whose user is at the keys).  It is kept with the
vault, not with a front end, so the agent, the TUI and the CLI read the same value:

    lock_after = "1h"      # a duration ("30m", "8h") or seconds; "never" turns it off

A front end may hide its own view sooner (the TUI's ``auto_lock_after`` in ``tui.toml``),
but never locks or shortens the agent for it; ``tokendeck lock`` and the TUI's Ctrl+L lock
everything at once, on purpose.  A running agent follows changes to the file within a few
seconds (:func:`vault.agent.launch.follow_policy`); ``tokendeck agent start --lock-after``
overrides the policy for the agent it starts (which then does not follow the file).

The file holds no secret (it is not encrypted); it is written 0600 like everything in the home.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vault.settings import AGENT_LOCK_AFTER

POLICY_FILE = "vault.toml"
"""The vault's settings, beside ``vault.db`` (optional; every key has a default)."""
MAX_POLICY = 64 * 1024
"""The largest policy file read."""


@dataclass(frozen=True)
class LockPolicy:
    """When the unlocked vault locks by itself.

    Attributes:
        lock_after: seconds without a request from any client before the agent locks
            (None: never by itself).
    """

    lock_after: float | None = AGENT_LOCK_AFTER


def parse_lock_after(value: object, where: str) -> float | None:
    """A ``lock_after`` value: a positive duration (``"30m"``) or number of seconds, or ``never``.

    Raises:
        InvalidInput: anything else (``where`` names the file or option in the message).
    """
    from vault.core.timefmt import parse_duration
    from vault.errors import InvalidInput

    if value is False or (isinstance(value, str) and value.strip().lower() == "never"):
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except InvalidInput:
            seconds = None
    if seconds is None or seconds <= 0:
        raise InvalidInput(f"{where} must be a positive duration, like 30m or 8h, or never")
    return seconds


def load_policy(home: Path) -> LockPolicy:
    """The policy kept in ``home`` (the defaults when there is no ``vault.toml``).

    Raises:
        InvalidInput: the file is not TOML, has an unknown key, or a value that is not a duration.
    """
    from vault.core.outside import read_settings_file
    from vault.errors import InvalidInput

    path = home / POLICY_FILE
    raw = read_settings_file(path, MAX_POLICY)
    if raw is None:
        return LockPolicy()
    unknown = sorted(set(raw) - {"lock_after"})
    if unknown:
        raise InvalidInput(f"{path}: unknown setting {unknown[0]!r} (known: lock_after)")
    if "lock_after" not in raw:
        return LockPolicy()
    return LockPolicy(parse_lock_after(raw["lock_after"], f"{path}: lock_after"))
