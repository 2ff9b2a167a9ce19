"""Pilot tests: a reload of the screens (another process wrote the vault: the agent, the
TUI's refresher, a command in the next pane) keeps what the person is doing: a revealed
token and its countdown, the list's cursor and scroll, an open dialog, a half-typed form;
and a terminal resized to 40x12 and back loses nothing typed (issue 34, Build 2).

Another process's write is a write through a second :class:`~vault.Vault` on the same
file; the reload is what the app's watcher does when it sees one (every screen gets a
:class:`~screens.messages.VaultChanged`).
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

import screens.detail
from screens.add_token import AddTokenScreen
from screens.app import VaultApp
from screens.detail import MASK, DetailScreen
from screens.dialogs.prompt import PromptDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.messages import VaultChanged
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.tui import SAMPLE_ORDER
from vault import Vault, open_vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

SIZE = (100, 30)


def written_elsewhere(vault: Vault, name: str = "gitlab") -> None:
    """Another process writes another credential (a refresh's failure noted, as the agent does)."""
    with open_vault(vault.paths.home, clock=vault.clock) as other:
        other.records.note_error(name, "the provider said 503", action="refresh", outcome="failed")


async def reloaded(app: VaultApp, pilot: Pilot[None]) -> None:
    """What the app's watcher does on another process's commit, then wait for the re-reads."""
    app.tell_every_screen(VaultChanged)
    for _ in range(2):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def open_detail(app: VaultApp, pilot: Pilot[None], name: str) -> DetailScreen:
    await pilot.press(*["down"] * SAMPLE_ORDER.index(name), "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    return screen


def on_top(app: VaultApp, *screens_: object) -> bool:
    """Whether ``screens_`` are the top of the stack, the first in front."""
    return list(reversed(app.screen_stack[-len(screens_) :])) == list(screens_)


def shown(screen: DetailScreen) -> tuple[str, str]:
    return str(screen.query_one("#token", Static).content), str(screen.query_one("#token-hint", Static).content)


async def test_a_reveal_survives_a_write_elsewhere_and_its_hint_counts_down(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = samples
    now = [1000.0]
    monkeypatch.setattr(screens.detail, "seconds_now", lambda: now[0], raising=False)
    app = make_app(vault, clock, settings=TuiSettings(reveal_for=10, refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(app, pilot, "github")
        await pilot.press("v")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert shown(screen) == ("ghp_test2", "shown: hidden again in 10 s · v hides it now")

        written_elsewhere(vault)
        await reloaded(app, pilot)
        now[0] += 4
        screen.tick()
        assert shown(screen) == ("ghp_test2", "shown: hidden again in 6 s · v hides it now")
        written_elsewhere(vault, "openai")
        await reloaded(app, pilot)
        now[0] += 5.5
        screen.tick()
        assert shown(screen) == ("ghp_test2", "shown: hidden again in 1 s · v hides it now")
        now[0] += 0.5
        screen.tick()
        assert shown(screen)[0].startswith(MASK)  # 10 s after v, not before


async def test_a_reveal_shows_the_new_token_when_this_credential_changed(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.services.static_tokens import rotate

    vault, clock = samples
    monkeypatch.setattr(screens.detail, "seconds_now", lambda: 1000.0, raising=False)
    app = make_app(vault, clock, settings=TuiSettings(reveal_for=10, refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(app, pilot, "github")
        await pilot.press("v")
        await app.workers.wait_for_complete()
        with open_vault(vault.paths.home, clock=clock) as other:
            rotate(other.records, "github", "ghp_newer")
        await reloaded(app, pilot)
        assert shown(screen)[0] == "ghp_newer"  # never a token the vault no longer holds


async def test_the_lists_cursor_and_scroll_survive_a_write_elsewhere(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    for n in range(40):
        vault.records.add_static(f"token-{n:02}", provider="api-key", token=f"sk-many-{n}")
    app = make_app(vault, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#tokens", CredentialTable)
        await pilot.press(*["down"] * 30, "up", "up", "up")
        await pilot.pause()
        key, row, scroll = table.cursor_key, table.cursor_row, table.scroll_y
        assert scroll > 0
        written_elsewhere(vault, "token-05")
        await reloaded(app, pilot)
        assert (table.cursor_key, table.cursor_row, table.scroll_y) == (key, row, scroll)


async def test_an_open_dialog_and_its_half_typed_text_survive_a_write_elsewhere(
    samples: tuple[Vault, FrozenClock],
) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(app, pilot, "github")
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        await pilot.press("end", *"-wo")
        written_elsewhere(vault)
        written_elsewhere(vault, "github")  # this very credential, too
        await reloaded(app, pilot)
        assert on_top(app, dialog)
        assert dialog.query_one("#answer", Input).value == "github-wo"
        assert on_top(app, dialog, screen)
        await pilot.press(*"rk", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert vault.records.exists("github-work")


async def test_a_half_typed_add_form_survives_a_write_elsewhere(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, AddTokenScreen)
        await pilot.press(*"my-new", "tab", *"api-key")
        written_elsewhere(vault)
        await reloaded(app, pilot)
        assert on_top(app, form)
        assert (form.value("name"), form.value("provider")) == ("my-new", "api-key")


async def test_a_resize_to_40_by_12_and_back_loses_nothing_typed(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, AddTokenScreen)
        await pilot.press(*"my-new", "tab", *"api-k")
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert on_top(app, form)
        assert (form.value("name"), form.value("provider")) == ("my-new", "api-k")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)

        screen = await open_detail(app, pilot, "github")
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        await pilot.press("end", *"-wo")
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert on_top(app, dialog, screen)
        assert dialog.query_one("#answer", Input).value == "github-wo"
