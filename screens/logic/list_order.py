"""The list's order and its filter: how each column sorts the rows, the default (what
needs the user first), grouping by provider, and the text a filter looks in."""

from __future__ import annotations

import math
from collections.abc import Callable

from vault.core.model import ATTENTION, Credential, needs_attention


def by_expiry(credential: Credential) -> tuple[float, str]:
    """Sort key: soonest expiry first (expired ones lead), no expiry last, then by name."""
    return (math.inf if credential.expires_at is None else credential.expires_at, credential.name)


def sort_keys(now: float) -> dict[str, Callable[[Credential], tuple[object, ...]]]:
    """How each column orders the rows (ascending); ties go by expiry, then name.  Status
    puts what needs the user first (:data:`~vault.core.model.ATTENTION`), as read at ``now``.
    ``attention``, the default, is by expiry with what needs the user (a sign-in, a failing
    refresh, an expired token: :func:`~vault.core.model.needs_attention`) on top."""
    return {
        "attention": lambda c: (not needs_attention(c.status_at(now)), *by_expiry(c)),
        "name": lambda c: (c.name.casefold(), c.name),
        "provider": lambda c: (c.provider, *by_expiry(c)),
        "account": lambda c: (c.account is None, (c.account or "").casefold(), *by_expiry(c)),
        "status": lambda c: (ATTENTION[c.status_at(now)], *by_expiry(c)),
        "expires": by_expiry,
    }


DEFAULT_SORT = ("attention", False)
SORT_CYCLE = tuple(sort_keys(0.0))
"""What ``o`` steps through: the default order, then each column."""


def ordered(credentials: list[Credential], now: float, sort: tuple[str, bool], *, grouped: bool) -> list[Credential]:
    """``credentials`` in the ``(column, descending)`` order; grouped, by provider first (the
    groups in name order, whichever way the rows inside them go)."""
    column, descending = sort
    rows = sorted(credentials, key=sort_keys(now)[column], reverse=descending)
    if grouped:
        rows.sort(key=lambda c: c.provider)  # stable: the order inside each group stays
    return rows


def search_text(credential: Credential) -> str:
    """What the filter looks in: name, provider and account, lower-cased, kept apart by a
    character no one can type into the filter (so a needle never spans two fields)."""
    return "\0".join((v or "").lower() for v in (credential.name, credential.provider, credential.account))
