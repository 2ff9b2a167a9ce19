"""A credential that asks before each use, whoever reads it (issue 36): the setting, kept in the
credential's ``extras`` (no schema change), and the rule the agent applies on every read.

``tokendeck confirm NAME on|off`` sets it (:func:`vault.services.commands.confirm`);
``tokendeck show NAME`` and the TUI's detail show it.  With an agent, every read of it (a
session's or not) waits for the user's yes (:mod:`vault.agent.consent`), asked in the TUI, a
desktop notification, or the reader's own terminal; without one, ``tokendeck token`` and
``exec`` ask on their terminal, or refuse in one line when there is none
(:func:`vault.cli.consent_terminal.allow_here`).  It keeps a person from being surprised by a
read; it is no boundary against a program running as the user (that is a session's job).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vault.services.tokens import Vault

CONFIRM_EXTRA = "confirm"
"""The ``extras`` key: ``each`` when every use needs a yes first."""
EACH = "each"


def asks_first(vault: Vault, names: Iterable[str]) -> list[str]:
    """Of ``names``, the stored credentials that need the user's yes before each use."""
    return [n for n in names if vault.records.exists(n) and asks_before_each_use(vault.records.get(n).extras)]


def asks_before_each_use(extras: Mapping[str, Any]) -> bool:
    """Whether a credential with these ``extras`` needs a yes before each use."""
    return extras.get(CONFIRM_EXTRA) == EACH
