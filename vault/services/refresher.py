"""The background refresher: keeps every OAuth credential fresh while something
long-lived (the agent, or the TUI when no agent runs) is running.  No Textual here: it reports
through a callback, and the TUI turns events into notifications.

Each :meth:`BackgroundRefresher.run_once` refreshes what is due within the
window (a bounded pool; each refresh still takes its credential's lock, so a
``tokendeck token`` in another process never races it) and warns, once per
expiry, about static tokens and refresh tokens that will expire soon.  Time
comes from the vault's clock, so tests drive ``run_once`` on a frozen clock and
never sleep; :meth:`start` runs it on a thread every ``interval`` seconds with
jitter.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from vault.core.model import Credential, StatusPolicy, next_renewal
from vault.core.timefmt import iso, relative
from vault.errors import NeedsSignIn, ProviderError, RefreshBackoff, RefreshBusy, VaultError
from vault.services.refreshing import refresh
from vault.services.tokens import Vault
from vault.settings import AUDIT_DAYS_ENV, AUDIT_KEEP_DAYS, MIN_REFRESH_SPACING, REFRESH_INTERVAL

EventKind = Literal["refreshed", "needs_login", "failed", "expiring", "held"]

THREADS_PER_REQUEST = 2
"""Pool threads per request in flight: the others wait for their saves' shared commit."""

MIN_WAIT = 1.0
"""The shortest wait between two runs (credentials already due are refreshed in the run itself)."""


@dataclass(frozen=True)
class RefreshEvent:
    """What happened to one credential in one run.

    Attributes:
        kind: refreshed, needs_login (a dead grant), failed (will be retried, after its
            backoff), expiring (a static token or refresh token near its end), or held
            (refreshed, but the vault cannot be written: the new tokens are held in memory;
            ``credential`` is ``*``: no refresh starts until it can be written).
        detail: for people; never contains a token.
    """

    at: float
    credential: str
    kind: EventKind
    detail: str
    deadline: float | None = None
    """For an ``expiring`` event: when the token runs out."""


