"""Shared setup for the TUI tests: a real vault on a frozen clock, and a known set of credentials.

Both the Pilot tests and the snapshot tests build the app with
:func:`screens.app.make_app`, exactly as the CLI does.
"""

from __future__ import annotations

from vault import Vault, init_vault
from vault.clock import FrozenClock

T0 = 1_780_000_000.0
"""When the sample credentials are added (2026-05-28T20:26:40Z)."""

HOUR = 3600.0
DAY = 86400.0

VIEWED_AFTER = 3 * HOUR
"""How long after :data:`T0` the app is opened: long enough for ``ci-bot`` to have expired."""

SAMPLE_ORDER = ["ci-bot", "github", "gitlab", "openai"]
"""The sample credentials' row keys, soonest expiry first."""


def new_vault(at: float = T0) -> tuple[Vault, FrozenClock]:
    """A fresh keyring-mode vault (the in-memory keyring makes it instant) on a frozen clock."""
    clock = FrozenClock(at)
    return init_vault(mode="keyring", clock=clock), clock


def add_samples(vault: Vault, clock: FrozenClock) -> None:
    """Store four static tokens at :data:`T0`, then move the clock to ``T0 + VIEWED_AFTER``.

    Seen then: ``ci-bot`` expired 2h ago, ``github`` expiring (in 3d, inside the
    7-day warning), ``gitlab`` active (in 89d), ``openai`` with no expiry.  They
    are added out of order so the test sees the screen sort them.
    """
    clock.at = T0
    vault.add_static("openai", provider="api-key", token="sk-test-0", account="team@example.com")
    vault.add_static(
        "gitlab", provider="gitlab-pat", token="glpat-test-1", account="ada", expires_at=T0 + 89 * DAY + VIEWED_AFTER
    )
    vault.add_static(
        "github", provider="github-pat", token="ghp_test2", account="octocat", expires_at=T0 + 3 * DAY + VIEWED_AFTER
    )
    vault.add_static("ci-bot", provider="api-key", token="ci-test-3", expires_at=T0 + HOUR)
    clock.advance(VIEWED_AFTER)
