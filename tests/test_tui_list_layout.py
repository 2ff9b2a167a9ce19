"""The list's table read as a person reads it (issue 34, items 4 and 5, and the small items):
names cut in the middle so two similar names stay apart, a Status column as wide as its longest
word, a countdown that never touches its bar, a status line that stays one line and drops its
least important phrase first, the room of a wide terminal given to what it shows, no sideways
scrollbar when nothing is hidden, text that reads on the cursor row, groups you can see, and an
order that does not move under the cursor on its own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from rich.color import Color as RichColor
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from screens.app import VaultApp
from screens.detail import DetailScreen
from screens.logic.countdown import BAR_WIDTH, TRACK
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.messages import VaultChanged
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CredentialTable
from screens.widgets.list_cells import EXPIRES_TEXT
from screens.widgets.side_panel import SidePanel
from tests.support.tui import DAY, HOUR, add_every_status, add_samples, new_vault
from vault import Vault
from vault.core.clock import FrozenClock
from vault.core.secret import Secret

pytestmark = pytest.mark.anyio
QUIET = TuiSettings(refresher=False)
SIMILAR = ("corp-sso-billing-eu-prod", "corp-sso-billing-eu-staging", "corp-sso-errors-us-prod")
BAR_CELLS = set("█▏▎▍▌▋▊▉" + TRACK)


def table_of(app: App[Any]) -> CredentialTable:
    return app.screen.query_one("#tokens", CredentialTable)


def screen_of(app: App[Any]) -> TokenListScreen:
    assert isinstance(app.screen, TokenListScreen)
    return app.screen


async def settled(pilot: Pilot[None], rows: int) -> CredentialTable:
    """The list's table once its ``rows`` are shown and laid out (a loaded machine takes more pauses)."""
    for _ in range(50):
        table = table_of(pilot.app)
        if table.row_count >= rows and table.size.width:
            break
        await pilot.pause()
    return table_of(pilot.app)


def lines(table: CredentialTable) -> list[str]:
    """The table's lines as drawn on screen (the header first)."""
    return [table.render_line(y).text for y in range(table.size.height)]


def similar_app(extra: int = 0) -> tuple[Vault, FrozenClock, VaultApp]:
    opened, clock = new_vault()
    for name in SIMILAR:
        opened.records.add_static(name, provider="api-key", token=f"t-{name}", account="platform-team@example.com",
                                  expires_at=clock.now() + 30 * DAY)  # fmt: skip
    opened.records.add_static("github", provider="github-pat", token="t-gh", account="octocat",
                              expires_at=clock.now() + 3 * DAY)  # fmt: skip
    return opened, clock, make_app(opened, clock, settings=QUIET)


# ------------------------------------------------------------------ item 4: column widths


async def test_at_80_columns_similar_names_keep_their_distinguishing_ends() -> None:
    opened, clock, app = similar_app()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await settled(pilot, 4)
        shown = "\n".join(lines(table))
        for end in ("eu-prod", "eu-staging", "us-prod"):
            assert end in shown, shown
        names = [table.cell_text(name, "name") for name in SIMILAR]
        assert len(set(names)) == len(names) and all("…" in name for name in names)
        assert all(name.startswith("corp-") for name in names)  # the head stays too: cut in the middle
        status = next(c for c in table.columns if c.key == "status")
        assert status.width <= len("expiring") + 2  # as wide as its longest word (and a sort mark), not 15


async def test_a_cut_name_shows_whole_in_a_tooltip_and_in_the_side_panel() -> None:
    opened, clock, app = similar_app()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await settled(pilot, 4)
        row = table.row_keys.index("corp-sso-billing-eu-staging")
        await pilot.hover("#tokens", offset=(3, row + 1))
        assert table.tooltip == "corp-sso-billing-eu-staging"
        await pilot.hover("#tokens", offset=(3, 0))  # the header: no tooltip
        assert table.tooltip is None
    async with make_app(opened, clock, settings=QUIET).run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        table = table_of(pilot.app)
        table.move_cursor(table.row_keys.index("corp-sso-billing-eu-staging"))
        await pilot.pause()
        panel = pilot.app.screen.query_one("#side-panel", SidePanel)
        assert str(panel.render()).startswith("corp-sso-billing-eu-staging\n")


def test_every_countdown_fits_its_room() -> None:
    for text in ("12m 45s ago", "59m 59s ago", "23h 59m ago", "in 59m 59s", "6d 23h ago", "no expiry"):
        assert len(text) <= EXPIRES_TEXT, text


