"""Shared setup for the TUI tests: a real vault on a frozen clock, and a known set of credentials.

Both the Pilot tests and the snapshot tests build the app with
:func:`screens.app.make_app`, exactly as the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from screens.app import VaultApp
from vault import Vault, init_vault
from vault.core.clock import FrozenClock
from vault.core.model import Credential
from vault.core.secret import Secret

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
    vault.records.add_static("openai", provider="api-key", token="sk-test-0", account="team@example.com")
    vault.records.add_static(
        "gitlab", provider="gitlab-pat", token="glpat-test-1", account="ada", expires_at=T0 + 89 * DAY + VIEWED_AFTER
    )
    vault.records.add_static(
        "github", provider="github-pat", token="ghp_test2", account="octocat", expires_at=T0 + 3 * DAY + VIEWED_AFTER
    )
    vault.records.add_static("ci-bot", provider="api-key", token="ci-test-3", expires_at=T0 + HOUR)
    clock.advance(VIEWED_AFTER)


FAKE_SECRETS = (
    "sk-test-0",
    "glpat-test-1",
    "ghp_test2",
    "ci-test-3",
    "ya29.fake-access-token",
    "ya29.fake-refreshed-token",
    "1//fake-refresh-token",
    "lin_oauth_fake",
    "dropbox-fake-access",
    "dropbox-fake-refresh",
    "notion-fake-access",
    "notion-fake-refresh",
)
"""Every token the sample credentials hold (all fake), so a test can check that none is shown."""

EVERY_STATUS_ORDER = ["azure", "ci-bot", "notion", "linear", "dropbox", "google", "github", "gitlab", "openai", "slack"]
"""The row keys of :func:`add_every_status` in the list's default order: what needs the user
(needs sign-in, expired, refresh failing, error) first, then soonest expiry first (no
expiry last), then by name."""


def add_every_status(vault: Vault, clock: FrozenClock) -> None:
    """:func:`add_samples`, plus OAuth credentials, so that every status appears on the list.

    Seen at ``T0 + VIEWED_AFTER``: ``ci-bot`` expired, ``github`` expiring, ``gitlab``,
    ``openai`` and ``google`` active (``google``'s access token runs out in 43m, its
    refresh token does not), ``dropbox`` refresh due (its access token ran out 10m ago,
    its refresh token works), ``notion`` refresh failing (a 503 on its last refresh),
    ``azure`` needs login, ``linear`` in error, ``slack`` revoked.  Every secret is fake;
    ``linear``'s error carries Rich markup brackets, which must show literally.
    """
    add_samples(vault, clock)
    viewed = clock.now()
    clock.at = T0
    signed_in = Credential(
        name="google",
        provider="google",
        kind="oauth",
        account="ada@example.com",
        access_token=Secret("ya29.fake-access-token"),
        refresh_token=Secret("1//fake-refresh-token"),
        token_type="Bearer",
        scopes=("openid", "email", "https://www.googleapis.com/auth/drive.readonly"),
        expires_at=T0 + HOUR,
        created_at=T0,
        updated_at=T0,
    )
    vault.records.save(signed_in, action="login", detail="signed in as ada@example.com")
    vault.records.save(
        Credential(
            name="azure",
            provider="microsoft",
            kind="oauth",
            account="ada@contoso.example",
            access_token=None,
            token_type="Bearer",
            scopes=("openid", "offline_access", "User.Read"),
            expires_at=T0 - DAY,
            stored_status="needs_login",
            last_error="invalid_grant: AADSTS700082: the refresh token has expired due to inactivity",
            created_at=T0,
            updated_at=T0,
        ),
        action="login",
    )
    vault.records.save(
        Credential(
            name="linear",
            provider="linear",
            kind="oauth",
            account="ada",
            access_token=Secret("lin_oauth_fake"),
            token_type="Bearer",
            scopes=("read",),
            expires_at=T0 + 5 * DAY,
            stored_status="error",
            last_error="token endpoint said [bold]503[/bold] Service Unavailable",
            created_at=T0,
            updated_at=T0,
        ),
        action="login",
    )
    vault.records.save(
        Credential(
            name="slack",
            provider="slack",
            kind="oauth",
            account="ada",
            access_token=None,
            stored_status="revoked",
            created_at=T0,
            updated_at=T0,
        ),
        action="revoke",
        detail="revoked at the provider",
    )
    for name, expires, error in (("dropbox", viewed - 600, None), ("notion", viewed + 1200, "http_503: unavailable")):
        vault.records.save(
            Credential(
                name=name,
                provider=name,
                kind="oauth",
                account="ada",
                access_token=Secret(f"{name}-fake-access"),
                refresh_token=Secret(f"{name}-fake-refresh"),
                token_type="Bearer",
                expires_at=expires,
                last_error=error,
                created_at=T0,
                updated_at=T0,
            ),
            action="login",
        )
    refreshed_at = viewed - 17 * 60
    clock.at = refreshed_at
    refreshed = replace(
        signed_in,
        access_token=Secret("ya29.fake-refreshed-token"),
        expires_at=refreshed_at + HOUR,
        updated_at=refreshed_at,
        last_refreshed_at=refreshed_at,
    )
    vault.records.save_refreshed(refreshed, sent_refresh_token="1//fake-refresh-token", detail="kept refresh token")
    clock.at = viewed


@dataclass
class Notices:
    """What ``app.notify`` was asked to show."""

    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [message for message, _ in self.seen]


def record_notices(app: VaultApp, monkeypatch: pytest.MonkeyPatch) -> Notices:
    notices = Notices()
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        notices.seen.append((message, kwargs))
        original(message, **kwargs)

    monkeypatch.setattr(app, "notify", notify)
    return notices
