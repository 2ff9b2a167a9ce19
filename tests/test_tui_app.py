"""Pilot tests for the app around the list: unlocking (right and wrong), first run,
auto-lock, filtering, and the actions that reach the loopback authorization server
through workers, behind confirmation modals."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

import vault
from screens.app import VaultApp
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.prompt import PromptDialog
from screens.logic.countdown import urgency
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.unlock import FirstRunScreen, UnlockScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from tests.support.tui import Notices, add_samples, new_vault, record_notices
from vault import Vault

pytestmark = pytest.mark.anyio
SIZE = (100, 30)
PASS = "tui passphrase"
QUIET = TuiSettings(refresher=False)


@pytest.fixture
def passphrase_vault(home: Path) -> Path:
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        v.records.add_static("gh", provider="github-pat", token="ghp_secret_value")
    return home


async def wait_for(pilot: object, condition: object, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)  # type: ignore[attr-defined]


def names(app: VaultApp) -> list[str]:
    """The row keys of the list on screen ([] while it is still being composed)."""
    from textual.css.query import NoMatches

    try:
        table = app.screen.query_one("#tokens", CredentialTable)
    except NoMatches:
        return []
    return table.row_keys


# ---------------------------------------------------------------- unlocking


async def test_unlock_wrong_then_right(passphrase_vault: Path) -> None:
    before = (passphrase_vault / "vault.db").read_bytes()
    app = make_app(home=passphrase_vault, settings=QUIET, env={})
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, UnlockScreen)
        await pilot.click("#passphrase")
        await pilot.press(*"nope", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "wrong passphrase" in str(app.screen.query_one("#problem", Label).render())
        assert app.screen.query_one("#passphrase", Input).value == ""  # cleared, ready again
        assert (passphrase_vault / "vault.db").read_bytes() == before  # nothing written
        await pilot.press(*PASS, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen) and names(app) == ["gh"])
        assert app.vault is not None


@pytest.fixture
def workers_started(monkeypatch: pytest.MonkeyPatch) -> list[Worker[object]]:
    """Every Textual worker started during the test, kept to look at afterwards."""
    started: list[Worker[object]] = []
    init = Worker.__init__

    def recording(self: Worker[object], *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(Worker, "__init__", recording)
    return started


async def test_the_opening_workers_finish_and_never_show_the_passphrase(
    home: Path, no_keyring: None, workers_started: list[Worker[object]]
) -> None:
    """A worker's description (in its repr, so in any traceback) is built from its arguments
    unless given: the passphrase must not be one. And the worker that opened the vault ends as
    done, not cancelled by the screen change it caused."""
    app = make_app(home=home, settings=QUIET, env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*PASS, "enter", *PASS, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen))
        app.lock()
        await wait_for(pilot, lambda: isinstance(app.screen, UnlockScreen))
        await pilot.press(*"not it", "enter")
        await wait_for(pilot, lambda: "wrong passphrase" in str(app.screen.query_one("#problem", Label).render()))
        await pilot.press(*PASS, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen))
        await app.workers.wait_for_complete()
    opening = [w for w in workers_started if w.group == "unlock"]
    assert [w.description for w in opening] == ["create the vault", "unlock", "unlock"]
    assert all(w.state == WorkerState.SUCCESS for w in opening)
    assert not any(secret in repr(w) for w in workers_started for secret in (PASS, "not it"))


async def test_environment_passphrase_unlocks_without_asking(passphrase_vault: Path) -> None:
    app = make_app(home=passphrase_vault, settings=QUIET, env={"TOKENDECK_PASSPHRASE": PASS})
    async with app.run_test(size=SIZE) as pilot:
        # the list is pushed, then mounted and filled: wait for the rows, not just the screen
        await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen) and names(app) == ["gh"])


@pytest.mark.parametrize("given", [PASS, "not it"])
async def test_the_early_unlock_is_what_the_app_opens_or_says(
    passphrase_vault: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """``tokendeck`` starts the KDF before it imports the TUI (issue 15, item 3): the app takes
    that vault, or shows the error it came to, on the unlock screen; once, not again later."""
    from vault.services import opening

    monkeypatch.setenv("TOKENDECK_PASSPHRASE", given)
    opening.unlock_early()
    opened: list[object] = []
    monkeypatch.setattr(opening, "open_vault", lambda *a, **k: opened.append(a))  # must not be needed
    app = make_app(home=passphrase_vault, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        if given == PASS:
            await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen) and names(app) == ["gh"])
        else:
            from textual.css.query import NoMatches

            def said() -> str:
                try:
                    return str(app.screen.query_one("#problem", Label).render())
                except NoMatches:
                    return ""

            await wait_for(pilot, lambda: isinstance(app.screen, UnlockScreen) and "wrong passphrase" in said())
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)  # let the screen finish mounting before the app exits
    assert opened == [] and opening._EARLY == {}


async def test_first_run_creates_a_vault(home: Path, no_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(home=home, settings=QUIET, env={})
    notices = record_notices(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, FirstRunScreen)
        problem = app.screen.query_one("#problem", Label)
        await pilot.click("#create")
        assert "Choose a passphrase" in str(problem.render())
        await pilot.click("#new")
        await pilot.press(*"one", "tab", *"two", "enter")
        assert "do not match" in str(problem.render())
        assert not (home / "vault.db").exists()
        app.screen.query_one("#repeat", Input).value = ""
        await pilot.click("#repeat")
        await pilot.press(*"one", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen))
        assert any("shorter than 12 characters" in message for message, _ in notices.seen), notices.seen
    assert vault.open_vault(home, "one").credentials() == []


async def test_first_run_without_a_keyring_starts_in_the_passphrase_and_enter_moves_on(
    home: Path, no_keyring: None
) -> None:
    app = make_app(home=home, settings=QUIET, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, FirstRunScreen)
        assert app.focused is app.screen.query_one("#new", Input)  # no click needed
        create = app.screen.query_one("#create")
        assert create.region.bottom <= 23  # the Create button in view, above the footer
        shown = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "passphrase" in shown and "keyring.backends" not in shown and "Keyring" not in shown
        await pilot.press(*"one", "enter")  # enter in the first field: on to the second, nothing created
        assert app.focused is app.screen.query_one("#repeat", Input) and not (home / "vault.db").exists()
        await pilot.press(*"one", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen))
    assert vault.open_vault(home, "one").credentials() == []


async def test_first_run_with_a_keyring_fits_80x24(home: Path) -> None:
    app = make_app(home=home, settings=QUIET, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, FirstRunScreen)
        assert app.screen.query_one("#mode").display  # the choice is offered
        assert app.screen.query_one("#create").region.bottom <= 23


async def test_auto_lock_after_idle_and_on_demand(passphrase_vault: Path) -> None:
    clock = vault.FrozenClock(time.time())
    opened = vault.open_vault(passphrase_vault, PASS, clock=clock)
    app = make_app(opened, clock, settings=TuiSettings(refresher=False, auto_lock_after=60))
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, TokenListScreen)
        clock.advance(30)
        await pilot.press("down")  # activity resets the idle timer
        clock.advance(45)
        app._check_idle()
        assert app.vault is not None
        clock.advance(61)
        app._check_idle()
        await pilot.pause()
        assert app.vault is None and isinstance(app.screen, UnlockScreen)
        assert len(app.screen_stack) == 2  # nothing of the list is left behind
        why = "Locked automatically after 1m without a key press."
        assert str(app.screen.query_one("#why", Static).render()) == why  # for whoever comes back to it
        assert why in [n.message for n in app._notifications]
        await pilot.press(*PASS, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TokenListScreen))
        await pilot.press("ctrl+l")
        assert app.vault is None and isinstance(app.screen, UnlockScreen)
        assert not app.screen.query("#why")  # locked by hand: nothing to explain


async def test_lock_clears_a_copied_token(passphrase_vault: Path) -> None:
    opened = vault.open_vault(passphrase_vault, PASS)
    app = make_app(opened, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        app.copy_to_clipboard("ghp_secret_value")
        await pilot.press("ctrl+l")
        assert app.clipboard == " "  # overwritten (tmux ignores an empty write)


# ------------------------------------------------------------------ the list


async def test_filter_as_you_type() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"git")
        assert names(app) == ["github", "gitlab"]
        await pilot.press("escape")
        assert names(app) == ["ci-bot", "github", "gitlab", "openai"]
        await pilot.press("slash", *"team@")
        assert names(app) == ["openai"]


T = TypeVar("T")


async def test_a_filter_keystroke_reads_nothing_and_reuses_the_rows() -> None:
    """Typing in the filter never goes back to the vault, and shows the rows built at load."""
    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, TokenListScreen)
        built = dict(screen._rows)
        reads: list[str] = []
        real_read = app.read

        async def read(fn: Callable[[Vault], T], *, name: str) -> T:
            reads.append(name)
            return await real_read(fn, name=name)

        app.read = read  # type: ignore[method-assign,assignment]
        await pilot.press("slash", *"git", "backspace", "backspace", "backspace", "escape")
        assert names(app) == ["ci-bot", "github", "gitlab", "openai"]
        assert reads == []
        assert screen._rows == built and all(screen._rows[n] is built[n] for n in built)


@pytest.mark.parametrize(("expiring", "toasts"), [(3, 3), (12, 1)])
async def test_the_agents_warnings_come_one_each_or_in_one_notification(expiring: int, toasts: int) -> None:
    """The agent's first scan of a vault warns of every token near its end: a few are told one
    by one, a burst in a single notification that counts them by kind."""
    from vault.services.refresher import BackgroundRefresher

    opened, clock = new_vault()
    for i in range(expiring):
        opened.records.add_static(f"soon-{i:02d}", provider="api-key", token="t", expires_at=clock.now() + 3600)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        last, _ = opened.records.audit_since(None)
        BackgroundRefresher(opened).run_once()  # what the agent does: it writes the warnings down
        _, events = opened.records.audit_since(last)  # what the TUI's watcher reads after the agent's commit
        assert len(events) == expiring
        app.agent_pid = 1  # the warnings came from an agent, not this TUI's refresher
        app._changed_elsewhere(events)
        await pilot.pause()
        told = [n.message for n in app._notifications]
        assert len(told) == toasts
        if toasts == 1:
            assert told[0] == f"{expiring} expire within a day"  # one line: the count and the kind
        else:
            assert [t.split(":")[0] for t in told] == ["soon-00", "soon-01", "soon-02"]


async def test_countdown_urgency_follows_the_status() -> None:
    """The countdown's colour comes from the credential's status: a static token two minutes
    or a day from its end is "expiring" and both look alike; expired is bold red; a month out
    is plain; a needs-login credential's countdown stops."""
    opened, clock = new_vault()
    now = clock.now()
    for name, left in (("expired", -1), ("soon", 120), ("day", 86400), ("fine", 30 * 86400)):
        opened.records.add_static(name, provider="api-key", token="t", expires_at=now + left + (2 if left < 0 else 0))
    opened.records.add_static("dead", provider="api-key", token="t", expires_at=now + 86400)
    opened.records.mark("dead", "needs_login", last_error="refused", action="refresh", outcome="dead_grant")
    clock.advance(3)
    levels = {c.name: urgency(c, clock.now()) for c in opened.credentials()}
    assert levels == {"expired": "expired", "soon": "warning", "day": "warning", "fine": "fine", "dead": "stopped"}
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE):
        table = app.screen.query_one("#tokens", CredentialTable)
        styles = {key: table.get_cell(key, "expires").style for key in table.row_keys}
        assert styles["expired"].bold and styles["soon"].color == styles["day"].color  # type: ignore[union-attr]
        assert styles["expired"].color != styles["soon"].color and styles["fine"].color is None  # type: ignore[union-attr]
        assert str(table.get_cell("dead", "expires")) == "-"


