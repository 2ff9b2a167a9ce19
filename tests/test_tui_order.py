"""The list's order (issue 16, items 1 and 6): a key cycles the sort column and another
reverses it, a header click sorts and a second click reverses, the sorted header is marked,
ordering by status puts what needs the user first, a delete leaves the cursor where it was,
and the status line counts in words that agree."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App

from screens.app import VaultApp
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CELL_PADDING, CredentialTable
from tests.support.tui import EVERY_STATUS_ORDER, add_every_status, add_samples, new_vault
from vault import Vault
from vault.core.model import ATTENTION

pytestmark = pytest.mark.anyio
SIZE = (120, 30)
QUIET = TuiSettings(refresher=False)
BY_EXPIRY = ["ci-bot", "github", "gitlab", "openai"]


def table_of(app: App[Any]) -> CredentialTable:
    return app.screen.query_one("#tokens", CredentialTable)


def samples_app() -> tuple[Vault, VaultApp]:
    """The four sample tokens (:func:`add_samples`) and an app on them, without a refresher."""
    opened, clock = new_vault()
    add_samples(opened, clock)
    return opened, make_app(opened, clock, settings=QUIET)


def header(table: CredentialTable) -> str:
    return table.render_line(0).text


async def test_o_cycles_the_sort_column_and_shift_o_reverses_it() -> None:
    opened, app = samples_app()
    stored = [(c.name, c.updated_at) for c in opened.credentials()]
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        assert table.row_keys == BY_EXPIRY and "▲" not in header(table)  # the default: soonest expiry first
        await pilot.press("o")  # expires -> name
        assert table.row_keys == ["ci-bot", "github", "gitlab", "openai"] and "Name ▲" in header(table)
        await pilot.press("O")
        assert table.row_keys == ["openai", "gitlab", "github", "ci-bot"] and "Name ▼" in header(table)
        await pilot.press("o")  # provider, ascending again
        assert table.row_keys == ["ci-bot", "openai", "github", "gitlab"] and "Provider ▲" in header(table)
        await pilot.press("o")  # account: no account last
        assert table.row_keys == ["gitlab", "github", "openai", "ci-bot"] and "Account ▲" in header(table)
    assert [(c.name, c.updated_at) for c in opened.credentials()] == stored  # ordering writes nothing


async def test_clicking_a_header_sorts_by_it_and_again_reverses() -> None:
    opened, app = samples_app()
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        table.move_cursor(table.row_keys.index("gitlab"))
        provider_x = table.columns[0].width + 2 * CELL_PADDING + 1  # inside the second header cell
        await pilot.click("#tokens", offset=(provider_x, 0))
        assert table.row_keys == ["ci-bot", "openai", "github", "gitlab"] and "Provider ▲" in header(table)
        assert table.cursor_key == "gitlab"  # the cursor stays on its row
        await pilot.click("#tokens", offset=(provider_x, 0))
        assert table.row_keys == ["gitlab", "github", "openai", "ci-bot"] and "Provider ▼" in header(table)
        await pilot.click("#tokens", offset=(1, 0))
        assert table.row_keys == sorted(BY_EXPIRY) and "Name ▲" in header(table)


async def test_ordered_by_status_what_needs_the_user_comes_first() -> None:
    opened, clock = new_vault()
    add_every_status(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(200, 40)) as pilot:
        table = table_of(app)
        assert table.row_keys == EVERY_STATUS_ORDER
        screen = app.screen
        assert isinstance(screen, TokenListScreen)
        screen.sort_by("status")
        await pilot.pause()
        now = clock.now()
        ranks = [ATTENTION[opened.get(name).status_at(now)] for name in table.row_keys]
        assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[0] < ranks[-1]
        assert sorted(table.row_keys) == sorted(EVERY_STATUS_ORDER)  # every row, none lost


async def test_after_a_delete_the_cursor_stays_where_it_was() -> None:
    opened, app = samples_app()
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await pilot.press("j")  # on github, the second row
        await pilot.press("d", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not opened.records.exists("github") and table.row_keys == ["ci-bot", "gitlab", "openai"]
        assert table.cursor_row == 1 and table.cursor_key == "gitlab"  # the row that took its place
        await pilot.press("G", "d", "y")  # the last row: the cursor goes to the one before
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_keys == ["ci-bot", "gitlab"] and table.cursor_key == "gitlab"


async def test_one_credential_is_one_credential() -> None:
    opened, clock = new_vault()
    opened.records.add_static("only", provider="api-key", token="sk-only-0")
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = app.screen.query_one("#status-line").render()
        assert str(line).startswith("1 credential  ·")


async def test_by_default_what_needs_the_user_comes_first_then_the_soonest_expiry() -> None:
    from vault.core.model import needs_attention

    opened, clock = new_vault()
    add_every_status(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(200, 40)):
        keys = table_of(app).row_keys
        now = clock.now()
        flags = [needs_attention(opened.get(name).status_at(now)) for name in keys]
        assert flags == sorted(flags, reverse=True) and flags[0] and not flags[-1]  # a band on top
        assert "linear" in keys[: flags.count(True)]  # an error expiring in 5 days still leads
        assert "▲" not in header(table_of(app))  # the default order is not a column's


async def test_p_groups_by_provider_and_the_sort_holds_inside_each_group() -> None:
    opened, app = samples_app()
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)

        def credentials() -> list[str]:
            return [key for key in table.row_keys if not table.is_heading(key)]

        await pilot.press("p")
        assert credentials() == ["ci-bot", "openai", "github", "gitlab"]  # api-key, github-pat, gitlab-pat
        assert "provider" not in [c.key for c in table.columns]  # each group's heading names it
        headings = [table.render_line(1 + i).text.strip() for i, k in enumerate(table.row_keys) if table.is_heading(k)]
        assert headings == ["api-key · 2", "github-pat · 1", "gitlab-pat · 1"]
        await pilot.press("o")  # by name, still grouped
        assert credentials() == ["ci-bot", "openai", "github", "gitlab"]
        await pilot.press("O")  # names descending, and the groups follow their first row: ▼ throughout
        assert credentials() == ["openai", "ci-bot", "gitlab", "github"]
        await pilot.press("slash", "t")  # a filter (all four match) keeps the grouping
        await pilot.pause()
        assert credentials() == ["openai", "ci-bot", "gitlab", "github"]
        await pilot.press("escape", "p")  # ungrouped: the plain name order, the provider column back
        assert table.row_keys == ["openai", "gitlab", "github", "ci-bot"]
        assert "provider" in [c.key for c in table.columns]


async def test_a_click_selects_a_row_and_a_double_click_opens_it() -> None:
    from screens.detail import DetailScreen

    opened, app = samples_app()
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await pilot.click("#tokens", offset=(2, 3))  # the third row (the header is line 0)
        assert table.cursor_key == "gitlab" and isinstance(app.screen, TokenListScreen)
        await pilot.click("#tokens", offset=(2, 3))  # a second single click does not open it
        assert isinstance(app.screen, TokenListScreen)
        await pilot.double_click("#tokens", offset=(2, 2))
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.name_shown == "github"


async def test_the_row_under_the_cursor_keeps_its_status_word_bold_and_readable() -> None:
    """Red on the blue cursor does not read: there the status takes the cursor's colour (it
    stays bold, so it still stands out); test_tui_list_layout checks every word's contrast."""
    from screens.widgets.cell_fit import READABLE, contrast

    opened, app = samples_app()
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        assert table.cursor_key == "ci-bot"  # expired: red
        line = table.render_line(1)
        status = next(seg for seg in line if "expired" in seg.text)
        assert status.style is not None and status.style.bold and status.style.color and status.style.bgcolor
        assert contrast(status.style.color, status.style.bgcolor) >= READABLE
        await pilot.press("j")
        assert table.render_line(1).text.count("expired") == 1


