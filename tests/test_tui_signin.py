"""Pilot tests for signing in and adding a token from the TUI.

Sign-in runs for real: the loopback Authlib authorization server, the real
loopback listener and a fake browser set as ``$BROWSER`` (``FAKE_BROWSER_MODE``
picks what the user does).  The browser is a subprocess, so the tests poll with
short Pilot pauses up to a bound instead of sleeping.  Every bad input must end
with a message in the screen and a vault exactly as it was.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static

from screens.add_token import AddTokenScreen
from screens.app import VaultApp
from screens.dialogs.confirm import ConfirmDialog
from screens.main import make_app
from screens.messages import VaultChanged
from screens.signin import SignInScreen
from screens.signin_flow import UrlReady
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.authserver import AuthServer
from tests.support.tui import DAY, add_samples, new_vault
from vault import Vault
from vault.core.clock import FrozenClock
from vault.core.model import ClientRegistration
from vault.core.secret import Secret
from vault.oauth.discovery import discover

pytestmark = pytest.mark.anyio

SIZE = (100, 30)
CLIENT_ID = "tokendeck-tui"
ACCOUNT = "alice@example.test"
BOUND = 20.0
"""Seconds a test waits for the browser subprocess and the flow before failing."""


@pytest.fixture
def opened() -> Iterator[tuple[Vault, FrozenClock]]:
    """A fresh vault on a clock frozen at the real time (the server's tokens are real)."""
    vault, clock = new_vault(at=time.time())
    with vault:
        yield vault, clock


@pytest.fixture
def registered(
    opened: tuple[Vault, FrozenClock], auth_server: AuthServer, browser_log: Path
) -> tuple[Vault, FrozenClock]:
    """The test server registered as provider ``acme`` by discovery, as ``tokendeck provider add`` does."""
    vault, _ = opened
    auth_server.register_client(CLIENT_ID)
    vault.records.set_client(
        ClientRegistration(
            provider="acme", base="oidc", client_id=CLIENT_ID, overrides=discover("acme", auth_server.issuer)
        )
    )
    return opened


class Notes:
    """Records every notification the app shows."""

    def __init__(self, app: VaultApp) -> None:
        self.shown: list[tuple[str, dict[str, Any]]] = []
        original = app.notify

        def notify(message: str, **options: Any) -> None:
            self.shown.append((message, options))
            original(message, **options)

        app.notify = notify  # type: ignore[method-assign]

    @property
    def messages(self) -> list[str]:
        return [message for message, _ in self.shown]


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str, bound: float = BOUND) -> None:
    """Pause the Pilot in short steps until ``condition`` holds (the browser is a real subprocess)."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def text_of(app: VaultApp, selector: str) -> str:
    """What a Static or Label shows, as plain text (markup parsed would lose the brackets)."""
    return str(app.screen.query_one(selector, Static).render())


def signin_screen(app: VaultApp) -> SignInScreen:
    screen = app.screen
    assert isinstance(screen, SignInScreen)
    return screen


def highlight(app: VaultApp, option_id: str) -> None:
    options = signin_screen(app).query_one("#providers", OptionList)
    options.highlighted = options.get_option_index(option_id)


def cursor_name(app: VaultApp) -> str | None:
    screen = app.screen
    assert isinstance(screen, TokenListScreen)
    return screen.selected_name()


def sent(seen: list[Message], kind: type[Message]) -> list[Any]:
    """Messages of one kind, each once (the hook sees a bubbling message at every pump)."""
    return list({id(m): m for m in seen if isinstance(m, kind)}.values())


# ------------------------------------------------------------------ sign in


async def test_sign_in_lands_on_the_new_row_highlighted(
    registered: tuple[Vault, FrozenClock], auth_server: AuthServer
) -> None:
    vault, clock = registered
    add_samples(vault, clock)  # other rows, so highlighting the new one means something
    clock.at = time.time()
    seen: list[Message] = []
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        notes = Notes(app)
        await pilot.press("s")
        screen = signin_screen(app)
        options = screen.query_one("#providers", OptionList)
        assert options.highlighted_option is not None and options.highlighted_option.id == "reg:acme"
        prompt = options.highlighted_option.prompt
        assert isinstance(prompt, Text) and "registered" in prompt.plain

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await app.workers.wait_for_complete()
        await pilot.pause()

        assert cursor_name(app) == "acme"
        table = app.screen.query_one("#tokens", CredentialTable)
        assert "acme" in table.row_keys
        assert VaultChanged(highlight="acme") in sent(seen, VaultChanged)
        urls = sent(seen, UrlReady)
        assert len(urls) == 1 and urls[0].url.startswith(auth_server.issuer + "/authorize?")
        assert f"Signed in as {ACCOUNT}; stored as acme." in notes.messages
    stored = vault.get("acme")
    assert stored.kind == "oauth" and stored.account == ACCOUNT
    assert stored.access_token is not None
    assert auth_server.token_state(stored.access_token.reveal()) == "active"


async def test_cancel_while_waiting_stores_nothing_and_can_retry(
    registered: tuple[Vault, FrozenClock], auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = registered
    monkeypatch.setenv("FAKE_BROWSER_MODE", "never")  # the user never comes back
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "enter")
        screen = signin_screen(app)
        await until(pilot, lambda: text_of(app, "#wait-url").startswith("http"), "the URL")
        url = text_of(app, "#wait-url")
        assert url.startswith(auth_server.issuer + "/authorize?")
        assert screen.query_one("#views").current == "wait"  # type: ignore[attr-defined]
        assert text_of(app, "#time-left") == "Time left: 5:00"
        clock.advance(61)
        screen.tick()
        assert text_of(app, "#time-left") == "Time left: 3:59"

        await pilot.press("c")
        assert app.clipboard == url
        # On screen the URL wraps; a mouse selection of it still gives it whole, with no
        # newline where it wrapped (Textual selects in the text, not in the drawn lines).
        from textual.selection import Selection

        line = screen.query_one("#wait-url")
        assert line.size.height > 1
        assert line.get_selection(Selection(None, None)) == (url, "\n")

        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: screen.view == "pick", "the provider list")
        assert text_of(app, "#problem") == "The sign-in was cancelled; nothing was stored."
        assert vault.credentials() == []
        assert screen.query_one("#providers", OptionList).has_focus

        monkeypatch.setenv("FAKE_BROWSER_MODE", "approve")  # try again, and this time approve
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cursor_name(app) == "acme"
    assert vault.get("acme").account == ACCOUNT


async def test_escape_on_the_list_of_providers_goes_back(registered: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*registered)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        signin_screen(app)
        await pilot.press("escape")
        assert isinstance(app.screen, TokenListScreen)


async def test_refused_sign_in_shows_the_error_and_stays(
    registered: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = registered
    monkeypatch.setenv("FAKE_BROWSER_MODE", "deny")
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "enter")
        screen = signin_screen(app)
        await until(pilot, lambda: "access_denied" in text_of(app, "#problem"), "the error")
        await app.workers.wait_for_complete()
        said = text_of(app, "#problem")  # in people's words first, the provider's own below
        assert said.startswith("The sign-in was declined") and "\nacme said: access_denied" in said
        assert app.screen is screen and screen.view == "pick"
    assert vault.credentials() == []


async def test_provider_error_with_markup_is_shown_literally(
    registered: tuple[Vault, FrozenClock], auth_server: AuthServer
) -> None:
    vault, clock = registered
    words = "[bold red]boom[/] [link=https://evil.example]click[/link]"
    body = json.dumps({"error": "invalid_request", "error_description": words}).encode()
    auth_server.settings.token_response_override = (400, "application/json", body)
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "enter")
        await until(pilot, lambda: "invalid_request" in text_of(app, "#problem"), "the error")
        await app.workers.wait_for_complete()
        shown = text_of(app, "#problem")
        assert f"\nacme said: invalid_request: {words}" in shown  # literally, markup and all
        assert isinstance(app.screen, SignInScreen)
    assert vault.credentials() == []


async def test_device_code_is_shown_and_approved(
    registered: tuple[Vault, FrozenClock], auth_server: AuthServer
) -> None:
    vault, clock = registered
    seen: list[Message] = []
    shown = threading.Event()
    approved: list[str] = []

    def user_approves_on_another_device() -> None:
        code = auth_server.wait_for_device_authorization()
        shown.wait(BOUND)  # approve only once the test has seen the code on screen
        approved.append(code)
        auth_server.approve_device(code)

    app = make_app(vault, clock)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await pilot.press("s")
        screen = signin_screen(app)
        device = screen.query_one("#device", Checkbox)
        assert device.display and not device.value  # acme's metadata advertises a device endpoint
        await pilot.press("d")
        assert device.value
        approver = threading.Thread(target=user_approves_on_another_device, daemon=True)
        approver.start()
        await pilot.press("enter")
        await until(pilot, lambda: screen.query_one("#user-code", Static).display, "the user code")
        code = text_of(app, "#user-code")
        assert code in auth_server.pending_user_codes()
        assert auth_server.issuer in text_of(app, "#wait-hint")
        shown.set()
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await app.workers.wait_for_complete()
        await pilot.pause()
        approver.join(BOUND)
        assert approved == [code]
        assert cursor_name(app) == "acme"
        assert not sent(seen, UrlReady)  # no browser for the device flow
    assert vault.get("acme").account == ACCOUNT


async def test_device_option_only_for_providers_that_have_it(opened: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*opened)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        screen = signin_screen(app)
        highlight(app, "new:linear")  # no device endpoint
        await pilot.pause()
        assert not screen.query_one("#device", Checkbox).display
        highlight(app, "new:github")
        await pilot.pause()
        assert screen.query_one("#device", Checkbox).display


# ------------------------------------------------------------- registration


async def test_unregistered_provider_asks_for_the_app_first(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        screen = signin_screen(app)
        option = screen.query_one("#providers", OptionList).get_option("new:github")
        assert isinstance(option.prompt, Text) and "needs your app" in option.prompt.plain
        highlight(app, "new:github")
        await pilot.press("enter")
        assert screen.view == "register"
        assert text_of(app, "#register-title") == "Register your GitHub (OAuth App) app"
        assert "New OAuth App with callback URL http://127.0.0.1/callback" in text_of(app, "#register-help")
        assert "https://github.com/settings/applications/new" in text_of(app, "#register-url")
        secret = screen.query_one("#client-secret", Input)
        assert secret.password and "required" in secret.placeholder

        await pilot.press("enter")  # the client ID is still empty
        assert (
            text_of(app, "#problem") == "Enter the client ID of your app (its public identifier); nothing was stored."
        )
        assert screen.view == "register"

        screen.query_one("#client-id", Input).value = "Iv1.abc"
        await pilot.press("enter")  # GitHub's browser sign-in needs the secret too
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert text_of(app, "#problem") == "GitHub (OAuth App) needs your app's client secret too; nothing was stored."
        assert screen.view == "register"

        await pilot.press("escape")
        assert signin_screen(app).view == "pick"  # back to the list of providers
        assert text_of(app, "#problem") == ""
    assert vault.records.clients() == []


async def test_register_a_server_by_discovery_then_sign_in(
    opened: tuple[Vault, FrozenClock], auth_server: AuthServer, browser_log: Path
) -> None:
    vault, clock = opened
    auth_server.register_client(CLIENT_ID)
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        await pilot.press("s")
        screen = signin_screen(app)
        highlight(app, "new:oidc")
        await pilot.press("enter")
        assert screen.view == "register"
        assert screen.query_one("#provider-name", Input).has_focus
        screen.query_one("#provider-name", Input).value = "acme"
        screen.query_one("#issuer", Input).value = auth_server.issuer
        screen.query_one("#client-id", Input).value = CLIENT_ID
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cursor_name(app) == "acme"
        assert "Stored your app for acme." in notes.messages
    (registration,) = vault.records.clients()
    assert (registration.provider, registration.base, registration.client_id) == ("acme", "oidc", CLIENT_ID)
    assert registration.client_secret is None
    assert vault.get("acme").account == ACCOUNT


async def test_edit_a_registration_keeps_its_endpoints(
    registered: tuple[Vault, FrozenClock], auth_server: AuthServer
) -> None:
    vault, clock = registered
    (before,) = vault.records.clients()
    auth_server.register_client("second-client")
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "e")
        screen = signin_screen(app)
        assert screen.view == "register"
        assert text_of(app, "#register-title") == "Change the app registered for acme"
        assert screen.query_one("#client-id", Input).value == CLIENT_ID
        assert not screen.query_one("#issuer", Input).parent.display  # type: ignore[union-attr]
        screen.query_one("#client-id", Input).value = ""
        await pilot.press("enter")
        assert text_of(app, "#problem").startswith("Enter the client ID")
        assert vault.records.clients() == [before]

        screen.query_one("#client-id", Input).value = "second-client"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await app.workers.wait_for_complete()
    (after,) = vault.records.clients()
    assert after.client_id == "second-client" and after.overrides == before.overrides
    assert vault.get("acme").account == ACCOUNT


async def test_bad_issuer_stores_nothing(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        screen = signin_screen(app)
        highlight(app, "new:oidc")
        await pilot.press("enter")
        screen.query_one("#provider-name", Input).value = "acme"
        screen.query_one("#issuer", Input).value = "http://login.example.com"  # plain http to a real host
        screen.query_one("#client-id", Input).value = CLIENT_ID
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "must be an https URL" in text_of(app, "#problem")
        assert screen.view == "register"
    assert vault.records.clients() == []


# ---------------------------------------------------------------- add token


async def fill(app: VaultApp, pilot: Pilot[None], **fields: str) -> None:
    for field_id, value in fields.items():
        app.screen.query_one(f"#{field_id.replace('_', '-')}", Input).value = value
    await pilot.pause()


async def open_add(app: VaultApp, pilot: Pilot[None]) -> AddTokenScreen:
    await pilot.press("a")
    screen = app.screen
    assert isinstance(screen, AddTokenScreen)
    return screen


async def test_add_token_lands_on_the_new_row(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    add_samples(vault, clock)
    token = "ghp_TopSecretValue123"
    seen: list[Message] = []
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        notes = Notes(app)
        screen = await open_add(app, pilot)
        assert screen.query_one("#token", Input).password
        await fill(app, pilot, name="work-gh", provider="github-pat", account="octocat", expires="90d", token=token)
        assert token not in app.export_screenshot()  # masked while typed
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await pilot.pause()
        assert cursor_name(app) == "work-gh"
        assert VaultChanged(highlight="work-gh") in sent(seen, VaultChanged)
        assert "Added work-gh." in notes.messages  # (the refresher may warn about the samples too)
        assert not [m for m in notes.messages if token in m]
        assert token not in app.export_screenshot()
    stored = vault.get("work-gh")
    assert (stored.provider, stored.account, stored.kind) == ("github-pat", "octocat", "static")
    assert stored.expires_at == clock.now() + 90 * DAY
    assert vault.token("work-gh") == token
    ours = [m for m in seen if type(m).__module__.startswith("screens.")]  # Input.Changed carries it, by design
    assert ours and not [m for m in ours if token in repr(m)]


async def test_add_token_empty_form(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_add(app, pilot)
        await pilot.press("enter")
        assert str(screen.query_one("#problem", Label).render()) == (
            "The form is empty: enter a name, a provider and the token."
        )
        assert app.screen is screen
        await pilot.press("escape")
        assert isinstance(app.screen, TokenListScreen)
    assert vault.credentials() == []


async def test_add_token_existing_name(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    add_samples(vault, clock)
    before = {c.name: c for c in vault.credentials()}
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_add(app, pilot)
        await fill(app, pilot, name="github", provider="github-pat", token="ghp_other")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert text_of(app, "#problem") == "A credential named 'github' already exists: choose another name."
        assert app.screen is screen
    assert {c.name: c for c in vault.credentials()} == before
    assert vault.token("github") == "ghp_test2"


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("tomorrow", "not a date, time or duration: 'tomorrow' (try 2026-12-31, 2026-12-31T12:00:00Z or 90d)"),
        ("2020-01-01", "The expiry is in the past."),
    ],
)
async def test_add_token_bad_expiry(opened: tuple[Vault, FrozenClock], expires: str, message: str) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_add(app, pilot)
        await fill(app, pilot, name="key", provider="api-key", expires=expires, token="sk-1")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert text_of(app, "#problem") == message
        assert isinstance(app.screen, AddTokenScreen)
    assert vault.credentials() == []


async def test_add_token_name_with_markup_is_shown_literally(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_add(app, pilot)
        await fill(app, pilot, name="[bold]x[/]", provider="api-key", token="sk-1")
        await pilot.press("enter")
        assert text_of(app, "#problem").startswith("invalid name '[bold]x[/]'")
    assert vault.credentials() == []


async def test_jira_dc_asks_for_the_server_and_username(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_add(app, pilot)
        assert not screen.query_one("#jira").display
        await fill(app, pilot, name="jira", provider="jira-dc", token="NjM0-jira")
        assert screen.query_one("#jira").display
        await pilot.press("enter")
        assert text_of(app, "#problem") == "jira-dc needs the server URL and your username on it."
        assert vault.credentials() == []
        await fill(app, pilot, server_url="https://jira.example.com", username="ada")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await pilot.pause()
    stored = vault.get("jira")
    assert stored.extras == {"server_url": "https://jira.example.com", "username": "ada"}


async def test_oauth_provider_is_sent_to_sign_in(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_add(app, pilot)
        await fill(app, pilot, name="gh", provider="github", token="gho_x")
        await pilot.press("enter")
        assert text_of(app, "#problem") == (
            "github signs in with OAuth: press escape, then s to sign in; "
            "a token you already have goes in as provider github-pat"
        )
    assert vault.credentials() == []


@pytest.mark.parametrize("dead", ["needs_login", "revoked"])
async def test_sign_in_again_replaces_a_dead_credential_in_place(
    registered: tuple[Vault, FrozenClock], auth_server: AuthServer, tmp_path: Path, dead: str
) -> None:
    """``l`` on a needs-login or revoked row: the flow runs at once with the stored registration,
    and the new tokens land in the same credential: its name, export binding and audit trail stay."""
    vault, clock = registered
    clock.at = time.time()
    vault.records.add_static("placeholder", provider="api-key", token="x")  # a row above it, so the cursor moves
    vault.records.save(vault_credential(auth_server.issue_token(CLIENT_ID), clock.now()), action="login")
    vault.records.mark("work", dead, last_error="invalid_grant", action="refresh", outcome="dead_grant")
    vault.records.links.add_export_binding(
        "work", target="dotenv", path=str(tmp_path / "work.env"), key="WORK", options={}
    )
    before = vault.get("work")
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        table = app.screen.query_one("#tokens", CredentialTable)
        await until(pilot, lambda: "work" in table.row_keys, "the rows")
        table.move_cursor(table.row_keys.index("work"))
        await pilot.pause()
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen) and app.screen.is_current
                    and f"Signed in as {ACCOUNT}; stored as work." in notes.messages, "signing in again")  # fmt: skip
    after = vault.get("work")
    assert after.status_at(time.time()) == "active" and after.access_token is not None
    assert auth_server.token_state(after.access_token.reveal()) == "active"
    assert after.access_token != before.access_token and after.created_at == before.created_at
    assert [b.key for b in vault.records.links.export_bindings("work")] == ["WORK"]  # the binding followed
    assert [c.name for c in vault.credentials()] == ["placeholder", "work"]  # no second credential


@pytest.mark.parametrize("answer", ["cancel", "replace"])
async def test_sign_in_again_as_another_account_asks_first(
    registered: tuple[Vault, FrozenClock],
    auth_server: AuthServer,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
) -> None:
    """Issue 33: ``l`` on alice's row with the browser signed in as bob shows a dialog naming
    both accounts; Cancel keeps alice's credential exactly as it was (and the audit too) and
    revokes bob's unused tokens; Replace stores bob's, and the audit names both."""
    vault, clock = registered
    clock.at = time.time()
    dead = vault_credential(auth_server.issue_token(CLIENT_ID), clock.now())
    dead = dataclasses.replace(dead, extras={"account_subject": "user-0001-alice"})
    vault.records.save(dead, action="login")
    vault.records.mark("work", "needs_login", last_error="invalid_grant", action="refresh", outcome="dead_grant")
    before, audit_before = vault.get("work"), vault.records.audit_log()
    monkeypatch.setenv("FAKE_BROWSER_USER", "bob")
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        table = app.screen.query_one("#tokens", CredentialTable)
        await until(pilot, lambda: "work" in table.row_keys, "the rows")
        table.move_cursor(table.row_keys.index("work"))
        await pilot.pause()
        await pilot.press("l")
        # pushed, then composed: wait for its buttons, not only the screen
        await until(
            pilot, lambda: isinstance(app.screen, ConfirmDialog) and bool(app.screen.query("#no")), "the question"
        )
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.question == f"Replace {ACCOUNT} with bob@example.test?"
        assert dialog.body.startswith(f"work holds {ACCOUNT}; this sign-in is bob@example.test.")
        assert vault.get("work") == before  # nothing stored while the question is open
        no = dialog.query_one("#no", Button)
        await until(pilot, lambda: no.has_focus, "the dialog to settle")  # Cancel has the focus
        if answer == "cancel":
            await pilot.press("enter")
            kept = f"Kept work as {ACCOUNT}; the sign-in as bob@example.test was not stored."
            await until(pilot, lambda: isinstance(app.screen, SignInScreen) and text_of(app, "#problem") == kept,
                        "the answer")  # fmt: skip
        else:
            await pilot.press("y")
            done = "Signed in as bob@example.test; stored as work."
            await until(pilot, lambda: isinstance(app.screen, TokenListScreen) and app.screen.is_current
                        and done in notes.messages, "replacing")  # fmt: skip
    after = vault.get("work")
    if answer == "cancel":
        assert after == before  # tokens, account, subject and status as they were
        assert vault.records.audit_log() == audit_before
        assert [r.matched for r in auth_server.revocations()] == ["refresh_token", "access_token"]  # bob's
    else:
        assert after.account == "bob@example.test" and after.extras["account_subject"] == "user-0002-bob"
        assert after.status_at(time.time()) == "active" and after.created_at == before.created_at
        last = vault.records.audit_log()[-1]
        assert (last.action, last.outcome, last.detail) == (
            "login", "replaced", f"account changed: {ACCOUNT} -> bob@example.test",
        )  # fmt: skip
        assert auth_server.revocations() == []


def vault_credential(issued: dict[str, Any], now: float) -> Any:
    from vault.core.model import Credential
    from vault.core.secret import Secret

    return Credential(
        name="work",
        provider="acme",
        kind="oauth",
        account=ACCOUNT,
        access_token=Secret(issued["access_token"]),
        refresh_token=Secret(issued["refresh_token"]),
        expires_at=now + 3600,
        created_at=now - 86400,
        updated_at=now - 86400,
    )


async def test_a_google_app_marked_as_a_limited_input_client_signs_in_with_a_device_code(
    opened: tuple[Vault, FrozenClock], auth_server: AuthServer
) -> None:
    """Google's device flow takes only a "TVs and Limited Input devices" client (PROVIDERS.md
    Part E [e3]): a Desktop registration offers no device code; ticking the form's box stores
    the client type, and the sign-in that follows is a device sign-in."""
    vault, clock = opened
    auth_server.register_client(CLIENT_ID, client_secret="tv-secret", token_endpoint_auth_method="client_secret_post")
    auth_server.settings.device_auto_approve_after = 0
    endpoints = {
        "authorize_url": auth_server.url("/authorize"), "token_url": auth_server.url("/token"),
        "device_authorization_url": auth_server.url("/device_authorization"),
        "userinfo_url": auth_server.url("/userinfo"), "default_scopes": ["openid", "email"],
    }  # fmt: skip
    vault.records.set_client(ClientRegistration(provider="google", base="google", client_id=CLIENT_ID,
                                        client_secret=Secret("tv-secret"), overrides=endpoints))  # fmt: skip
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        screen = signin_screen(app)
        highlight(app, "reg:google")
        await pilot.pause()
        assert not screen.query_one("#device", Checkbox).display  # a Desktop client: no device code
        await pilot.press("e")
        box = screen.query_one("#client-type", Checkbox)
        assert box.parent is not None and box.parent.display and not box.value
        assert "TVs and Limited Input devices" in str(box.label)
        box.value = True
        screen.query_one("#client-id", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TokenListScreen), "the list again")
        await app.workers.wait_for_complete()
        await pilot.pause()
    (registration,) = vault.records.clients()
    assert registration.overrides["client_type"] == "limited-input"
    assert registration.overrides["token_url"] == endpoints["token_url"]  # the rest kept
    assert vault.get("google").refresh_token is not None
    grants = [t.grant_type for t in auth_server.token_requests()]
    assert grants == ["urn:ietf:params:oauth:grant-type:device_code"]  # a device sign-in, not the browser