class BackgroundRefresher:
    """Refreshes what is due, on demand (:meth:`run_once`) or on a timer (:meth:`start`).

    Args:
        vault: the open vault (its clock is the refresher's clock).
        window: refresh access tokens that expire within this many seconds; None (the
            default) follows each token's lifetime (:meth:`Credential.renew_at`).
        interval: the longest wait between runs on the timer; a run comes sooner when a
            credential falls due sooner.
        concurrency: requests to providers in flight at once.  The pool has twice as many
            threads, so a refresh waiting for its durable save lets the next one's request go.
        jitter: each wait is shortened by a random fraction of up to ``jitter`` (never
            lengthened, so a token is renewed before its margin runs out).
        policy: how long before a static or refresh token expires to warn (the rule of the
            "expiring" status: :meth:`Credential.expiry_warning`).
        on_event: receives every event (from the refresher's threads).
    """

    def __init__(
        self,
        vault: Vault,
        *,
        window: float | None = None,
        interval: float = REFRESH_INTERVAL,
        concurrency: int = 4,
        jitter: float = 0.1,
        policy: StatusPolicy | None = None,
        on_event: Callable[[RefreshEvent], None] = lambda event: None,
        rng: random.Random | None = None,
    ) -> None:
        self.vault = vault
        self.window = window
        self.interval = interval
        self.concurrency = max(1, concurrency)
        self.jitter = jitter
        self.policy = policy or StatusPolicy()
        self.on_event = on_event
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._warned: set[tuple[str, str, float]] = set()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pruned_at: float | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = threading.BoundedSemaphore(self.concurrency)
        self.last_run: float | None = None
        self.next_run: float | None = None
        self._unwritable: str | None = None
        """What the last run said about a vault that cannot be written (said again only when it changes)."""

    # ----------------------------------------------------------------- runs

    def due(self) -> list[Credential]:
        """Credentials to refresh now that hold a refresh token to do it with: due within the
        window, or by their own lifetime (:meth:`Credential.renew_at`) when there is none.  Never
        one held after a restore (:mod:`vault.core.restored`): only the user's word refreshes it."""
        now = self.vault.clock.now()
        if self.window is not None:
            return [
                c
                for c in self.vault.credentials()
                if c.due(now, self.window) and c.renewable and not c.held_after_restore
            ]
        return [c for c in self.vault.credentials() if (at := c.renew_at()) is not None and at <= now]

    def next_due(self) -> float | None:
        """When the next credential falls due (by its lifetime), or None when none will."""
        upcoming = next_renewal(self.vault.credentials())
        return None if upcoming is None else upcoming[1]

    def run_once(self) -> list[RefreshEvent]:
        """Refresh everything due and emit warnings; return this run's events.  While the vault
        cannot be written, no refresh starts: the run only tries to store what is held."""
        events: list[RefreshEvent] = []
        due = [c.name for c in self.due()]
        unwritable = self._cannot_write(bool(due))
        if unwritable is not None and unwritable.kind == "held":
            self.last_run = self.vault.clock.now()
            if unwritable.detail == self._unwritable:
                return []  # said already: the log and the TUI get it once, not every few seconds
            self._unwritable = unwritable.detail
            self.on_event(unwritable)
            return [unwritable]
        if unwritable is not None:  # it can be written again, and what was held is stored
            events.append(unwritable)
        if due:
            threads = min(len(due), THREADS_PER_REQUEST * self.concurrency)
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tokendeck-refresh") as pool:
                events.extend(pool.map(self._refresh_one, due))
        events.extend(self._warnings())
        self._prune_audit()
        self.vault.records.settle()  # a checkpoint a reader held back after a delete or a rotation
        self.last_run = self.vault.clock.now()
        for event in events:
            self.on_event(event)
        return events

    def _cannot_write(self, refreshing: bool) -> RefreshEvent | None:
        """When the vault could not be written last time, or answers are held: prove it can be
        now (storing what is held), else the one event that says it cannot."""
        vault = self.vault
        if vault.records.write_problem is None and not vault.held:
            self._unwritable = None
            return None
        if not refreshing and not vault.held:
            return None  # nothing to do that needs a write: the next write tells
        try:
            vault.records.writable()
        except VaultError as exc:
            detail = vault.held.describe() or f"the vault cannot be written ({exc.message}): no refresh started"
            return RefreshEvent(vault.clock.now(), "*", "held", detail)
        held = vault.held.names()
        still = vault.held.store_all(vault.records)
        self._unwritable = None
        stored = [name for name in held if name not in still]
        if not stored:
            return None
        which = ", ".join(stored)
        detail = f"the vault can be written again: the refreshed tokens of {which} held in memory are stored"
        return RefreshEvent(vault.clock.now(), "*", "refreshed", detail)

    def _refresh_one(self, name: str) -> RefreshEvent:
        now = self.vault.clock.now()
        try:
            credential = refresh(self.vault, name, skew=self.window, ahead=True, in_flight=self._in_flight)
        except NeedsSignIn as exc:
            return RefreshEvent(now, name, "needs_login", exc.message)
        except (ProviderError, RefreshBusy, RefreshBackoff) as exc:
            return RefreshEvent(now, name, "failed", exc.message)
        except VaultError as exc:  # the vault cannot be written: nothing was sent
            return RefreshEvent(now, name, "failed", exc.message)
        if (kept := self.vault.held.get(name)) is not None:
            return RefreshEvent(now, name, "held", f"refreshed, but {kept.reason}: the new tokens are held in memory")
        left = relative(credential.expires_at, self.vault.clock.now()) if credential.expires_at else "no expiry"
        return RefreshEvent(now, name, "refreshed", f"expires {left}")

    def _prune_audit(self) -> None:
        """Once a day, drop audit events older than the retention (``TOKENDECK_AUDIT_DAYS``, default a year)."""
        import os

        now = self.vault.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < 86400:
            return
        self._pruned_at = now
        try:
            days = float(os.environ.get(AUDIT_DAYS_ENV) or AUDIT_KEEP_DAYS)
        except ValueError:
            days = AUDIT_KEEP_DAYS
        if days > 0:
            self.vault.records.prune_audit(now - days * 86400)

    def _warnings(self) -> list[RefreshEvent]:
        now = self.vault.clock.now()
        events = []
        for c in self.vault.credentials():
            if c.stored_status != "active":
                continue
            warning = c.expiry_warning(now, self.policy)
            if warning is None:
                continue
            deadline, what = warning
            if what == "access token":  # minutes away, and on the list's countdown: days of warning are for the rest
                continue
            key = (c.name, what, deadline)
            if key in self._warned:
                continue
            self._warned.add(key)
            # Once per credential and expiry, across restarts of whoever refreshes: the
            # audit row names the expiry itself, and a second identical row is not written.
            if self.vault.records.record_once(  # the detail's form is read back by watch.warned_until
                "expiry-warning", "warned", credential=c.name, detail=f"{what} expires {iso(deadline)}"
            ):
                said = f"{what} expires {relative(deadline, now)}"
                events.append(RefreshEvent(now, c.name, "expiring", said, deadline))
        return events

    # ---------------------------------------------------------------- timer

    def start(self) -> None:
        """Run every ``interval`` seconds (± jitter) on a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="tokendeck-refresher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Run again now (the vault changed: a new credential may fall due sooner than planned)."""
        self._wake.set()

    def next_wait(self) -> float:
        """Seconds until the next run: until the next credential falls due, at most ``interval``,
        at least :data:`MIN_WAIT`; shortened by up to ``jitter`` of itself."""
        wait = self.interval
        now = self.vault.clock.now()
        if self._unwritable is not None:  # the vault cannot be written: try again every few seconds
            return MIN_REFRESH_SPACING  # (a local write; no provider is asked meanwhile)
        if self.window is None and (soonest := self.next_due()) is not None:
            wait = min(wait, soonest - now)
        return max(wait, MIN_WAIT) * (1 - self._rng.uniform(0, self.jitter))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except VaultError as exc:  # a busy or damaged vault: report, keep the timer alive
                self.on_event(RefreshEvent(self.vault.clock.now(), "*", "failed", exc.message))
            except Exception as exc:  # noqa: BLE001 - a bug in one run must not stop refreshing for good
                detail = f"unexpected {type(exc).__name__}; retrying later"  # the type only: text may hold anything
                self.on_event(RefreshEvent(self.vault.clock.now(), "*", "failed", detail))
            try:
                wait = self.next_wait()
            except VaultError:
                wait = self.interval
            self.next_run = self.vault.clock.now() + wait
            self._wake.wait(wait)
            self._wake.clear()