async def test_confirm_modal_no_then_yes_deletes() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog) and "ci-bot" in app.screen.question
        await pilot.press("n")
        assert isinstance(app.screen, TokenListScreen) and opened.records.exists("ci-bot")
        await pilot.press("d")
        await pilot.press("escape")
        assert opened.records.exists("ci-bot")
        await pilot.press("d", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not opened.records.exists("ci-bot") and "ci-bot" not in names(app)


async def test_rename_from_the_list() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.screen.query_one("#answer", Input).value = "ci-robot"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert opened.records.exists("ci-robot") and names(app)[0] == "ci-robot"
        await pilot.press("n")
        app.screen.query_one("#answer", Input).value = "github"  # taken
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)  # still open, with the reason, and the text as typed
        assert "already exists" in str(dialog.query_one("#prompt-problem", Label).render())
        assert dialog.query_one("#answer", Input).value == "github"
        assert opened.records.exists("ci-robot") and opened.get("github").provider == "github-pat"  # both unchanged
        dialog.query_one("#answer", Input).value = "ci-bot"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert (
            isinstance(app.screen, TokenListScreen)
            and opened.records.exists("ci-bot")
            and not opened.records.exists("ci-robot")
        )


# ------------------------------------------------- against the loopback server


@pytest.fixture
def oauth_vault(home: Path, auth_server: AuthServer) -> Iterator[vault.Vault]:
    opened = vault.init_vault(home, mode="keyring")
    seed(opened, auth_server, "acme", expires_in=3600)
    yield opened
    opened.close()


