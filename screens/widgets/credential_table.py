"""The list's table: keyed rows drawn a line at a time (Textual's Line API).

A ``DataTable`` re-measures every cell of every row it is given and, on any cell
update, re-renders every row on screen.  This table is built for what the list
does: its rows exist once, keyed by credential name; filtering shows a different
list of the same row objects (nothing is measured or rebuilt); a tick updates a
row's cells and repaints that one line.  Only the lines on screen are ever rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vault.errors import printable

CELL_PADDING = 1
"""Blank cells either side of every cell's text, as a DataTable draws them."""
SORT_MARKS = {False: " ▲", True: " ▼"}
"""After the label of the column the rows are sorted by: ascending, descending."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int = 0
    """Cells of the text (padding not included); 0: as wide as the widest cell (:meth:`CredentialTable.fit`)."""


class Row:
    """One credential's cells by column key; the same object is shown by every filter."""

    __slots__ = ("cells", "key")

    def __init__(self, key: str, cells: dict[str, Text]) -> None:
        self.key = key
        self.cells = cells


def plain(value: str | None) -> Text:
    """A cell for text that came from outside (names, accounts): never parsed as markup."""
    if value is None:
        return Text("-", style="dim")
    return Text(printable(value), no_wrap=True, overflow="ellipsis")


def same_cell(shown: Text, new: Text) -> bool:
    """Whether ``new`` would draw exactly what ``shown`` draws (text, style and spans)."""
    return shown.plain == new.plain and shown.style == new.style and shown.spans == new.spans


