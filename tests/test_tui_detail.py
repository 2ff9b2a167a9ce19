"""Pilot tests for the detail screen: facts, the masked token, reveal, copy and the actions,
against a real vault on a frozen clock.

Reveal and clipboard timers are Textual timers, which run on real time, so these
tests set them to a fraction of a second and pause a little longer than that.
Countdowns read the vault's frozen clock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from rich.text import Text
from textual.message import Message
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from screens.app import VaultApp
from screens.detail import MASK, DetailScreen
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.prompt import PromptDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.messages import CredentialDeleted, CredentialRenamed
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from tests.support.tui import DAY, HOUR, SAMPLE_ORDER, record_notices
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

SIZE = (100, 30)
GITHUB_TOKEN = "ghp_test2"
"""The access token of the sample ``github`` credential (second row of the list)."""

FAST = TuiSettings(reveal_for=0.5, clipboard_clear_after=0.5, refresher=False)
"""UI timers short enough to wait out in a test (they run on real time)."""

WAIT = 0.8
"""Long enough for a :data:`FAST` timer to have fired."""


async def open_detail(pilot: Pilot[None], name: str = "github") -> DetailScreen:
    """From the list, put the cursor on ``name`` and press enter."""
    listed = pilot.app.screen
    assert isinstance(listed, TokenListScreen)
    keys = listed.query_one("#tokens", CredentialTable).row_keys
    await pilot.press(*["down"] * keys.index(name), "enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, DetailScreen)
    return screen


def current(app: VaultApp) -> Screen[Any]:
    """The screen on top (typed loosely, so a test can compare it after narrowing ``app.screen``)."""
    return app.screen_stack[-1]


def fact(screen: DetailScreen, key: str) -> str:
    return str(screen.query_one(f"#fact-{key}", Static).content)


def rendered(app: VaultApp) -> str:
    """Every character on the terminal, as the SVG screenshot has it (spaces unescaped)."""
    return app.export_screenshot().replace("&#160;", " ")


def widget_texts(screen: DetailScreen) -> list[str]:
    """What every Static on the screen holds, and every audit cell."""
    texts = [str(w.content) for w in screen.query(Static)]
    table: DataTable[Text] = screen.query_one("#audit", DataTable)
    texts += [str(cell) for row in table.ordered_rows for cell in table.get_row(row.key)]
    return texts


def holds(screen: DetailScreen, secret: str) -> bool:
    return any(secret in text for text in widget_texts(screen))


# ------------------------------------------------------------------ opening


async def test_enter_on_the_list_opens_the_credential(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        assert screen.name_shown == "github"
        assert screen.sub_title == "github"
        assert [type(s) for s in app.screen_stack] == [type(app.screen_stack[0]), TokenListScreen, DetailScreen]


async def test_escape_goes_back_to_the_list_on_the_same_row(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, "gitlab")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
        assert app.screen.selected_name() == "gitlab"


# -------------------------------------------------------------------- facts


async def test_every_fact_of_a_static_token(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    vault.records.note_error("github", "HTTP 401 from the API", action="check", outcome="failed")
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        assert fact(screen, "name") == "github"
        assert fact(screen, "provider") == "github-pat"
        assert fact(screen, "kind") == "static"
        assert fact(screen, "account") == "octocat"
        assert fact(screen, "status") == "expiring"
        assert fact(screen, "scopes") == "-"
        assert fact(screen, "expires") == "2026-05-31T23:26:40Z (in 3d)"
        assert fact(screen, "last_refreshed") == "never"
        assert fact(screen, "last_used") == "never"
        assert fact(screen, "last_error") == "HTTP 401 from the API"
        assert fact(screen, "created") == "2026-05-28T20:26:40Z (3h ago)"
        # OAuth-only facts, empty extras and the MCP server are hidden for a static token.
        for key in ("token_type", "refresh", "extras", "server"):
            assert not screen.query_one(f"#fact-{key}", Static).display
            assert not screen.query_one(f"#label-{key}", Static).display
        assert screen.query_one("#fact-status", Static).has_class("status-expiring")
        text = rendered(app)
        assert "octocat" in text and "HTTP 401 from the API" in text


async def test_every_fact_of_an_oauth_credential(samples: tuple[Vault, FrozenClock], auth_server: AuthServer) -> None:
    vault, clock = samples
    seed(vault, auth_server, "acme", expires_in=HOUR)
    stored = vault.get("acme")
    vault.records.save(replace(stored, refresh_expires_at=clock.now() + 30 * DAY), action="test")
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "acme")
        assert fact(screen, "kind") == "oauth"
        assert fact(screen, "account") == "alice@example.test"
        assert fact(screen, "token_type") == "Bearer"
        assert fact(screen, "scopes") == " ".join(stored.scopes)
        assert fact(screen, "refresh").startswith("held; expires 2026-06-27T23:26:40Z (in 30d)")
        assert fact(screen, "expires") == "2026-05-29T00:26:40Z (in 1h)"
        assert screen.query_one("#fact-refresh", Static).display


async def test_an_mcp_servers_credential_shows_its_server(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    vault.records.add_static(
        "tools", provider="api-key", token="tok-tools", extras={"mcp_url": "https://mcp.example.com/mcp"}
    )
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "tools")
        assert fact(screen, "server") == "https://mcp.example.com/mcp"
        assert screen.query_one("#fact-server", Static).display and screen.query_one("#label-server", Static).display


async def test_the_countdown_ticks_with_the_clock(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        expires = screen.query_one("#fact-expires", Static)
        assert fact(screen, "status") == "expiring"  # a static token 3 days from its end
        assert expires.has_class("urgency-warning")  # and its countdown says the same

        clock.advance(3 * DAY - 2 * 60)  # 2 minutes left
        await pilot.pause(1.2)  # the screen's own once-a-second tick
        assert fact(screen, "expires") == "2026-05-31T23:26:40Z (in 2m)"
        assert expires.has_class("urgency-warning") and not expires.has_class("urgency-fine")

        clock.advance(3 * 60)
        screen.tick()
        assert fact(screen, "expires") == "2026-05-31T23:26:40Z (1m ago)"
        assert fact(screen, "status") == "expired"
        assert expires.has_class("urgency-expired")
        assert screen.query_one("#fact-status", Static).has_class("status-expired")


async def test_the_audit_trail_is_this_credentials_newest_first(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    vault.records.note_error("github", "[red]boom[/]", action="refresh", outcome="failed")
    vault.records.record("other", "ok", credential="gitlab", detail="not github's")
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        table: DataTable[Text] = screen.query_one("#audit", DataTable)
        rows = [[str(cell) for cell in table.get_row(row.key)] for row in table.ordered_rows]
        assert rows == [
            ["2026-05-28T23:26:40Z", "refresh", "failed", "[red]boom[/]"],
            ["2026-05-28T20:26:40Z", "add", "ok", "provider=github-pat kind=static"],
        ]
        assert "[red]boom[/]" in rendered(app)  # literally, not as markup


@pytest.mark.parametrize("account", ["[bold]x[/]", "[/]", "[link=https://evil.example]click[/link]"])
async def test_markup_in_account_and_error_is_shown_literally(samples: tuple[Vault, FrozenClock], account: str) -> None:
    vault, clock = samples
    vault.records.add_static("weird", provider="api-key", token="tok-weird", account=account)
    vault.records.note_error("weird", f"provider said {account}", action="check", outcome="failed")
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "weird")
        assert fact(screen, "account") == account
        assert fact(screen, "last_error") == f"provider said {account}"
        line = screen.query_one("#fact-account", Static).render_line(0).text
        assert line.startswith(account)
        assert f"provider said {account}" in rendered(app).replace("&amp;", "&")


# -------------------------------------------------------------------- token


async def test_the_token_is_masked_by_default(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        assert str(screen.query_one("#token", Static).content) == f"{MASK}  (9 characters)"
        assert GITHUB_TOKEN not in rendered(app)
        assert not holds(screen, GITHUB_TOKEN)


async def test_v_reveals_and_the_timer_masks_again(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        await pilot.press("v")
        await pilot.pause()
        assert GITHUB_TOKEN in rendered(app)
        assert str(screen.query_one("#token", Static).content) == GITHUB_TOKEN

        await pilot.pause(WAIT)  # reveal_for has passed
        assert str(screen.query_one("#token", Static).content) == f"{MASK}  (9 characters)"
        assert not holds(screen, GITHUB_TOKEN)
        assert GITHUB_TOKEN not in rendered(app)


async def test_v_again_masks_at_once(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=TuiSettings(reveal_for=60, refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        await pilot.press("v")
        await pilot.pause()
        assert holds(screen, GITHUB_TOKEN)
        hint = str(screen.query_one("#token-hint", Static).content)
        assert hint.startswith("shown: hidden again in ") and hint.split()[4] in ("60", "59")  # it says how long
        await pilot.press("v")
        await pilot.pause()
        assert not holds(screen, GITHUB_TOKEN)
        assert GITHUB_TOKEN not in rendered(app)


async def test_c_copies_and_the_clipboard_is_cleared_later(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        screen = await open_detail(pilot, "github")
        await pilot.press("c")
        assert app.clipboard == GITHUB_TOKEN
        assert "Sent to the terminal's clipboard: github's token, cleared again in 0.5 s." in notices.texts()
        assert not any("Copied" in text for text in notices.texts())  # OSC 52: the terminal may drop it
        assert not holds(screen, GITHUB_TOKEN)  # copying does not reveal

        await pilot.pause(WAIT)
        assert app.clipboard == " "  # overwritten (tmux ignores an empty write)


async def test_the_notice_says_the_configured_delay(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await open_detail(pilot, "github")
        await pilot.press("c")
        assert "Sent to the terminal's clipboard: github's token, cleared again in 30 s." in notices.texts()
        assert app.clipboard == GITHUB_TOKEN


async def test_the_clipboard_is_left_alone_if_something_else_was_copied(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, "github")
        await pilot.press("c")
        app.copy_to_clipboard("something the user copied since")
        await pilot.pause(WAIT)
        assert app.clipboard == "something the user copied since"


async def test_the_clipboard_is_cleared_after_leaving_the_screen(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=TuiSettings(clipboard_clear_after=1.0, refresher=False))  # time to leave
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, "github")
        await pilot.press("c", "escape")
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
        assert app.clipboard == GITHUB_TOKEN
        await pilot.pause(1.2)
        assert app.clipboard == " "  # overwritten (tmux ignores an empty write)


# ------------------------------------------------------------------ actions


async def test_rename_updates_the_screen(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        dialog.query_one("#answer", Input).value = "octo-work"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert current(app) is screen
        assert screen.name_shown == "octo-work"
        assert screen.sub_title == "octo-work"
        assert fact(screen, "name") == "octo-work"
        assert vault.records.exists("octo-work") and not vault.records.exists("github")
        table: DataTable[Text] = screen.query_one("#audit", DataTable)
        first = [str(cell) for cell in table.get_row(table.ordered_rows[0].key)]
        assert first[1:] == ["rename", "ok", "from=github"]

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
        assert app.screen.selected_name() == "octo-work"


async def test_the_list_below_follows_a_rename_and_a_delete_while_hidden(samples: tuple[Vault, FrozenClock]) -> None:
    """Actions tell every screen what changed (CredentialRenamed, CredentialDeleted), not just the one in front."""
    vault, clock = samples
    seen: list[Message] = []
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        detail = await open_detail(pilot, "github")
        listing = app.screen_stack[-2]
        assert isinstance(listing, TokenListScreen)
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = "octo-work"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert current(app) is detail
        assert listing.selected_name() == "octo-work"  # re-read and re-highlighted behind the detail screen
        assert CredentialRenamed("github", "octo-work") in seen

        await pilot.press("d", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is listing and CredentialDeleted("octo-work") in seen
        assert "octo-work" not in listing.query_one("#tokens", CredentialTable).row_keys


async def test_n_then_escape_changes_nothing(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    before = [c.public(clock.now()) for c in vault.credentials()]
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert current(app) is screen
        assert screen.name_shown == "github"
    assert [c.public(clock.now()) for c in vault.credentials()] == before


async def test_delete_after_yes_goes_back_to_the_list(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, "github")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
        assert not vault.records.exists("github")
        table = app.screen.query_one("#tokens", CredentialTable)
        assert table.row_keys == [n for n in SAMPLE_ORDER if n != "github"]


async def test_delete_answered_no_keeps_it(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        await pilot.press("d", "n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert current(app) is screen
        assert vault.records.exists("github")


async def test_revoking_a_static_token_erases_it_and_the_screen_says_so(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        screen = await open_detail(pilot, "github")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert current(app) is screen
        assert fact(screen, "status") == "revoked"
        assert str(screen.query_one("#token", Static).content) == "none stored"
        await pilot.press("v", "c")
        assert app.clipboard == ""  # nothing was copied
        assert "github holds no token (revoked)." in notices.texts()
    assert vault.get("github").access_token is None


async def test_a_stored_token_that_is_no_token_is_neither_revealed_nor_copied(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a token comes only from vault.compat (the store it replaces kept one); the screen
    hands it out no more than ``tokendeck token`` does, and says why."""
    from vault.core.secret import Secret

    vault, clock = samples
    vault.records.save(replace(vault.get("github"), access_token=Secret("two words")))
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        screen = await open_detail(pilot, "github")
        await pilot.press("v", "c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.clipboard == ""
        assert str(screen.query_one("#token", Static).content).startswith(MASK)
        why = "github holds no usable token: the token contains whitespace or control characters."
        assert notices.texts().count(why) == 2
    assert vault.get("github").access_token == Secret("two words")  # kept as it was


async def test_refresh_and_revoke_against_the_authorization_server(
    samples: tuple[Vault, FrozenClock], auth_server: AuthServer
) -> None:
    vault, clock = samples
    old = seed(vault, auth_server, "acme", expires_in=HOUR)
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "acme")
        assert fact(screen, "last_refreshed") == "never"

        clock.advance(10 * 60)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert auth_server.token_request_count("refresh_token") == 1
        assert fact(screen, "last_refreshed") == "2026-05-28T23:36:40Z (just now)"
        assert fact(screen, "expires").endswith("(in 1h)")
        new_token = vault.get("acme").access_token
        assert new_token is not None and new_token != old.access_token
        assert not holds(screen, new_token.reveal())

        await pilot.press("x", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert fact(screen, "status") == "revoked"
        assert auth_server.token_state(new_token.reveal()) != "active"
        table: DataTable[Text] = screen.query_one("#audit", DataTable)
        actions = [str(table.get_row(row.key)[1]) for row in table.ordered_rows]
        assert actions[:2] == ["revoke", "refresh"]


async def test_refreshing_a_static_token_explains_why_not(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        screen = await open_detail(pilot, "github")
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert current(app) is screen
        assert any("static token" in text and "nothing to refresh" in text for text in notices.texts())
        assert not [n for n, kw in notices.seen if kw.get("severity") == "error"]  # said calmly (issue 34)


async def test_vault_changed_reloads_the_facts(samples: tuple[Vault, FrozenClock]) -> None:
    from screens.messages import VaultChanged

    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        vault.records.note_error("github", "the refresher failed", action="refresh", outcome="failed")
        screen.post_message(VaultChanged())
        await pilot.pause()
        assert fact(screen, "last_error") == "the refresher failed"


async def test_a_credential_deleted_elsewhere_goes_back_to_the_list(samples: tuple[Vault, FrozenClock]) -> None:
    from screens.messages import VaultChanged

    vault, clock = samples
    app = make_app(vault, clock, settings=FAST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, "github")
        vault.remove("github")
        screen.post_message(VaultChanged())
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)


async def test_the_screen_fits_80_by_24(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples, settings=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, "github")
        table: DataTable[Text] = screen.query_one("#audit", DataTable)
        assert table.region.height >= 3  # the header and at least two events
        assert screen.query_one("#token", Static).region.height >= 1