async def test_refresh_through_a_worker(oauth_vault: vault.Vault, auth_server: AuthServer) -> None:
    before = oauth_vault.get("acme").access_token
    app = make_app(oauth_vault, settings=QUIET)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
    after = oauth_vault.get("acme").access_token
    assert after != before and after is not None and auth_server.token_state(after.reveal()) == "active"
    assert auth_server.token_request_count("refresh_token") == 1


async def refresh_refused(
    opened: Vault, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch, status: int, body: bytes
) -> Notices:
    """Press r on the list while the token endpoint answers ``status`` with JSON ``body``: what was notified."""
    auth_server.settings.token_response_override = (status, "application/json", body)
    app = make_app(opened, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
    return notices


async def test_refresh_failure_is_a_notification_with_literal_text(
    oauth_vault: vault.Vault, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"error": "invalid_grant", "error_description": "[bold red]gone[/]"}'
    notices = await refresh_refused(oauth_vault, auth_server, monkeypatch, 400, body)
    shown = [(message, str(kwargs.get("markup"))) for message, kwargs in notices.seen]
    # The TUI names its own action, not the command line's.
    assert any(
        "invalid_grant" in m and "press l on it to sign in again" in m and markup == "False" for m, markup in shown
    )
    assert not any("tokendeck login" in m for m, _ in shown)
    assert "[bold red]gone[/]" in (oauth_vault.get("acme").last_error or "")  # kept verbatim for the detail screen
    assert oauth_vault.get("acme").stored_status == "needs_login"


async def test_a_provider_error_is_said_in_plain_words_with_its_own_below(
    oauth_vault: vault.Vault, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"error": "invalid_client", "error_description": "client secret wrong"}'
    notices = await refresh_refused(oauth_vault, auth_server, monkeypatch, 401, body)
    [said] = [m for m in notices.texts() if "invalid_client" in m]
    assert said.startswith("The provider did not accept the app's client ID or secret")
    assert said.endswith("acme said: invalid_client: client secret wrong")


async def test_revoke_through_the_modal(oauth_vault: vault.Vault, auth_server: AuthServer) -> None:
    access = oauth_vault.get("acme").access_token
    app = make_app(oauth_vault, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmDialog)
        assert "revoke" in app.screen.body and "refresh token first" in app.screen.body
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert access is not None and auth_server.token_state(access.reveal()) != "active"
    assert oauth_vault.get("acme").access_token is None


async def test_refresher_runs_while_the_app_is_open(oauth_vault: vault.Vault, auth_server: AuthServer) -> None:
    import dataclasses

    c = oauth_vault.get("acme")
    # An hour-long token 30 s from its end: inside its 5-minute background margin.
    oauth_vault.records.save(dataclasses.replace(c, expires_at=time.time() + 30, last_refreshed_at=time.time() - 3570))
    app = make_app(oauth_vault, settings=TuiSettings(refresh_interval=3600))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: auth_server.token_request_count("refresh_token") == 1)
        await wait_for(pilot, lambda: app.last_refresh_report == "acme refreshed")
        await pilot.pause(0.1)
        assert "last: acme refreshed" in str(app.screen.query_one("#status-line").render())