@pytest.mark.parametrize("width", [80, 120, 200])
async def test_the_countdown_never_touches_the_bar(width: int) -> None:
    opened, clock = new_vault()
    now = clock.now()
    clock.at = now - 2 * DAY  # stored before they ran out
    for name, expires in (
        ("past", now - 12 * 60 - 45),
        ("soon", now + 59 * 60 + 59),
        ("hours", now - 23 * HOUR - 59 * 60),
    ):
        opened.records.add_static(name, provider="api-key", token=f"t-{name}", expires_at=expires)
    clock.at = now  # the frozen clock: the texts are exactly these
    async with make_app(opened, clock, settings=QUIET).run_test(size=(width, 30)) as pilot:
        table = await settled(pilot, 3)
        drawn = lines(table)[1:4]
        assert any("12m 45s ago" in line for line in drawn), drawn
        for line in drawn:
            at = next(i for i, ch in enumerate(line) if ch in BAR_CELLS)
            assert line[at - 1] == " ", line  # a blank between the words and the bar
            assert line[at : at + BAR_WIDTH].strip(" ") and len(line[at:].rstrip()) <= BAR_WIDTH


def every_status_app() -> tuple[Vault, VaultApp]:
    opened, clock = new_vault()
    add_every_status(opened, clock)
    return opened, make_app(opened, clock, settings=QUIET)


def pin_agent(app: VaultApp) -> None:
    """The status line at its longest: an agent refreshes, something is next, a last outcome."""
    app.agent_pid = 4242
    app.last_refresh_report = "google refreshed"


async def test_the_status_line_is_one_line_and_drops_its_least_important_phrase_first() -> None:
    opened, app = every_status_app()
    async with app.run_test(size=(80, 24)) as pilot:
        pin_agent(app)
        screen = screen_of(app)
        screen.refresh_times()
        await pilot.pause()
        line = screen.query_one("#status-line", Static)
        text = str(line.render())
        assert line.size.height == 1 and len(text) <= line.content_size.width, text
        phrases = text.split("  ·  ")
        assert phrases[0] == "11 credentials" and "1 failing" in phrases  # what matters stays
        assert "last: google refreshed" not in phrases  # the least important went first
        whole = ["11 credentials", "refreshed by the agent (pid 4242)", "1 failing", "next: dropbox now",
                 "last: google refreshed"]  # fmt: skip
        assert all(phrase in whole for phrase in phrases), phrases  # every phrase whole
    async with make_app(opened, FrozenClock(app.clock.now()), settings=QUIET).run_test(size=(200, 40)) as pilot:
        pin_agent(pilot.app)  # type: ignore[arg-type]
        screen = screen_of(pilot.app)
        screen.refresh_times()
        await pilot.pause()
        assert str(screen.query_one("#status-line", Static).render()).endswith("last: google refreshed")


async def test_at_200_columns_the_table_and_the_side_panel_share_the_room() -> None:
    opened, clock, app = similar_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settled(pilot, 4)
        table, panel = table_of(app), app.screen.query_one("#side-panel", SidePanel)
        assert panel.display and panel.region.right == 200  # its right edge on screen, no gap after it
        empty = table.region.width - table.virtual_size.width
        assert empty <= 4, f"{empty} columns sit empty between the table and the side panel"
        assert all(name in "\n".join(lines(table)) for name in SIMILAR)  # nothing cut when there is room


def thousand(opened: Vault, clock: FrozenClock) -> None:
    """1,000 credentials whose names differ only at their ends (..-eu-prod, ..-eu-staging)."""
    for i in range(500):
        for env in ("prod", "staging"):
            name = f"svc{i:03d}-corp-sso-billing-platform-eu-{env}"
            opened.records.add_static(name, provider="api-key", token="t", expires_at=clock.now() + 30 * DAY)


