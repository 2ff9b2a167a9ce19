"""The list's failure bookkeeping, without Textual (:mod:`screens.logic.failures`): a
credential's failure is told once, its recovery once, never a retry; a burst is one line
that counts each kind; the status line's one segment counts the failing and the next retry."""

from __future__ import annotations

from dataclasses import replace

from screens.logic.failures import FailureNotices, Notice, event_kind, failing_segment, first_failing, summary
from vault.core.model import Credential, next_renewal
from vault.core.secret import Secret

NOW = 1_780_000_000.0


def oauth(name: str, *, error: str | None = None, failures: int = 0, retry_at: float | None = None) -> Credential:
    return Credential(
        name=name, provider="acme", kind="oauth", account="ada", access_token=Secret("a"),
        refresh_token=Secret("r"), token_type="Bearer", expires_at=NOW + 600, last_error=error,
        refresh_failures=failures, retry_at=retry_at, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_a_failure_is_told_once_and_its_recovery_once() -> None:
    notices = FailureNotices()
    assert notices.news("acme", "failed") == "failed"
    assert [notices.news("acme", "failed") for _ in range(5)] == [None] * 5  # the retries
    assert notices.failing == frozenset({"acme"})
    assert notices.news("acme", "refreshed") == "recovered"
    assert notices.news("acme", "refreshed") is None  # an ordinary refresh says nothing
    assert notices.news("acme", "failed") == "failed"  # a new failure after the recovery


def test_each_credential_is_kept_apart_and_a_dead_grant_is_a_failure() -> None:
    notices = FailureNotices()
    assert notices.news("a", "failed") == "failed"
    assert notices.news("b", "needs_login") == "needs_login"
    assert notices.news("b", "needs_login") is None
    assert notices.news("a", "failed") is None
    assert notices.news("c", "refreshed") is None
    assert notices.news("c", "expiring") == "expiring"  # the refreshers warn once each already
    notices.forget_all()
    assert notices.news("a", "failed") == "failed"


def test_held_notices_wait_and_a_failure_that_recovered_meanwhile_is_dropped() -> None:
    notices = FailureNotices()
    notices.hold(Notice("a", "failed", "a: 503", "error"))
    notices.hold(Notice("b", "failed", "b: 503", "error"))
    notices.hold(Notice("a", "recovered", "a refreshes again", "information"))
    assert [n.text for n in notices.release()] == ["b: 503"]
    assert notices.release() == []


def test_a_burst_is_one_line_counting_each_kind() -> None:
    assert summary(["expiring"] * 3 + ["needs_login"] * 2) == "3 expire within a day · 2 need a new sign-in"
    assert summary(["failed", "expiring"]) == "1 fails to refresh · 1 expires within a day"
    assert summary(["recovered", "recovered", "refused"]) == "2 refresh again · 1 refused (app settings)"


def test_agent_events_map_to_kinds() -> None:
    assert event_kind("refresh", "failed") == "failed"
    assert event_kind("refresh", "dead_grant") == "needs_login"
    assert event_kind("refresh", "client_error") == "refused"
    assert event_kind("refresh", "ok") == "refreshed"
    assert event_kind("expiry-warning", "warned") == "expiring"
    assert event_kind("add", "ok") is None


def test_the_status_segment_counts_the_failing_and_the_next_retry() -> None:
    fine = oauth("fine")
    assert failing_segment([fine], NOW, retrying=True) is None
    a = oauth("a", error="http_503", failures=3, retry_at=NOW + 40)
    b = oauth("b", error="http_503", failures=1, retry_at=NOW + 300)
    assert failing_segment([fine, a, b], NOW, retrying=True) == "2 failing · next retry in 40s (3 failed in a row)"
    assert failing_segment([fine, a], NOW, retrying=False) == "1 failing"  # nobody retries: no promise
    due = replace(a, retry_at=NOW - 5)
    assert failing_segment([due], NOW, retrying=True) == "1 failing · next retry now (3 failed in a row)"
    assert failing_segment([oauth("c", error="http_503")], NOW, retrying=True) == "1 failing"


def test_first_failing_is_the_first_in_the_order_shown() -> None:
    a = oauth("a", error="http_503", failures=1, retry_at=NOW + 40)
    b = oauth("b", error="http_503", failures=1, retry_at=NOW + 40)
    assert first_failing([oauth("x"), b, a], NOW) == "b"
    assert first_failing([oauth("x")], NOW) is None


def test_the_status_line_watches_only_what_can_fail_and_the_next_renewal() -> None:
    """:class:`Watched` is read every tick: it keeps the credentials whose refresh erred (every
    one that :meth:`Credential.status_at` calls refresh_failing, at any time) and the next renewal."""
    from screens.logic.refreshing import Watched, refresher_status

    failing = replace(oauth("a", error="http_503", failures=2, retry_at=NOW + 40), expires_at=NOW + 3000)
    static = Credential(name="pat", provider="github", kind="static", access_token=Secret("p"), last_error="x")
    lone = replace(oauth("lone", error="http_503"), refresh_token=None)  # cannot renew: never failing
    rows = [oauth("fine"), failing, static, lone, replace(failing, name="later", expires_at=NOW + 9000)]
    watched = Watched.of(rows)
    assert [c.name for c in watched.erred] == ["a", "later"]
    for at in (NOW, NOW + 601, NOW + 90 * 86400):  # before, past the access token, past everything
        assert {c.name for c in rows if c.status_at(at) == "refresh_failing"} <= {c.name for c in watched.erred}
    assert watched.upcoming == next_renewal(rows)
    assert watched.upcoming is not None and watched.upcoming[0] == "fine"  # the soonest to expire
    words = refresher_status(watched, NOW, by="this TUI", last=None, problem=None)
    assert words[1] == "2 failing · next retry in 40s (2 failed in a row)"
    assert words[2].startswith("next: fine in ")