async def test_help_and_theme() -> None:
    opened, clock = new_vault()
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        theme = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != theme
        await pilot.press("f1")
        from screens.dialogs.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, TokenListScreen)


async def test_command_palette_offers_the_actions(passphrase_vault: Path) -> None:
    opened = vault.open_vault(passphrase_vault, PASS)
    app = make_app(opened, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Lock the vault")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UnlockScreen))
        assert app.vault is None


def test_settings_from_tui_toml(home: Path) -> None:
    from screens.logic.settings import load_settings
    from vault.core.paths import VaultPaths
    from vault.errors import InvalidInput

    paths = VaultPaths(home)
    assert load_settings(paths) == TuiSettings()
    home.mkdir()
    (home / "tui.toml").write_text('auto_lock_after = "10m"\nreveal_for = 5\nrefresher = false\n')
    settings = load_settings(paths)
    assert (settings.auto_lock_after, settings.reveal_for, settings.refresher) == (600.0, 5.0, False)
    (home / "tui.toml").write_text('auto_lock_after = "never"\n')
    assert load_settings(paths).auto_lock_after is None
    for bad in (
        'colour = "red"\n',
        'reveal_for = "soon"\n',
        "reveal_for = -1\n",
        "refresher = 1\n",
        "not toml [",
        "soon = 120\n",
    ):
        (home / "tui.toml").write_text(bad)
        with pytest.raises(InvalidInput):
            load_settings(paths)
    (home / "tui.toml").write_text("soon = 120\n")
    with pytest.raises(InvalidInput, match="'soon' is no longer a setting: the countdown's colour follows"):
        load_settings(paths)


async def test_a_rename_refusal_is_shown_whole_in_the_dialog_at_80_columns() -> None:
    """The reason wraps inside the dialog: nothing of it (the allowed ``-`` at its end) is cut."""
    import html
    import re

    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        app.screen.query_one("#answer", Input).value = "two words"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        svg = app.export_screenshot()
        rows: dict[str, list[str]] = {}
        for y, text in re.findall(r'<text[^>]*y="([\d.]+)"[^>]*>(.*?)</text>', svg):
            rows.setdefault(y, []).append(html.unescape(re.sub(r"<[^>]+>", "", text)))
        lines = ("".join(parts).replace("\xa0", " ") for parts in rows.values())
        screen = " ".join(re.sub(r"[█▊▎▌▐]", " ", " ".join(lines)).split())  # the dialog's border between lines
        assert "letters, digits and . _ @ + -, starting with a letter or digit" in screen, screen
    assert sorted(c.name for c in opened.credentials()) == sorted(["ci-bot", "github", "gitlab", "openai"])


async def test_r_on_a_static_token_says_why_calmly() -> None:
    """A key that cannot act on this row says why in one line, not as an "Invalid input" error."""
    from tests.test_tui_signin import Notes

    opened, clock = new_vault()
    add_samples(opened, clock)
    before = opened.get("github")
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        table = app.screen.query_one("#tokens", CredentialTable)
        table.move_cursor(table.row_keys.index("github"))
        await pilot.pause()
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert notes.messages == ["github is a static token: there is nothing to refresh; t gives it a new value."]
        ((_, options),) = notes.shown
        assert options.get("severity", "information") == "information" and not options.get("title")
    assert opened.get("github") == before
