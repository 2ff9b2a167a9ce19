"""The list's order and its filter: how each column sorts the rows, the default (what
needs the user first), grouping by provider, the order kept across reloads
(:func:`kept_in_place`), and the text a filter looks in."""

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
    """``credentials`` in the ``(column, descending)`` order; grouped, each provider's rows
    together, the groups in the order of their first row (so the groups follow the sort
    arrow too: by provider ▼, the providers descending; by expiry, the group with the
    soonest expiry first)."""
    column, descending = sort
    rows = sorted(credentials, key=sort_keys(now)[column], reverse=descending)
    return by_group(rows) if grouped else rows


def by_group(rows: list[Credential]) -> list[Credential]:
    """``rows`` with each provider's together, where its first row was (a stable sort)."""
    first: dict[str, int] = {}
    for at, credential in enumerate(rows):
        first.setdefault(credential.provider, at)
    return sorted(rows, key=lambda c: first[c.provider])


def kept_in_place(shown: list[str], fresh: list[Credential], *, grouped: bool) -> list[Credential]:
    """``fresh`` (a reload, in the sort's order) with the credentials already ``shown`` (names,
    in order) kept in that order, and the new ones where the sort put them: before the
    credential that follows them there.

    The list re-orders only when the person asks (a sort key, a header click, grouping) or
    opens it; a reload (the agent refreshed a token, another process wrote) keeps every row
    where it was, so a row never moves under the cursor on its own, whichever order is chosen.
    """
    at = {name: i for i, name in enumerate(shown)}
    before: dict[str, list[Credential]] = {}
    pending: list[Credential] = []
    for credential in fresh:
        if credential.name in at:
            if pending:
                before[credential.name], pending = pending, []
        else:
            pending.append(credential)
    rows: list[Credential] = []
    for credential in sorted((c for c in fresh if c.name in at), key=lambda c: at[c.name]):
        rows += [*before.get(credential.name, ()), credential]
    rows += pending
    return by_group(rows) if grouped else rows


def search_text(credential: Credential) -> str:
    """What the filter looks in: name, provider and account, lower-cased, kept apart by a
    character no one can type into the filter (so a needle never spans two fields)."""
    return "\0".join((v or "").lower() for v in (credential.name, credential.provider, credential.account))