class CredentialTable(ScrollView, can_focus=True):
    """Rows of credentials under a fixed header line, with a row cursor."""

    DEFAULT_CSS = """
    CredentialTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .credential-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .credential-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .credential-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .credential-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .credential-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .credential-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .credential-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "credential-table--header",
        "credential-table--cursor",
        "credential-table--even-row",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Select", show=False, tooltip="open the credential (or double-click it)"),
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="up a row"),
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="down a row"),
        Binding("pageup", "page_up", "Page up", show=False, tooltip="up a page"),
        Binding("pagedown", "page_down", "Page down", show=False, tooltip="down a page"),
        Binding("home,g", "first", "First", show=False, tooltip="the first row"),
        Binding("end,G", "last", "Last", show=False, tooltip="the last row"),
        Binding("left", "scroll_left", "Left", show=False, tooltip="scroll left (a narrow terminal)"),
        Binding("right", "scroll_right", "Right", show=False, tooltip="scroll right"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)

    class RowHighlighted(Message):
        def __init__(self, table: CredentialTable, key: str | None) -> None:
            super().__init__()
            self.table, self.key = table, key

        @property
        def control(self) -> CredentialTable:
            return self.table

    class RowSelected(RowHighlighted):
        pass

    class HeaderSelected(Message):
        def __init__(self, table: CredentialTable, column: str) -> None:
            super().__init__()
            self.table, self.column = table, column

        @property
        def control(self) -> CredentialTable:
            return self.table

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._columns = list(columns)
        self._fitted = {c.key for c in columns if not c.width}
        """Columns given no width: :meth:`fit` sizes them to their content."""
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._drawn: dict[str, tuple[Row, Strip]] = {}
        """Each row's cells, rendered once (no row or cursor style), with the row they are of (a
        reload brings new rows under the same keys): dropped when a cell changes."""
        self._sorted_by: tuple[str, bool] | None = None
        self._natural: dict[str, int] = {}
        """The fitted columns' widths as measured, before :meth:`_fit_width` narrows them."""
        self._resize()

    # ---------------------------------------------------------------- content

    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def row_keys(self) -> list[str]:
        return [row.key for row in self._rows]

    def get_cell(self, key: str, column: str) -> Text:
        return self._rows[self._index[key]].cells[column]

    def get_column(self, column: str) -> list[Text]:
        return [row.cells[column] for row in self._rows]

    def fit(self, rows: Iterable[Row], *, at_most: int = 40) -> None:
        """Size the columns given no width to the widest of ``rows``' cells (or their
        label), at most ``at_most``: measured from every row, not the ones shown, so a
        filter never moves a column."""
        widths = {c.key: cell_len(c.label) + len(SORT_MARKS[True]) for c in self._columns}  # room for a mark
        for row in rows:
            for key, cell in row.cells.items():
                if key in widths and cell.cell_len > widths[key]:
                    widths[key] = cell.cell_len
        self._natural = {key: min(widths[key], at_most) for key in self._fitted}
        self._fit_width()

    def _fit_width(self) -> None:
        """Give the fitted columns their measured widths, narrowed (widest first, down to their
        label) where the table would not fit the widget: the fixed columns (status, the
        countdown) are never pushed out of view by a long name or account."""
        if not self._natural:
            return
        widths = dict(self._natural)
        fixed = sum(c.width for c in self._columns if c.key not in self._fitted)
        room = self.size.width - fixed - 2 * CELL_PADDING * len(self._columns)
        floors = {c.key: cell_len(c.label) + len(SORT_MARKS[True]) for c in self._columns if c.key in widths}
        if self.size.width:
            while sum(widths.values()) > room:
                key = max(widths, key=lambda k: widths[k] - floors[k])
                if widths[key] <= floors[key]:
                    break
                widths[key] -= 1
        columns = [Column(c.key, c.label, widths[c.key]) if c.key in widths else c for c in self._columns]
        if columns != self._columns:
            self._columns = columns
            self._drawn.clear()
            self.refresh()
        self._resize()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_width()

    def show(self, rows: Sequence[Row], *, cursor_on: str | None = None) -> None:
        """Show ``rows`` (the same objects may be shown again later), with the cursor on the
        row keyed ``cursor_on``, else on the row it was on, if they are there."""
        previous = self.cursor_key
        self._rows = list(rows)
        self._index = {row.key: i for i, row in enumerate(self._rows)}
        self._resize()
        self.refresh()
        for key in (cursor_on, previous):
            if key is not None and key in self._index:
                self.move_cursor(self._index[key])
                return
        self.move_cursor(self.cursor_row)

    def mark_sorted(self, column: str | None, *, descending: bool = False) -> None:
        """Mark ``column``'s header as the order of the rows (None: no mark)."""
        self._sorted_by = None if column is None else (column, descending)
        self.refresh_line(0)

    def update_cells(self, key: str, cells: dict[str, Text]) -> None:
        """Change some of a shown row's cells and repaint its line (a row not shown is left
        alone: whoever shows it again brings it up to date)."""
        index = self._index.get(key)
        if index is None:
            return
        self._rows[index].cells.update(cells)
        self._drawn.pop(key, None)
        self.refresh_line(index + 1)

    # ----------------------------------------------------------------- cursor

    @property
    def cursor_key(self) -> str | None:
        return self._rows[self.cursor_row].key if 0 <= self.cursor_row < len(self._rows) else None

    def move_cursor(self, row: int) -> None:
        self.cursor_row = max(0, min(row, len(self._rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        if self._rows:
            self.scroll_to_region(
                Region(0, new + 1, 1, 1), spacing=Spacing(top=1), animate=False, force=True, immediate=True
            )
        self.post_message(self.RowHighlighted(self, self.cursor_key))

    @property
    def visible_rows(self) -> range:
        """Indices of the rows on screen."""
        first = int(self.scroll_y)
        return range(first, min(first + max(self.size.height - 1, 0), len(self._rows)))

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(self.size.height - 2, 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(self.size.height - 2, 1))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._rows) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column is not None:
                self.post_message(self.HeaderSelected(self, column))
            return
        row = offset.y - 1 + int(self.scroll_y)
        if not 0 <= row < len(self._rows):
            return
        self.move_cursor(row)  # a click selects the row; a double-click opens it
        if event.chain >= 2:
            self.action_select()
        event.stop()

    def _column_at(self, x: int) -> str | None:
        for column in self._columns:
            x -= column.width + 2 * CELL_PADDING
            if x < 0:
                return column.key
        return None

    # -------------------------------------------------------------- rendering

    def _resize(self) -> None:
        width = sum(c.width + 2 * CELL_PADDING for c in self._columns)
        self.virtual_size = Size(width, len(self._rows) + 1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn.clear()

    def _cells_line(self, cells: dict[str, Text], style: Style) -> Strip:
        line = Text(no_wrap=True, end="")
        pad = " " * CELL_PADDING
        for column in self._columns:
            cell = cells.get(column.key) or Text("")
            if cell.cell_len != column.width:
                cell = cell.copy()
                cell.truncate(column.width, overflow="ellipsis", pad=True)
            line.append(pad)
            line.append_text(cell)
            line.append(pad)
        return Strip(line.render(self.app.console)).apply_style(style)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = int(self.scroll_x)
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("credential-table--header")
            labels = {c.key: Text(c.label) for c in self._columns}
            if self._sorted_by is not None and self._sorted_by[0] in labels:
                labels[self._sorted_by[0]].append(SORT_MARKS[self._sorted_by[1]])
            strip = self._cells_line(labels, base + header)
            return strip.crop_extend(scroll_x, scroll_x + width, base + header)
        index = y - 1 + int(self.scroll_y)
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        drawn_row, drawn = self._drawn.get(row.key, (None, None))
        if drawn is None or drawn_row is not row:
            drawn = self._cells_line(row.cells, Style())
            self._drawn[row.key] = (row, drawn)
        if index == self.cursor_row:
            # The cursor's background and weight, but the cells keep their colours: a status
            # colour (red for expired) still shows on the row under the cursor.
            cursor = self.get_component_rich_style("credential-table--cursor")
            style = base + cursor
            segments = Segment.apply_style(drawn, style, post_style=Style(bgcolor=cursor.bgcolor))
        else:
            even = self.get_component_rich_style("credential-table--even-row")
            style = base if index % 2 else base + even  # zebra stripes, from the first row, as DataTable
            segments = Segment.apply_style(drawn, style)
        return Strip(segments, drawn.cell_length).crop_extend(scroll_x, scroll_x + width, style)