async def test_at_120x40_with_1000_rows_no_two_names_read_the_same_and_nothing_scrolls_sideways() -> None:
    opened, clock = new_vault()
    thousand(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await settled(pilot, 1000)
        shown = [table.cell_text(key, "name") for key in table.row_keys]
        assert len(set(shown)) == len(shown) == 1000
        on_screen = [line.split()[0] for line in lines(table)[1:]]
        assert len(set(on_screen)) == len(on_screen)
        assert not table.show_horizontal_scrollbar
        assert table.virtual_size.width <= table.scrollable_content_region.width


def contrast(fore: RichColor, back: RichColor) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(colour: RichColor) -> float:
        r, g, b = (c / 255 for c in colour.get_truecolor())
        r, g, b = ((c / 12.92) if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(fore), luminance(back)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_every_word_on_the_cursor_row_reads(theme: str) -> None:
    opened, app = every_status_app()
    async with app.run_test(size=(120, 30)) as pilot:
        if app.theme != theme:
            await pilot.press("ctrl+t")
        table = table_of(app)
        for name in ("ci-bot", "azure", "notion", "google", "dropbox"):
            table.move_cursor(table.row_keys.index(name))
            await pilot.pause()
            line = table.render_line(1 + table.cursor_row - int(table.scroll_y))
            for segment in line:
                if not segment.text.strip() or set(segment.text.strip()) <= BAR_CELLS:
                    continue
                style = segment.style
                assert style is not None and style.color is not None and style.bgcolor is not None
                assert contrast(style.color, style.bgcolor) >= 3.0, (name, segment.text)


# ------------------------------------------------------------------------- item 5: grouping


async def test_grouped_rows_have_headers_with_counts_and_say_so() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(100, 30)) as pilot:
        table = table_of(app)
        await pilot.press("p")
        drawn = lines(table)
        assert "grouped by provider" in drawn[0]
        assert "grouped by provider" in str(app.screen.query_one("#status-line", Static).render())
        headings = [line.strip() for line in drawn[1:] if "·" in line]
        assert headings == ["api-key · 2", "github-pat · 1", "gitlab-pat · 1"]
        assert table.cursor_key == "ci-bot"  # on a credential, not a heading
        await pilot.press("home")
        assert table.cursor_key == "ci-bot"
        await pilot.press("down", "down")  # over the github-pat heading
        assert table.cursor_key == "github"
        await pilot.press("up")
        assert table.cursor_key == "openai"
        await pilot.click("#tokens", offset=(2, 1))  # the api-key heading: nothing opens
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen) and table.cursor_key is not None
        assert screen_of(app).selected() is not None
        await pilot.press("slash", *"gi")  # github, gitlab (and no api-key)
        await pilot.pause()
        headings = [line.strip() for line in lines(table)[1:] if "·" in line]
        assert headings == ["github-pat · 1", "gitlab-pat · 1"]
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)


async def test_grouped_the_order_between_groups_follows_the_sort_arrow() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(100, 30)) as pilot:
        table = table_of(app)
        await pilot.press("p", "o", "o")  # grouped, by provider ascending
        keys = [k for k in table.row_keys if table.cursor_key is not None and not table.is_heading(k)]
        assert keys == ["ci-bot", "openai", "github", "gitlab"]
        await pilot.press("O")  # ▼: the groups descending too
        assert "▼" in lines(table)[0]
        credentials = [k for k in table.row_keys if not table.is_heading(k)]
        assert credentials[-2:] == ["ci-bot", "openai"] or credentials[-2:] == ["openai", "ci-bot"]
        assert credentials[0] == "gitlab"


# ------------------------------------------------------------------- small item: stable order


async def test_a_background_change_does_not_move_rows_under_the_cursor() -> None:
    opened, clock = new_vault()
    for name, minutes in (("alpha", 3), ("bravo", 6), ("charlie", 9)):
        opened.records.add_static(name, provider="api-key", token=f"t-{name}", expires_at=clock.now() + minutes * 60)
    app = make_app(opened, clock, settings=QUIET)
    async with app.run_test(size=(100, 30)) as pilot:
        table = table_of(app)
        assert table.row_keys == ["alpha", "bravo", "charlie"]
        await pilot.press("down")
        assert table.cursor_key == "bravo"
        alpha = opened.get("alpha")
        opened.records.save(replace(alpha, expires_at=clock.now() + 20 * 60, access_token=Secret("t-alpha2")),
                            action="rotate")  # fmt: skip
        clock.advance(5)
        app.screen.post_message(VaultChanged())  # what the watcher posts when another process wrote
        await pilot.pause()
        await pilot.pause()
        assert table.row_keys == ["alpha", "bravo", "charlie"] and table.cursor_row == 1
        assert "in 19m 55s" in table.render_line(1).text  # the row itself is up to date
        await pilot.press("o", "o", "o", "o", "o", "o")  # the person asks: every column, then the default again
        assert table.row_keys == ["bravo", "charlie", "alpha"] and table.cursor_key == "bravo"
