"""Replacing a static token's value in place (a rotated PAT): the service every front end
calls (:func:`vault.services.static_tokens.rotate`), and the TUI's ``t`` on a real vault.

What stays: the name, provider, account, extras, creation time, export bindings (a
plaintext copy is re-written with the new token) and the audit trail.  A refusal leaves
the stored credential exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Label

from screens.dialogs.rotate import RotateDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from tests.support.tui import DAY, SAMPLE_ORDER, new_vault
from vault import Vault
from vault.core.clock import FrozenClock
from vault.errors import InvalidInput, NotFound
from vault.export import Spec
from vault.services.exports import plan_export, write_export
from vault.services.static_tokens import rotate

NEW_TOKEN = "ghp_rotated_value_1"


def snapshot(vault: Vault, name: str) -> tuple[object, ...]:
    c = vault.get(name)
    return (c.access_token and c.access_token.reveal(), c.expires_at, c.account, dict(c.extras), c.updated_at)


def test_the_new_token_replaces_the_old_and_everything_else_stays(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    before = vault.get("github")
    clock.advance(60)
    after = rotate(vault.records, "github", NEW_TOKEN)
    stored = vault.get("github")
    assert stored.access_token is not None and stored.access_token.reveal() == NEW_TOKEN
    assert (stored.provider, stored.account, stored.expires_at, stored.created_at) == (
        before.provider, before.account, before.expires_at, before.created_at,
    )  # fmt: skip
    assert stored.updated_at == clock.now() and after.name == "github"
    events = [(e.action, e.outcome) for e in vault.records.audit_log(credential="github")]
    assert events[-1] == ("rotate", "replaced")
    assert NEW_TOKEN not in str(vault.records.audit_log(credential="github"))


@pytest.mark.parametrize(
    ("expires", "expected_in"),
    [("90d", 90 * DAY), ("never", None)],
)
def test_the_new_token_may_bring_its_own_expiry(
    samples: tuple[Vault, FrozenClock], expires: str, expected_in: float | None
) -> None:
    vault, clock = samples
    rotate(vault.records, "github", NEW_TOKEN, expires=expires)
    expires_at = vault.get("github").expires_at
    assert expires_at == (None if expected_in is None else clock.now() + expected_in)


@pytest.mark.parametrize(
    ("name", "token", "expires", "said"),
    [
        ("github", "has space", "", "whitespace"),
        ("github", NEW_TOKEN, "2020-01-01", "in the past"),
        ("ci-bot", NEW_TOKEN, "", "The stored expiry has passed"),  # expired: keeping its expiry makes no sense
    ],
)
def test_a_refusal_leaves_the_credential_as_it_was(
    samples: tuple[Vault, FrozenClock], name: str, token: str, expires: str, said: str
) -> None:
    vault, _clock = samples
    before, audit = snapshot(vault, name), vault.records.audit_log(credential=name)
    with pytest.raises(InvalidInput, match=said) as raised:
        rotate(vault.records, name, token, expires=expires)
    assert token not in raised.value.message
    assert snapshot(vault, name) == before and vault.records.audit_log(credential=name) == audit


def test_an_oauth_credential_is_sent_to_sign_in_and_a_missing_one_is_not_found() -> None:
    from tests.support.tui import add_every_status

    vault, clock = new_vault()
    add_every_status(vault, clock)
    with pytest.raises(InvalidInput, match="signs in with OAuth"):
        rotate(vault.records, "google", NEW_TOKEN)
    with pytest.raises(NotFound):
        rotate(vault.records, "nope", NEW_TOKEN)


def test_a_plaintext_export_follows_the_new_token(samples: tuple[Vault, FrozenClock], tmp_path: Path) -> None:
    vault, _clock = samples
    target = tmp_path / ".env"
    write_export(vault, plan_export(vault, Spec("dotenv", "github", var="GH", plaintext=True), target))
    assert target.read_text() == "GH='ghp_test2'\n"
    rotate(vault.records, "github", NEW_TOKEN)
    assert target.read_text() == f"GH='{NEW_TOKEN}'\n"
    assert [b.path for b in vault.records.links.export_bindings("github")] == [str(target)]  # the binding stays


# ------------------------------------------------------------------------ the TUI


@pytest.mark.anyio
async def test_t_on_the_list_replaces_the_token_and_never_shows_it(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["down"] * SAMPLE_ORDER.index("github"), "t")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RotateDialog)
        await pilot.press(*"has space", "enter", "enter")  # the token, then the expiry left blank
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "whitespace" in str(dialog.query_one("#rotate-problem", Label).render())
        assert vault.get("github").access_token.reveal() == "ghp_test2"  # type: ignore[union-attr]
        dialog.query_one("#new-token", Input).value = NEW_TOKEN
        dialog.query_one("#new-expiry", Input).focus()
        await pilot.press(*"90d", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
        assert not any(NEW_TOKEN in str(w.render()) for w in app.screen.query("Static"))
    stored = vault.get("github")
    assert stored.access_token is not None and stored.access_token.reveal() == NEW_TOKEN
    assert stored.expires_at == clock.now() + 90 * DAY


@pytest.mark.anyio
async def test_t_is_not_offered_for_an_oauth_credential() -> None:
    from tests.support.tui import EVERY_STATUS_ORDER, add_every_status

    vault, clock = new_vault()
    add_every_status(vault, clock)
    app = make_app(vault, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TokenListScreen)
        await pilot.press(*["down"] * EVERY_STATUS_ORDER.index("google"), "t")
        await pilot.pause()
        assert app.screen is screen  # no dialog
