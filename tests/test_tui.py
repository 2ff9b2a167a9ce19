"""Pilot tests for the TUI: what the user sees and can do, against a real vault on a frozen clock.

Async tests run on anyio's pytest plugin (anyio is a dependency: mcp-bridge runs on it),
pinned to asyncio, which is what Textual runs on.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rich.text import Text
from textual.widgets import Static

from screens.app import VaultApp
from screens.main import make_app
from screens.token_list import EMPTY_MESSAGE, TokenListScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.tui import DAY, HOUR, SAMPLE_ORDER, add_samples, new_vault
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

SIZE = (100, 30)


@pytest.fixture
def opened() -> Iterator[tuple[Vault, FrozenClock]]:
    vault, clock = new_vault()
    with vault:
        yield vault, clock


@pytest.fixture
def samples(opened: tuple[Vault, FrozenClock]) -> tuple[Vault, FrozenClock]:
    add_samples(*opened)
    return opened


def table_of(app: VaultApp) -> CredentialTable:
    return app.screen.query_one("#tokens", CredentialTable)


BAR_CELLS = "█▉▊▋▌▍▎▏░"
"""The lifetime bar's characters, after a countdown."""


def column(table: CredentialTable, key: str) -> list[str]:
    """The plain text of one column, top to bottom (a countdown without its lifetime bar)."""
    return [str(cell).rstrip(BAR_CELLS).rstrip() for cell in table.get_column(key)]


async def test_rows_are_keyed_by_name_soonest_expiry_first(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples)
    async with app.run_test(size=SIZE):
        assert isinstance(app.screen, TokenListScreen)
        table = table_of(app)
        assert table.row_keys == SAMPLE_ORDER
        assert column(table, "name") == SAMPLE_ORDER
        assert column(table, "provider") == ["api-key", "github-pat", "gitlab-pat", "api-key"]
        assert column(table, "account") == ["-", "octocat", "ada", "team@example.com"]
        assert table.display
        assert not app.screen.query_one("#empty", Static).display
        assert table.has_focus


async def test_status_and_expiry_come_from_the_injected_clock(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE):
        screen = app.screen
        assert isinstance(screen, TokenListScreen)
        table = table_of(app)
        assert column(table, "expires") == ["2h ago", "in 3d", "in 89d", "no expiry"]
        assert column(table, "status") == ["expired", "expiring", "active", "active"]

        clock.advance(3 * DAY + HOUR)  # github's expiry passes
        screen.refresh_times()
        assert column(table, "expires") == ["3d 3h ago", "1h ago", "in 85d", "no expiry"]  # 85d 23h, shown as 85d
        assert column(table, "status") == ["expired", "expired", "active", "active"]

        clock.advance(82 * DAY)  # gitlab: 3d 23h left, inside the 7-day warning
        screen.refresh_times()
        assert str(table.get_cell("gitlab", "expires")).rstrip(BAR_CELLS).rstrip() == "in 3d 23h"
        assert str(table.get_cell("gitlab", "status")) == "expiring"
        assert table.row_keys == SAMPLE_ORDER  # order is by expiry, which time does not change


async def test_status_is_coloured_by_urgency(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        variables = dict(app.theme_variables)

        def colour(name: str) -> str | None:
            cell = table.get_cell(name, "status")
            assert isinstance(cell, Text)
            style = cell.style
            assert not isinstance(style, str)
            return None if style.color is None or style.color.triplet is None else style.color.triplet.hex.upper()

        assert colour("ci-bot") == variables["text-error"].upper()
        assert colour("github") == variables["text-warning"].upper()
        assert colour("gitlab") == variables["text-success"].upper()

        app.theme = "textual-light"
        await pilot.pause()
        assert app.theme_variables["text-error"] != variables["text-error"]
        assert colour("ci-bot") == app.theme_variables["text-error"].upper()  # recoloured for the new theme


async def test_empty_vault_shows_how_to_add_one(opened: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*opened)
    async with app.run_test(size=SIZE):
        empty = app.screen.query_one("#empty", Static)
        assert empty.display
        assert str(empty.content) == EMPTY_MESSAGE
        assert "tokendeck add" in EMPTY_MESSAGE
        table = table_of(app)
        assert not table.display
        assert table.row_count == 0


async def test_q_quits(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples)
    async with app.run_test(size=SIZE) as pilot:
        assert app.return_code is None
        await pilot.press("q")
        assert app.return_code == 0
    vault, _ = samples
    assert [c.name for c in vault.credentials()] == sorted(SAMPLE_ORDER)  # quitting leaves the vault usable


async def test_footer_offers_q(samples: tuple[Vault, FrozenClock]) -> None:
    app = make_app(*samples)
    async with app.run_test(size=SIZE):
        bindings = {b.key: b.description for _, b, enabled, _ in app.active_bindings.values() if enabled}
        assert bindings.get("q") == "Quit"


@pytest.mark.parametrize("account", ["[bold red]x[/]", "[/]", "[link=https://evil.example]click[/link]"])
async def test_untrusted_text_is_never_markup(opened: tuple[Vault, FrozenClock], account: str) -> None:
    vault, clock = opened
    vault.records.add_static("weird", provider="api-key", token="tok", account=account)
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE):
        table = table_of(app)
        cell = table.get_cell("weird", "account")
        assert isinstance(cell, Text)
        assert (cell.plain, cell.spans) == (account, [])
        first_row = table.render_line(1).text  # line 0 is the header
        assert account in first_row


async def test_make_app_defaults_to_the_vaults_clock(opened: tuple[Vault, FrozenClock]) -> None:
    vault, clock = opened
    assert make_app(vault).clock is clock


async def test_an_idle_tick_repaints_only_what_changed(samples: tuple[Vault, FrozenClock]) -> None:
    """The once-a-second tick: a status line whose words are the same is left alone, and new
    words that fit the line ask for no new layout (a layout repaints the whole screen)."""
    vault, clock = samples
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE):
        screen = app.screen
        assert isinstance(screen, TokenListScreen)
        updates: list[tuple[str, bool]] = []
        real_update = screen.status_line.update

        def update(content: object = "", *, layout: bool = True) -> None:
            updates.append((str(content), layout))
            real_update(content, layout=layout)  # type: ignore[arg-type]

        screen.status_line.update = update  # type: ignore[method-assign]
        screen.refresh_times()
        assert updates == []  # nothing moved on the frozen clock

        vault.records.add_static("soon", provider="api-key", token="tok", expires_at=clock.now() + 90)
        screen._credentials.append(vault.get("soon"))  # as a reload would, without redrawing the rows
        screen.refresh_times()
        assert len(updates) == 1
        words, layout = updates[0]
        assert "5 credentials" in words
        assert layout is False  # one line at 100 columns, before and after