async def test_at_80_columns_a_long_account_gives_way_to_the_countdown() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    opened.records.add_static("long", provider="api-key", token="x-long-0",
                              account="a.very.long.account.name@example.com",
                              expires_at=clock.now() + 86400 * 2)  # fmt: skip
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = table_of(app)
        line = table.render_line(1 + table.row_keys.index("long")).text
        assert "in 2d" in line and "█" in line  # the countdown whole, and its lifetime bar
        assert "…" in line  # the account, shortened
        header_line = header(table)
        assert "Expires" in header_line and "Status" in header_line
        assert table.virtual_size.width <= 80
    async with make_app(opened, clock, settings=QUIET).run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        table = table_of(pilot.app)
        assert "a.very.long.account.name@example.com" in table.render_line(1 + table.row_keys.index("long")).text


async def test_wide_terminals_show_the_selected_credential_beside_the_list() -> None:
    from screens.widgets.side_panel import SidePanel
    from tests.support.tui import FAKE_SECRETS

    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one("#side-panel", SidePanel)
        assert panel.display and str(panel.render()).startswith("ci-bot")
        await pilot.press("j")  # the panel follows the cursor
        text = str(panel.render())
        assert text.startswith("github") and "octocat" in text and "in 3d" in text
        clock.advance(86400)  # and the clock
        screen = app.screen
        assert isinstance(screen, TokenListScreen)
        screen.refresh_times()
        assert "in 2d" in str(panel.render())
        assert not any(secret in str(panel.render()) for secret in FAKE_SECRETS)
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not panel.display  # narrower: the detail screen (enter) shows the facts


async def test_the_scroll_wheel_scrolls_the_list() -> None:
    from textual import events

    opened, clock = new_vault()
    for i in range(60):
        opened.records.add_static(f"key-{i:02d}", provider="api-key", token=f"k-{i}")
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        table = table_of(app)
        await pilot.pause()
        assert table.scroll_y == 0
        for _ in range(3):
            table.post_message(events.MouseScrollDown(table, 2, 3, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert table.scroll_y > 0 and table.visible_rows.start > 0  # rows further down are on screen
        assert table.cursor_row == 0  # the wheel scrolls; it does not move the cursor
