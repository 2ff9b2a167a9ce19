"""A credential that asks before each use (or once per session), whoever reads it (issue 36): the setting, kept in the
credential's ``extras`` (no schema change), and the rule the agent applies on every read.

``tokendeck confirm NAME on|once|off`` sets it (:func:`vault.services.commands.confirm`);
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
"""The ``extras`` key: ``each`` when every use needs a yes first, ``once`` when the first use in
each session does (a read outside any session is its own: it is asked every time)."""
EACH = "each"
ONCE = "once"


def asks_first(vault: Vault, names: Iterable[str]) -> list[str]:
    """Of ``names``, the stored credentials that need the user's yes before a use (each or once):
    what a reader with no session is asked about, every time."""
    each, once = consent_needed(vault, names)
    return [n for n in names if n in each or n in once]


def consent_needed(vault: Vault, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Of ``names``, the stored credentials that ask before each use, and those that ask once per session."""
    each: list[str] = []
    once: list[str] = []
    for name in names:
        setting = asking_setting(vault.records.get(name).extras) if vault.records.exists(name) else None
        if setting == EACH:
            each.append(name)
        elif setting == ONCE:
            once.append(name)
    return each, once


def asking_setting(extras: Mapping[str, Any]) -> str | None:
    """``each``, ``once`` or None: what a credential with these ``extras`` asks first."""
    setting = extras.get(CONFIRM_EXTRA)
    return setting if setting in (EACH, ONCE) else None


def asks_before_each_use(extras: Mapping[str, Any]) -> bool:
    """Whether a credential with these ``extras`` asks before any use (each, or once per session)."""
    return asking_setting(extras) is not None


def asking_words(extras: Mapping[str, Any]) -> str:
    """How ``show`` and the TUI say the setting: ``asks before each use``, ``asks once per session``."""
    return "asks once per session" if asking_setting(extras) == ONCE else "asks before each use"
