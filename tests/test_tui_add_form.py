"""The add-token form typed as a person types it (issue 16, item 4): keys one at a time, Tab
between fields.  The fields a provider adds come after the token, so choosing jira-dc never
moves the Token field from under the typist; Tab accepts the provider completion and moves on
(issue 33), so counting Tabs always reaches the Token field."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from screens.add_token import FIELDS, AddTokenScreen
from screens.app import VaultApp
from screens.logic.settings import TuiSettings
from screens.main import make_app
from tests.support.tui import new_vault

pytestmark = pytest.mark.anyio
SIZE = (80, 24)
SECRET = "NjM0-jira-pat-SENTINEL-4455"


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


def field(app: VaultApp, field_id: str) -> Input:
    return app.screen.query_one(f"#{field_id}", Input)


async def test_a_secret_typed_after_tabbing_through_the_jira_dc_form_lands_in_the_token_field() -> None:
    opened, clock = new_vault()
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AddTokenScreen) and app.focused is field(app, "name")
        await type_text(pilot, "work-jira")
        await pilot.press("tab")
        await type_text(pilot, "jira-dc")  # the server and username fields appear now
        await pilot.pause()
        assert app.screen.query_one("#jira").display
        await pilot.press("tab", "tab", "tab")  # past provider, account and expires
        assert app.focused is field(app, "token")
        await type_text(pilot, SECRET)
        await pilot.press("tab")
        await type_text(pilot, "https://jira.example.com")
        await pilot.press("tab")
        await type_text(pilot, "ada")
        assert field(app, "token").value == SECRET and field(app, "token").password
        plain = [field(app, f).value for f in FIELDS if f != "token"]
        assert not any(SECRET in value for value in plain)  # no part of it in a visible field
        assert field(app, "server-url").value == "https://jira.example.com" and field(app, "username").value == "ada"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    stored = opened.get("work-jira")
    assert stored.provider == "jira-dc" and stored.extras["username"] == "ada"
    assert opened.token("work-jira") == SECRET


async def test_tab_accepts_the_provider_completion_then_moves_on() -> None:
    opened, clock = new_vault()
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "tab")
        assert app.focused is field(app, "provider")
        await type_text(pilot, "github-p")
        await pilot.pause()  # the suggester answers in a worker
        await pilot.press("tab")  # accepts the completion and moves on, in one key
        assert field(app, "provider").value == "github-pat" and app.focused is field(app, "account")
        await pilot.press("escape")
    assert opened.credentials() == []


async def test_a_secret_typed_after_a_completed_provider_lands_in_the_token_field() -> None:
    """Issue 33: the first Tab after a partly typed provider used to accept the completion only,
    so counting Tabs put the PAT in the visible Expires field, and then in the error label."""
    opened, clock = new_vault()
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await type_text(pilot, "work-gh")
        await pilot.press("tab")
        await type_text(pilot, "github-p")
        await pilot.pause()  # the suggester answers in a worker
        await pilot.press("tab", "tab", "tab")  # provider (completed) -> account -> expires -> token
        assert app.focused is field(app, "token")
        await type_text(pilot, SECRET)
        assert field(app, "token").value == SECRET
        assert not any(SECRET in field(app, f).value for f in FIELDS if f != "token")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    stored = opened.get("work-gh")
    assert stored.provider == "github-pat" and opened.token("work-gh") == SECRET


async def test_keys_that_arrive_in_one_burst_still_tab_into_the_token_field() -> None:
    """A password manager's auto-type, or keys typed faster than the screen draws, reach the app
    in one read: each Tab must move the focus before the next key goes anywhere, or the secret
    lands in a visible field (seen by hand in tmux: "gh<Tab>github-pat" all went into Name)."""
    from textual import events

    opened, clock = new_vault()
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AddTokenScreen)
        burst = [*"work-gh", "\t", *"github-pat", "\t", "\t", "\t", *SECRET]
        for ch in burst:  # as the driver posts them: all queued before the first is handled
            app.post_message(events.Key("tab", "\t") if ch == "\t" else events.Key(ch, ch))
        await pilot.pause()
        await pilot.pause()
        assert field(app, "name").value == "work-gh" and field(app, "provider").value == "github-pat"
        assert field(app, "token").value == SECRET
        assert not any(SECRET in field(app, f).value for f in FIELDS if f != "token")
        await pilot.press("escape")
    assert opened.credentials() == []
