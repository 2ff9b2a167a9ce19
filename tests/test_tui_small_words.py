"""Pilot tests for issue 34's small items (10): the filter's footer keeps the way back, the
sign-in's device-code box says whether it is ticked, an error of tokendeck's own is said in
words (not its code), the first-run screen asks for the repeat it lacks, and the notifications
at unlock say only what needs the person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, Label
from textual.widgets._footer import FooterKey

from screens.logic.refreshing import AgentState
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.signin import SignInScreen
from screens.unlock import FirstRunScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.tui import add_every_status, new_vault, record_notices
from vault import Vault
from vault.core.clock import FrozenClock
from vault.errors import ProviderError, plain_words

pytestmark = pytest.mark.anyio

QUIET = TuiSettings(refresher=False)


@pytest.fixture
def every_status() -> Iterator[tuple[Vault, FrozenClock]]:
    vault, clock = new_vault()
    with vault:
        add_every_status(vault, clock)
        yield vault, clock


async def test_the_filters_footer_keeps_the_way_back(every_status: tuple[Vault, FrozenClock]) -> None:
    """Typing in the filter, the footer shows esc (clear it) and enter (to the list)."""
    app = make_app(*every_status, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"git")
        assert app.screen.query_one("#filter", Input).has_focus
        keys = {key.key: key.description for key in app.screen.query(FooterKey)}
        assert "escape" in keys and "enter" in keys, keys
        await pilot.press("enter")
        assert app.screen.query_one("#tokens", CredentialTable).has_focus


async def test_the_device_code_box_shows_its_state(every_status: tuple[Vault, FrozenClock]) -> None:
    """Off, the box is empty; on, it shows X (it showed X either way, only its colour changed)."""
    app = make_app(*every_status, settings=QUIET)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SignInScreen)
        box = screen.query_one("#device", Checkbox)
        assert not box.value and "X" not in str(box.render())
        box.toggle()
        await pilot.pause()
        assert box.value and "X" in str(box.render())


def test_an_error_of_tokendecks_own_is_said_in_words_not_its_code() -> None:
    error = ProviderError("mcp", "no_sign_in", "https://mcp.example/mcp answered HTTP 404: it does not ask for sign-in")
    words = plain_words(error)
    assert "no_sign_in" not in words and "it does not ask for sign-in" in words
    said = plain_words(ProviderError("acme", "invalid_target", "no such audience"))
    assert "invalid_target" in said  # a provider's own code is its words: kept


def test_a_stored_failure_is_told_without_tokendecks_own_code() -> None:
    """A refresh's failure as the audit log keeps it (``code: description``), as a notice says it."""
    from vault.errors import detail_said

    assert detail_said("acme", "http_503: Service Unavailable") == "acme: Service Unavailable (HTTP 503)"
    assert detail_said("acme", "network: connection refused") == "acme: connection refused"
    assert detail_said("acme", "invalid_grant: token was revoked") == "acme: invalid_grant: token was revoked"
    assert detail_said("acme", "the refresh token is empty") == "acme: the refresh token is empty"


async def test_an_empty_repeat_field_asks_for_the_passphrase_again(home: Path, no_keyring: None) -> None:
    app = make_app(home=home, settings=QUIET, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, FirstRunScreen)
        await pilot.click("#new")
        await pilot.press(*"a long passphrase", "enter", "enter")  # enter moves to the repeat field; enter again
        problem = str(app.screen.query_one("#problem", Label).render())
        assert "again" in problem and "do not match" not in problem, problem
        assert app.screen.query_one("#repeat", Input).has_focus


async def test_a_first_start_does_not_say_the_agent_refreshes_again(
    every_status: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent comes up after the TUI started refreshing (a first start): nothing "again"; only
    after it had been serving, stopped and came back."""
    vault, _clock = every_status
    app = make_app(*every_status, settings=TuiSettings())
    notices = record_notices(app, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        app._agent_is(vault, AgentState(None, False))  # not started yet: this TUI refreshes
        app._agent_is(vault, AgentState(42, True))  # up now
        await pilot.pause()
        assert not [t for t in notices.texts() if "again" in t], notices.texts()
        app._agent_is(vault, AgentState(None, False))  # it stopped
        app._agent_is(vault, AgentState(43, True))  # and is back
        await pilot.pause()
        assert len([t for t in notices.texts() if "refreshes tokens again" in t]) == 1, notices.texts()
        app._stop_refresher()


@pytest.mark.parametrize(("expires_in", "told"), [(3 * 86400, []), (3600, ["12 expire within a day"])])
async def test_a_burst_at_unlock_tells_only_what_needs_the_person(
    expires_in: float, told: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens expiring in days are on their rows (status expiring): no notification; within a day,
    one line that counts them."""
    from vault.services.refresher import BackgroundRefresher

    vault, clock = new_vault()
    with vault:
        for i in range(12):
            expires_at = clock.now() + expires_in
            vault.records.add_static(f"soon-{i:02d}", provider="api-key", token="t", expires_at=expires_at)
        app = make_app(vault, clock, settings=QUIET)
        async with app.run_test(size=(80, 24)) as pilot:
            last, _ = vault.records.audit_since(None)
            BackgroundRefresher(vault).run_once()  # the agent's first scan writes its warnings
            _, events = vault.records.audit_since(last)
            app.agent_pid = 1
            app._changed_elsewhere(events)
            await pilot.pause()
            assert [n.message for n in app._notifications] == told
