"""Issue 18, step 4: signing in to an MCP server from the TUI, from nothing but its URL.

The same loopback MCP resource and Authlib authorization server (dynamic registration and
resource indicators switched on) as ``tokendeck login --mcp`` (tests/test_mcp_login.py),
the real loopback listener, and the fake browser as ``$BROWSER``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from screens.main import make_app
from screens.signin import MCP_OPTION
from screens.token_list import TokenListScreen
from tests import test_mcp_login
from tests.support.authserver import AuthServer
from tests.support.tui import new_vault
from tests.test_tui_signin import SIZE, Notes, cursor_name, signin_screen, text_of, until
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

mcp_server = test_mcp_login.mcp_server
"""The loopback MCP resource and its authorization server, as ``login --mcp`` is tested with."""


@pytest.fixture
def opened(browser_log: Path) -> Iterator[tuple[Vault, FrozenClock]]:
    vault, clock = new_vault(at=time.time())
    with vault:
        yield vault, clock


async def test_sign_in_from_an_mcp_url_registers_binds_the_resource_and_lands_on_the_row(
    opened: tuple[Vault, FrozenClock],
    mcp_server: str,
    auth_server: AuthServer,
) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        await pilot.press("s")
        screen = signin_screen(app)
        options = screen.query_one("#providers", OptionList)
        assert options.get_option(MCP_OPTION) is not None  # listed, and m opens it too
        await pilot.press("m")
        assert screen.view == "mcp" and screen.query_one("#mcp-url", Input).has_focus
        await pilot.press("enter")  # nothing typed yet
        assert text_of(app, "#problem") == "Enter the MCP server's URL (https://…); nothing was stored."
        screen.query_one("#mcp-url", Input).value = mcp_server
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await app.workers.wait_for_complete()
        await pilot.pause()
        (name,) = [c.name for c in vault.credentials()]
        assert cursor_name(app) == name
        assert any(m.startswith(f"registered tokendeck with {auth_server.issuer}") for m in notes.messages)
        # The token is for the MCP server, so no userinfo call learns an account (none without an ID token).
        assert f"Signed in to {name}; stored as {name}." in notes.messages
    credential = vault.get(name)
    assert credential.extras["mcp_url"] == mcp_server and credential.account is None
    assert vault.records.get_client(credential.provider).overrides["resource"] == mcp_server
    exchange = [t for t in auth_server.token_requests() if t.grant_type == "authorization_code"]
    assert [(t.status, t.resource) for t in exchange] == [(200, mcp_server)]
    assert len(auth_server.registrations()) == 1


async def test_a_server_without_metadata_says_so_in_the_screen_and_stores_nothing(
    opened: tuple[Vault, FrozenClock], auth_server: AuthServer
) -> None:
    """A plain OAuth server's URL is not an MCP server: one line, the form again, nothing stored."""
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        screen = signin_screen(app)
        options = screen.query_one("#providers", OptionList)
        options.highlighted = options.get_option_index(MCP_OPTION)
        await pilot.press("enter")
        assert screen.view == "mcp"
        screen.query_one("#mcp-url", Input).value = auth_server.issuer + "/mcp"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: screen.view == "mcp", "the form again")
        assert text_of(app, "#problem") == (
            f"mcp: {auth_server.issuer}/mcp answered HTTP 404, not 401, and has no protected-resource "
            "metadata: it does not ask for sign-in  Press enter to try again."
        )
        url = screen.query_one("#mcp-url", Input)
        assert url.value == auth_server.issuer + "/mcp" and url.has_focus  # kept, to be corrected
        await pilot.press("escape")
        assert screen.view == "pick"  # type: ignore[comparison-overlap]  # the key changed what mypy narrowed
    assert vault.credentials() == [] and vault.records.clients() == []
    assert auth_server.registrations() == []


async def test_escape_while_waiting_for_the_browser_cancels_the_mcp_sign_in(
    opened: tuple[Vault, FrozenClock],
    mcp_server: str,
    auth_server: AuthServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault, clock = opened
    monkeypatch.setenv("FAKE_BROWSER_MODE", "never")
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "m")
        screen = signin_screen(app)
        screen.query_one("#mcp-url", Input).value = mcp_server
        await pilot.press("enter")
        await until(pilot, lambda: text_of(app, "#wait-url").startswith("http"), "the URL")
        assert "resource=" in text_of(app, "#wait-url")
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: screen.view == "mcp", "the form again")
        assert text_of(app, "#problem") == "The sign-in was cancelled; nothing was stored."
    assert vault.credentials() == []
    assert [t for t in auth_server.token_requests() if t.grant_type == "authorization_code"] == []
