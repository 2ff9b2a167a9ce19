"""Failures are state, not a stream: a credential whose refresh keeps failing is told once
(and its recovery once), shows in one status-line segment with its next retry, and a key
jumps to it; a failure while a dialog is open waits until the dialog is gone.

The refresher runs on a frozen clock against the loopback authorization server, with a
transport that answers 503 while the provider is "down"."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

import vault
from screens.app import VaultApp
from screens.dialogs.prompt import PromptDialog
from screens.keys import screen_keys
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from tests.support.tui import new_vault, record_notices
from vault.services.refresher import BackgroundRefresher

pytestmark = pytest.mark.anyio

SIZE = (80, 24)
QUIET = TuiSettings(refresher=False, auto_lock_after=None)


@pytest.fixture
def failing(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[vault.Vault, vault.FrozenClock]]:
    """A vault with ``acme`` (due for a refresh) and two static tokens; the provider answers 503."""
    opened, clock = new_vault(time.time())
    seed(opened, auth_server, "acme", expires_in=60)
    opened.records.add_static("alpha", provider="api-key", token="t-alpha")
    opened.records.add_static("beta", provider="api-key", token="t-beta")
    opened.http_transport = httpx2.MockTransport(lambda request: httpx2.Response(503))
    from vault.services import refreshing

    original = refreshing.refresh

    def no_sleep(*args: object, **kwargs: object) -> vault.Credential:
        return original(*args, **{**kwargs, "sleep": lambda seconds: None})  # type: ignore[arg-type]

    monkeypatch.setattr("vault.services.refresher.refresh", no_sleep)
    with opened:
        yield opened, clock


def status_line(app: VaultApp) -> str:
    return str(app.screen.query_one("#status-line", Static).render())


def list_screen(app: VaultApp) -> TokenListScreen:
    assert isinstance(app.screen, TokenListScreen)
    return app.screen


def refresher_of(app: VaultApp, opened: vault.Vault) -> BackgroundRefresher:
    """The TUI's own refresher, run by hand (``run_once``) instead of on its timer."""
    refresher = BackgroundRefresher(opened, on_event=app._report)
    app._refresher = refresher
    return refresher


async def retry(pilot: Pilot[None], refresher: BackgroundRefresher, clock: vault.FrozenClock, kind: str) -> None:
    """Let the backoff run out, run the refresher once, and let the app take its event."""
    due = refresher.vault.get("acme").renew_at()
    assert due is not None
    clock.at = max(clock.now(), due + 1)
    assert [e.kind for e in refresher.run_once() if e.credential == "acme"] == [kind]
    await pilot.pause()
    await pilot.pause()


