"""A credential that asks before each use, whoever reads it (issue 36): the setting, kept in the
credential's ``extras`` (no schema change), and the rule the agent applies on every read.

``tokendeck confirm NAME on|off`` sets it; ``tokendeck show NAME`` and the TUI's detail show it.
With an agent, every read of it (a session's or not) waits for the user's yes
(:mod:`vault.agent.consent`); without one, the command reading it asks on its terminal, or
refuses in one line when it has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vault.services.tokens import Vault

CONFIRM_EXTRA = "confirm"
"""The ``extras`` key: ``each`` when every use needs a yes first."""
EACH = "each"


def asks_first(vault: Vault, names: Iterable[str]) -> list[str]:
    """Of ``names``, the stored credentials that need the user's yes before each use."""
    return [n for n in names if vault.records.exists(n) and vault.records.get(n).extras.get(CONFIRM_EXTRA) == EACH]
