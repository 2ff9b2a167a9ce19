"""Pilot tests for ``u``: the last delete, rename or token replace put back for 10 s from its
notification; refused with one line, and nothing overwritten, when another process changed
the credential meanwhile; "Nothing to undo" after the window (issue 34, Build 11)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from screens.app import VaultApp
from screens.detail import DetailScreen
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.prompt import PromptDialog
from screens.dialogs.rotate import RotateDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.tui import SAMPLE_ORDER, record_notices
from vault import Vault, open_vault
from vault.core.clock import FrozenClock
from vault.services.static_tokens import rotate

pytestmark = pytest.mark.anyio

SIZE = (100, 30)
QUIET = TuiSettings(refresher=False)


async def settle(app: VaultApp, pilot: Pilot[None]) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def delete_from_list(app: VaultApp, pilot: Pilot[None], name: str) -> None:
    await pilot.press(*["down"] * SAMPLE_ORDER.index(name), "d")
    await settle(app, pilot)
    assert isinstance(app.screen, ConfirmDialog)
    await pilot.press("y")
    await settle(app, pilot)


def token_of(vault: Vault, name: str) -> str:
    credential = vault.get(name)
    assert credential.access_token is not None
    return credential.access_token.reveal()


async def test_u_puts_a_deleted_credential_back(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    vault.records.links.map_git_host("github.com", "github", "octocat")
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await delete_from_list(app, pilot, "github")
        assert not vault.records.exists("github")
        assert "github was deleted. u to undo." in notices.texts()
        await pilot.press("u")
        await settle(app, pilot)
        assert token_of(vault, "github") == "ghp_test2"
        assert vault.records.links.git_hosts() == [("github.com", "github", "octocat")]
        assert app.screen.query_one("#tokens", CredentialTable).row_keys == SAMPLE_ORDER
        assert "github is back." in notices.texts()


async def test_u_after_ten_seconds_has_nothing_to_undo(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await delete_from_list(app, pilot, "github")
        clock.advance(11)
        await pilot.press("u")
        await settle(app, pilot)
        assert not vault.records.exists("github")
        assert notices.texts()[-1] == "Nothing to undo."
        assert app.undoer.pending is None  # the credential kept for it (its token) is let go


async def test_u_renames_back(samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await pilot.press(*["down"] * SAMPLE_ORDER.index("github"), "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#answer", Input).value = "octo-work"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "github is now octo-work. u to undo." in notices.texts()
        await pilot.press("u")
        await settle(app, pilot)
        assert vault.records.exists("github") and not vault.records.exists("octo-work")
        assert screen.name_shown == "github"  # the screen follows
        assert app.screen_stack[-1] is screen


async def test_u_puts_the_replaced_token_back(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await pilot.press(*["down"] * SAMPLE_ORDER.index("github"), "t")
        await settle(app, pilot)
        assert isinstance(app.screen, RotateDialog)
        await pilot.press(*"ghp_rotated", "enter", "enter")
        await settle(app, pilot)
        assert token_of(vault, "github") == "ghp_rotated"
        assert "github holds the new token. u to undo." in notices.texts()
        await pilot.press("u")
        await settle(app, pilot)
        assert token_of(vault, "github") == "ghp_test2"
        assert isinstance(app.screen, TokenListScreen)


async def test_an_undo_after_another_process_changed_the_credential_is_refused(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await pilot.press(*["down"] * SAMPLE_ORDER.index("github"), "t")
        await settle(app, pilot)
        await pilot.press(*"ghp_rotated", "enter", "enter")
        await settle(app, pilot)
        with open_vault(vault.paths.home, clock=clock) as other:  # another process replaces it again
            rotate(other.records, "github", "ghp_from-elsewhere")
        await pilot.press("u")
        await settle(app, pilot)
        said, kwargs = notices.seen[-1]
        assert said == "github changed since; nothing was undone"
        assert kwargs["severity"] == "warning" and "\n" not in said
        # What is in the vault afterwards: the other process's token; nothing overwritten.
        assert token_of(vault, "github") == "ghp_from-elsewhere"
        assert [e.action for e in vault.records.audit_log(credential="github")][-1] == "rotate"


async def test_an_undo_of_a_delete_after_the_name_was_taken_again_is_refused(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await delete_from_list(app, pilot, "github")
        with open_vault(vault.paths.home, clock=clock) as other:
            other.records.add_static("github", provider="api-key", token="sk-someone-else")
        await pilot.press("u")
        await settle(app, pilot)
        assert notices.texts()[-1] == "github was not restored: a credential of that name exists again"
        assert token_of(vault, "github") == "sk-someone-else"  # the new one, untouched
        assert vault.get("github").provider == "api-key"


async def test_what_is_kept_for_an_undo_is_dropped_when_its_time_is_up(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    import screens.undo

    monkeypatch.setattr(screens.undo, "UNDO_SECONDS", 3.0)  # the timer runs on real time
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await delete_from_list(app, pilot, "github")
        assert app.undoer.pending is not None
        await pilot.pause(3.5)
        assert app.undoer.pending is None  # the frozen clock did not move: the timer let it go
