"""Failures are state, not a stream: what the list tells about credentials whose refreshes
fail, without Textual.

A refresher (the TUI's own, or the agent through the audit log) retries a failing credential
after each backoff; every retry is an event.  :class:`FailureNotices` remembers, per
credential name, that its failure was told, so that a notification comes once when it starts
failing and once when it recovers, never per retry.  The failure itself stays on its row and
in one status-line segment (:func:`failing_segment`); notifications held while a dialog or a
form is in front wait in the same place (:meth:`FailureNotices.hold`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vault.core.model import Credential
from vault.core.phrases import PHRASES
from vault.core.timefmt import relative
from vault.errors import detail_said

FAILURES = frozenset({"failed", "needs_login", "refused"})
"""The kinds of event that start a credential's failure (told once, until it recovers)."""

_AGENT_KINDS = {
    ("refresh", "ok"): "refreshed",
    ("refresh", "failed"): "failed",
    ("refresh", "dead_grant"): "needs_login",
    ("refresh", "client_error"): "refused",
    ("expiry-warning", "warned"): "expiring",
}

_WORDS = {  # kind: (one, many), after a count
    "failed": ("fails to refresh", "fail to refresh"),
    "needs_login": (PHRASES["needs_login"], "need a new sign-in"),  # the one's words: vault.core.phrases
    "refused": ("refused (app settings)", "refused (app settings)"),
    "expiring": ("expires within a day", "expire within a day"),  # told only then: :func:`needs_the_person`
    "recovered": ("refreshes again", "refresh again"),
}


URGENT_EXPIRY = 86400.0
"""An expiry this close needs the person now: told in a notification.  Farther ones (a week of
warning for a static or refresh token) are on their rows, as "expiring", and the status line."""


def needs_the_person(kind: str, deadline: float | None, now: float) -> bool:
    """Whether news of ``kind`` is worth a notification: a failure, a recovery, a hold; an
    expiry only within :data:`URGENT_EXPIRY` (one whose time is not known, too)."""
    return kind != "expiring" or deadline is None or deadline - now <= URGENT_EXPIRY


def event_kind(action: str, outcome: str) -> str | None:
    """The kind of an audit event the agent wrote (as the TUI's refresher names its events),
    or None for one that is no refresher's news."""
    return _AGENT_KINDS.get((action, outcome))


@dataclass(frozen=True)
class Notice:
    """A notification about one credential (``name``), of ``kind`` (the :meth:`FailureNotices.news`);
    ``severity`` as Textual's (``error``, ``warning``, ``information``), ``title`` its heading."""

    name: str
    kind: str
    text: str
    severity: str
    title: str = ""


class FailureNotices:
    """Which credentials' failures were told (by name), and the notices held back meanwhile."""

    def __init__(self) -> None:
        self._failing: set[str] = set()
        self._held: list[Notice] = []

    @property
    def failing(self) -> frozenset[str]:
        """The credentials whose failure was told and that have not recovered since."""
        return frozenset(self._failing)

    def news(self, name: str, kind: str) -> str | None:
        """What to tell when an event of ``kind`` happens to ``name``: the failure's kind the
        first time it fails, ``recovered`` at its first refresh after that, and None for a
        retry that failed again or a refresh that was never failing.  Other kinds (``expiring``,
        ``held``) come back as they are: the refreshers send those once each already."""
        if kind in FAILURES:
            if name in self._failing:
                return None
            self._failing.add(name)
            return kind
        if kind == "refreshed":
            if name not in self._failing:
                return None
            self._failing.discard(name)
            return "recovered"
        return kind

    def forget_all(self) -> None:
        """A vault opened afresh: nothing was told about it yet."""
        self._failing.clear()
        self._held.clear()

    def hold(self, notice: Notice) -> None:
        """Keep ``notice`` until nothing covers the list (:meth:`release`)."""
        self._held.append(notice)

    def release(self) -> list[Notice]:
        """The notices held, in order, less a failure and its recovery that both came meanwhile."""
        held, self._held = self._held, []
        recovered = {n.name for n in held if n.kind == "recovered"}
        failed = {n.name for n in held if n.kind in FAILURES}
        moot = recovered & failed
        return [n for n in held if n.name not in moot]


def summary(kinds: Iterable[str]) -> str:
    """A burst told in one line that counts each kind: ``3 expire soon · 2 need a new sign-in``."""
    counts = Counter(kinds)
    parts = []
    for kind, count in counts.items():
        one, many = _WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
        parts.append(f"{count} {one if count == 1 else many}")
    return " · ".join(parts)


def failing(credentials: Iterable[Credential], now: float) -> list[Credential]:
    """The credentials whose refreshes fail (and are retried), in the order given."""
    return [c for c in credentials if c.refresh_erred and c.status_at(now) == "refresh_failing"]


def first_failing(credentials: Sequence[Credential], now: float) -> str | None:
    """The name of the first failing credential of those shown, for the key that jumps to it."""
    found = failing(credentials, now)
    return found[0].name if found else None


def failing_segment(credentials: Iterable[Credential], now: float, *, retrying: bool) -> str | None:
    """The status line's one segment about failing refreshes: ``2 failing · next retry in 40s
    (3 failed in a row)``, the retry being the soonest (of the credential it is for); None when
    none fails.  Without a refresher (``retrying`` false) no retry is promised."""
    found = failing(credentials, now)
    if not found:
        return None
    text = f"{len(found)} failing"
    planned = [c for c in found if c.retry_at is not None]
    if retrying and planned:
        soonest = min(planned, key=lambda c: (c.retry_at or 0.0, c.name))
        at = soonest.retry_at or now
        text += f" · next retry {relative(at, now) if at > now else 'now'} ({soonest.refresh_failures} failed in a row)"
    return text


def notice_for(about: str, kind: str, detail: str) -> Notice:
    """How one credential's news reads: its failure in the refresher's words, its recovery as such."""
    if kind == "recovered":
        return Notice(about, kind, f"{about} refreshes again ({detail})", "information")
    text = detail if detail.startswith(f"{about}:") else detail_said(about, detail)
    return Notice(about, kind, text, "warning" if kind == "expiring" else "error")
