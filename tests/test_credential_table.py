"""The list's table on its own, driven by Pilot: keyed rows shown and re-shown without
being rebuilt, one repainted line per changed row, the cursor, the keys and the mouse."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from screens.widgets.cell_fit import Column
from screens.widgets.credential_table import CredentialTable, Row

pytestmark = pytest.mark.anyio

COLUMNS = (Column("name", "Name"), Column("note", "Note"), Column("expires", "Expires", 10))


def row(name: str, note: str = "", expires: str = "in 1h") -> Row:
    return Row(name, {"name": Text(name), "note": Text(note), "expires": Text(expires)})


class TableApp(App[None]):
    def __init__(self, rows: list[Row]) -> None:
        super().__init__()
        self.rows = rows
        self.messages: list[tuple[str, str | None]] = []

    def compose(self) -> ComposeResult:
        yield CredentialTable(COLUMNS, id="table")

    def on_mount(self) -> None:
        table = self.query_one(CredentialTable)
        table.fit(self.rows)
        table.show(self.rows)
        table.focus()

    def on_credential_table_row_selected(self, event: CredentialTable.RowSelected) -> None:
        self.messages.append(("selected", event.key))

    def on_credential_table_header_selected(self, event: CredentialTable.HeaderSelected) -> None:
        self.messages.append(("header", event.column))


def lines(table: CredentialTable) -> list[str]:
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


async def test_rows_are_shown_again_not_rebuilt_and_the_cursor_stays_on_its_row() -> None:
    rows = [row(f"cred-{i}", note="x" * i) for i in range(6)]
    app = TableApp(rows)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(CredentialTable)
        assert table.row_keys == [r.key for r in rows]
        assert [c.width for c in table.columns] == [6, 6, 10]  # widest cell, or the label and a sort mark; fixed stays
        table.move_cursor(4)
        table.show([rows[1], rows[4]])
        await pilot.pause()
        assert table.row_keys == ["cred-1", "cred-4"]
        assert table.cursor_key == "cred-4"  # the same row, now second
        table.show(rows)
        assert table.cursor_key == "cred-4"
        assert table.get_cell("cred-4", "note") is rows[4].cells["note"]  # the very objects, not copies
        assert [c.width for c in table.columns] == [6, 6, 10]  # a filter never moves a column
        table.show([rows[0]], cursor_on="cred-0")
        assert table.cursor_key == "cred-0"
        table.show([])
        assert table.cursor_key is None and table.row_count == 0


async def test_a_changed_row_repaints_its_own_line_only() -> None:
    rows = [row(f"cred-{i}") for i in range(30)]
    app = TableApp(rows)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(CredentialTable)
        table.scroll_to(y=5, animate=False, immediate=True)
        await pilot.pause()
        assert table.visible_rows == range(5, 16)  # 12 lines: the header and 11 rows
        repainted: list[Region] = []
        real_refresh = table.refresh

        def refresh(*regions: Region, **kwargs: bool) -> CredentialTable:
            repainted.extend(regions)
            return real_refresh(*regions, **kwargs)

        table.refresh = refresh  # type: ignore[method-assign]
        table.update_cells("cred-7", {"expires": Text("in 59m")})
        assert [(r.y, r.height) for r in repainted] == [(3, 1)]  # row 7: line 1 + 7 - 5
        await pilot.pause()
        assert "in 59m" in lines(table)[3] and "in 1h" in lines(table)[4]
        repainted.clear()
        table.update_cells("not-shown", {"expires": Text("in 1s")})
        assert repainted == []


async def test_keys_move_the_cursor_and_home_does_not_scroll_sideways() -> None:
    rows = [row(f"cred-{i:02d}", note="a long note that does not fit" * 2) for i in range(40)]
    app = TableApp(rows)
    async with app.run_test(size=(24, 10)) as pilot:  # narrower than the columns' labels: it scrolls sideways
        table = app.query_one(CredentialTable)
        await pilot.press("j", "j", "down")
        assert table.cursor_row == 3
        await pilot.press("k")
        assert table.cursor_row == 2
        await pilot.press("G")
        assert table.cursor_key == "cred-39"
        assert 39 in table.visible_rows  # scrolled to it, under the header
        await pilot.press("right", "right")
        assert table.scroll_x > 0
        await pilot.press("g")
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.press("end", "home")
        assert table.cursor_row == 0
        await pilot.press("pagedown")
        assert table.cursor_row == 8  # a page: the rows on screen less one
        await pilot.press("enter")
        assert app.messages == [("selected", "cred-08")]


async def test_a_click_highlights_a_double_click_selects_and_a_header_click_names_its_column() -> None:
    rows = [row(f"cred-{i}") for i in range(5)]
    app = TableApp(rows)
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(CredentialTable)
        await pilot.click(CredentialTable, offset=(2, 3))  # line 3: the third row
        assert table.cursor_key == "cred-2" and app.messages == []
        await pilot.click(CredentialTable, offset=(2, 3))  # a single click again: still only highlighted
        assert app.messages == []
        await pilot.double_click(CredentialTable, offset=(2, 4))
        assert table.cursor_key == "cred-3" and app.messages == [("selected", "cred-3")]
        await pilot.click(CredentialTable, offset=(12, 0))  # Name is 6 wide + 2 padding: Note
        assert app.messages[-1] == ("header", "note")


async def test_cells_are_clipped_to_their_column_and_never_read_as_markup() -> None:
    rows = [Row("x", {"name": Text("[bold]x[/]"), "note": Text("n"), "expires": Text("in 12345678901d")})]
    app = TableApp(rows)
    async with app.run_test(size=(60, 5)):
        table = app.query_one(CredentialTable)
        first = lines(table)[1]
        assert "[bold]x[/]" in first
        assert "in 123456…" in first  # 10 cells: clipped with an ellipsis, the row stays aligned


async def test_rows_shown_anew_under_the_same_keys_are_drawn_anew() -> None:
    """A reload builds new rows for the same credentials: what was drawn for the old ones is
    not shown for the new."""
    app = TableApp([row("a", note="old")])
    async with app.run_test(size=(60, 5)) as pilot:
        table = app.query_one(CredentialTable)
        assert "old" in lines(table)[1]
        table.show([row("a", note="new")])
        await pilot.pause()
        assert "new" in lines(table)[1] and "old" not in lines(table)[1]