async def test_a_refresh_that_keeps_failing_is_told_once_and_its_recovery_once(
    failing: tuple[vault.Vault, vault.FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened, clock = failing
    app = make_app(opened, clock, settings=QUIET)
    notices = record_notices(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        refresher = refresher_of(app, opened)
        for _ in range(4):
            await retry(pilot, refresher, clock, "failed")
        about_acme = [text for text in notices.texts() if "acme" in text]
        assert len(about_acme) == 1, notices.texts()
        assert opened.get("acme").refresh_failures == 4
        line = status_line(app)
        assert "1 failing · next retry in " in line and "(4 failed in a row)" in line, line
        screen = list_screen(app)
        assert [c.name for c in screen._shown][0] == "acme"  # what needs the user comes first
        await pilot.press("down", "down")
        assert screen.selected_name() != "acme"
        assert any(b.binding.action == "first_failing" for b in app.active_bindings.values() if b.enabled)
        await pilot.press("f")
        assert screen.selected_name() == "acme"
        assert ("f", "to the first credential whose refresh fails") in screen_keys(app.screen)  # the help lists it

        opened.http_transport = None  # the provider is back
        await retry(pilot, refresher, clock, "refreshed")
        about_acme = [text for text in notices.texts() if "acme" in text]
        assert len(about_acme) == 2 and "again" in about_acme[1], about_acme
        await pilot.pause()
        list_screen(app).refresh_times()
        assert "failing" not in status_line(app)
        assert not any(b.binding.action == "first_failing" for b in app.active_bindings.values() if b.enabled)
        assert not [keys for keys, _ in screen_keys(app.screen) if keys == "f"]


async def test_a_failure_while_a_dialog_is_open_waits_for_the_dialog_to_close(
    failing: tuple[vault.Vault, vault.FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened, clock = failing
    app = make_app(opened, clock, settings=QUIET)
    notices = record_notices(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        refresher = refresher_of(app, opened)
        await pilot.press("down", "n")  # rename a static token: a dialog with its own error line
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await retry(pilot, refresher, clock, "failed")
        await retry(pilot, refresher, clock, "failed")
        await pilot.pause(1.2)  # a held notice is looked at every second
        assert isinstance(app.screen, PromptDialog)
        assert not [text for text in notices.texts() if "acme" in text]
        assert not app._notifications
        await pilot.press("escape")
        await pilot.pause(1.2)
        assert isinstance(app.screen, TokenListScreen)
        assert len([text for text in notices.texts() if "acme" in text]) == 1, notices.texts()


async def test_the_agents_retries_are_told_once_and_its_recovery_once(
    failing: tuple[vault.Vault, vault.FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through the audit log, as the TUI's watcher hands the agent's commits over."""
    opened, clock = failing
    app = make_app(opened, clock, settings=QUIET)
    notices = record_notices(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        agent = BackgroundRefresher(opened)  # what the agent does: it writes its events down
        app.agent_pid = 1
        for kind in ("failed", "failed", "failed", "refreshed"):
            if kind == "refreshed":
                opened.http_transport = None
            last, _ = opened.records.audit_since(None)
            await retry(pilot, agent, clock, kind)
            _, events = opened.records.audit_since(last)
            app._changed_elsewhere(events)
            await pilot.pause()
        about_acme = [text for text in notices.texts() if "acme" in text]
        assert len(about_acme) == 2 and "again" in about_acme[1], notices.texts()


async def test_a_huge_failure_message_with_control_characters_is_told_cut_and_escaped(
    failing: tuple[vault.Vault, vault.FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 34, bad input: the agent's failure whose words are an error page (10,000 characters,
    escape codes, line breaks) is one notification of a bounded, escaped line."""
    from vault.core.model import AuditEvent
    from vault.errors import CLIP_LIMIT

    opened, clock = failing
    app = make_app(opened, clock, settings=QUIET)
    notices = record_notices(app, monkeypatch)
    huge = "http_502: \x1b]52;c;ZWNobyBwd25lZA==\x07<html>\n" + "x" * 10_000 + "\u202eTHE END"
    async with app.run_test(size=SIZE) as pilot:
        app.agent_pid = 1
        app._changed_elsewhere([AuditEvent(clock.now(), "acme", "refresh", "failed", huge)])
        await pilot.pause()
        told = [text for text in notices.texts() if "acme" in text]
        assert len(told) == 1, told
        assert len(told[0]) <= CLIP_LIMIT and "…" in told[0] and "THE END" not in told[0]
        assert not any(ch in told[0] for ch in "\x1b\x07\n\u202e") and "]52;c;" in told[0]
        assert "http_502" not in told[0] and told[0].endswith("(HTTP 502)")  # in words, not the code


async def test_a_report_that_arrives_as_the_app_closes_is_dropped(
    failing: tuple[vault.Vault, vault.FrozenClock],
) -> None:
    """The refresher's thread can post its news while the app is closing: no screen is left to
    tell, and that is no crash (it was ``ScreenStackError: No screens on stack``, seen in CI)."""
    from screens.messages import RefresherReported
    from vault.services.refresher import RefreshEvent

    opened, clock = failing
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE):
        pass
    assert not app.screen_stack
    event = RefreshEvent(at=clock.now(), credential="acme", kind="failed", detail="http_503: down")
    app.on_refresher_reported(RefresherReported(event))


async def test_f_reaches_a_failing_credential_the_filter_hides(
    failing: tuple[vault.Vault, vault.FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status line counts the whole vault's failing credentials, so `f` is offered while a
    filter hides them all, and takes the person there (the filter goes)."""
    opened, clock = failing
    app = make_app(opened, clock, settings=QUIET)
    record_notices(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await retry(pilot, refresher_of(app, opened), clock, "failed")
        screen = list_screen(app)
        await pilot.press("slash", *"alpha", "enter")
        await pilot.pause()
        assert [c.name for c in screen._shown] == ["alpha"] and "1 failing" in status_line(app)
        assert any(b.binding.action == "first_failing" for b in app.active_bindings.values() if b.enabled)
        await pilot.press("f")
        await pilot.pause()
        assert screen.filter_input.value == "" and screen.selected_name() == "acme"
