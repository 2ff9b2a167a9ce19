"""The list's table: keyed rows drawn a line at a time (Textual's Line API).

A ``DataTable`` re-measures every cell of every row it is given and, on any cell
update, re-renders every row on screen.  This table is built for what the list
does: its rows exist once, keyed by credential name; filtering shows a different
list of the same row objects (nothing is measured or rebuilt); a tick updates a
row's cells and repaints that one line.  Only the lines on screen are ever rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
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

from screens.widgets.cell_fit import COMFORTABLE, NEVER, Column, distinct_tail, middle_cut, readable, with_note
from vault.errors import printable

CELL_PADDING = 1
"""Blank cells either side of every cell's text, as a DataTable draws them."""
SORT_MARKS = {False: " ▲", True: " ▼"}
"""After the label of the column the rows are sorted by: ascending, descending."""


class Row:
    """One credential's cells by column key; the same object is shown by every filter.  A
    row with a ``heading`` is a group's heading (``github · 3``): drawn across the table,
    never under the cursor."""

    __slots__ = ("cells", "heading", "key")

    def __init__(self, key: str, cells: dict[str, Text], heading: Text | None = None) -> None:
        self.key = key
        self.cells = cells
        self.heading = heading


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
        & > .credential-table--heading {
            text-style: bold;
            color: $text-accent;
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
        "credential-table--heading",
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
        self._all_columns = list(columns)
        self._hidden: frozenset[str] = frozenset()
        self._note = ""
        """Said at the right of the header line when there is room (``grouped by provider``)."""
        self._texts: dict[str, list[str]] = {}
        """Every fitted row's plain text of each middle-cut column (to tell them apart)."""
        self._tails: dict[str, int] = {}
        """Each middle-cut column's :func:`distinct_tail` at its width now."""
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

    def is_heading(self, key: str) -> bool:
        index = self._index.get(key)
        return index is not None and self._rows[index].heading is not None

    def cell_text(self, key: str, column: str) -> str:
        """What the row keyed ``key`` shows in ``column``, as drawn (cut to fit)."""
        cell = self._rows[self._index[key]].cells[column]
        width = next(c.width for c in self._columns if c.key == column)
        return self._fitted_cell(cell, column, width).plain.rstrip()

    def get_cell(self, key: str, column: str) -> Text:
        return self._rows[self._index[key]].cells[column]

    def get_column(self, column: str) -> list[Text]:
        return [row.cells[column] for row in self._rows]

    def fit(self, rows: Iterable[Row], *, at_most: int = 40) -> None:
        """Size the columns given no width to the widest of ``rows``' cells (or their
        label), at most ``at_most``: measured from every row, not the ones shown, so a
        filter never moves a column."""
        widths = {c.key: cell_len(c.label) + len(SORT_MARKS[True]) for c in self._all_columns}  # room for a mark
        middle = {c.key for c in self._all_columns if c.middle}
        self._texts = {key: [] for key in middle}
        for row in rows:
            for key, cell in row.cells.items():
                if key in widths and cell.cell_len > widths[key]:
                    widths[key] = cell.cell_len
                if key in middle:
                    self._texts[key].append(cell.plain)
        self._natural = {key: min(widths[key], at_most) for key in self._fitted}
        self._tails.clear()
        self._fit_width()

    def hide(self, keys: Iterable[str], note: str = "") -> None:
        """Show every column but ``keys``; ``note`` said at the right of the header line."""
        hidden = frozenset(keys)
        if hidden == self._hidden and note == self._note:
            return
        self._hidden, self._note = hidden, note
        self._columns = [c for c in self._all_columns if c.key not in hidden]
        self._drawn.clear()
        self._fit_width(force=True)
        self.refresh()

    @property
    def natural_width(self) -> int:
        """Cells the table would take with every column at its measured width (and its note,
        and a vertical scrollbar when its rows overflow)."""
        shown = [c for c in self._all_columns if c.key not in self._hidden]
        width = sum(self._natural.get(c.key, c.width) + 2 * CELL_PADDING for c in shown)
        note = len(self._note) + 2 * CELL_PADDING if self._note else 0  # "grouped by provider" after the labels
        return width + note + self._scrollbar_room()

    def _scrollbar_room(self) -> int:
        overflows = self.size.height and len(self._rows) + 1 > self.size.height
        return self.styles.scrollbar_size_vertical if overflows else 0

    def _fit_width(self, *, force: bool = False) -> None:
        """Give the fitted columns their measured widths, narrowed where the table would not
        fit the widget (less a vertical scrollbar's room, so nothing scrolls sideways when
        nothing is hidden): by :attr:`Column.gives_way`, first down to :data:`COMFORTABLE`
        cells, then down to their label, widest first.  The fixed columns (the countdown) and
        the status are never pushed out of view by a long name or account."""
        if not self._natural:
            return
        shown = [c for c in self._all_columns if c.key not in self._hidden]
        widths = {c.key: self._natural[c.key] for c in shown if c.key in self._natural}
        fixed = sum(c.width for c in shown if c.key not in self._fitted)
        room = self.size.width - self._scrollbar_room() - fixed - 2 * CELL_PADDING * len(shown)
        order = {c.key: c.gives_way for c in shown}
        labels = {c.key: cell_len(c.label) + len(SORT_MARKS[True]) for c in shown}
        if self.size.width:
            for floors in (
                {k: widths[k] if order[k] >= NEVER else min(widths[k], max(COMFORTABLE, labels[k])) for k in widths},
                {k: widths[k] if order[k] >= NEVER else labels[k] for k in widths},
            ):
                for rank in sorted(set(order[k] for k in widths)):
                    giving = [k for k in widths if order[k] == rank]
                    while sum(widths.values()) > room:
                        key = max(giving, key=lambda k: widths[k] - floors[k])
                        if widths[key] <= floors[key]:
                            break
                        widths[key] -= 1
        columns = [replace(c, width=widths[c.key]) if c.key in widths else c for c in shown]
        if columns != self._columns or force:
            self._columns = columns
            self._tails = {c.key: distinct_tail(self._texts.get(c.key, []), c.width) for c in columns if c.middle}
            self._drawn.clear()
            self.refresh()
        self._resize()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_width()

    def show(self, rows: Sequence[Row], *, cursor_on: str | None = None) -> None:
        """Show ``rows`` (the same objects may be shown again later), with the cursor on the
        row keyed ``cursor_on``, else on the row it was on, if they are there."""
        previous = self.cursor_key
        scrollbar = self._scrollbar_room()
        self._rows = list(rows)
        self._index = {row.key: i for i, row in enumerate(self._rows)}
        if self._scrollbar_room() != scrollbar:
            self._fit_width()  # a vertical scrollbar came or went: the columns' room changed
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
        wider = {k: c.cell_len for k, c in cells.items() if k in self._natural and c.cell_len > self._natural[k]}
        if wider:  # a longer status word than any before: the column grows (rarely: not every tick)
            self._natural.update(wider)
            self._fit_width()
        self.refresh_line(index + 1)

    # ----------------------------------------------------------------- cursor

    @property
    def cursor_key(self) -> str | None:
        return self._rows[self.cursor_row].key if 0 <= self.cursor_row < len(self._rows) else None

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row ``row``, or, on a group's heading, on the nearest row past it
        in the direction it moves (a heading is never under the cursor)."""
        rows = self._rows
        row = max(0, min(row, len(rows) - 1))
        if rows and rows[row].heading is not None:
            step = 1 if row >= self.cursor_row else -1
            ahead = range(row, len(rows)) if step > 0 else range(row, -1, -1)
            behind = range(row, -1, -1) if step > 0 else range(row, len(rows))
            row = next((i for i in (*ahead, *behind) if rows[i].heading is None), row)
        self.cursor_row = row

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

    @property
    def visible_keys(self) -> list[str]:
        """Keys of the rows on screen, headings left out."""
        rows = self._rows
        return [rows[i].key for i in self.visible_rows if rows[i].heading is None]

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(self.size.height - 2, 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(self.size.height - 2, 1))

    def action_first(self) -> None:
        self.cursor_row = 0
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
        if not 0 <= row < len(self._rows) or self._rows[row].heading is not None:
            return  # a group's heading: nothing to select
        self.move_cursor(row)  # a click selects the row; a double-click opens it
        if event.chain >= 2:
            self.action_select()
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Over a cut cell (a long name), its whole text as a tooltip."""
        offset = event.get_content_offset(self)
        tip: str | None = None
        if offset is not None and offset.y > 0:
            index = offset.y - 1 + int(self.scroll_y)
            column = self._column_at(offset.x + int(self.scroll_x))
            if 0 <= index < len(self._rows) and column is not None and self._rows[index].heading is None:
                cell = self._rows[index].cells.get(column)
                width = next(c.width for c in self._columns if c.key == column)
                if cell is not None and cell.cell_len > width:
                    tip = cell.plain
        if tip != self.tooltip:
            self.tooltip = tip

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

    def _fitted_cell(self, cell: Text, key: str, width: int) -> Text:
        """``cell`` cut (at its end, or in its middle) or padded to ``width`` cells."""
        if cell.cell_len == width:
            return cell
        tail = self._tails.get(key)
        if tail is not None and cell.cell_len > width:
            return Text(middle_cut(cell.plain, width, tail), style=cell.style, no_wrap=True)
        cell = cell.copy()
        cell.truncate(width, overflow="ellipsis", pad=True)
        return cell

    def _cells_line(self, cells: dict[str, Text], style: Style) -> Strip:
        line = Text(no_wrap=True, end="")
        pad = " " * CELL_PADDING
        for column in self._columns:
            cell = self._fitted_cell(cells.get(column.key) or Text(""), column.key, column.width)
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
            strip = strip.crop_extend(scroll_x, scroll_x + width, base + header)
            if not self._note:
                return strip
            hidden_sort = self._sorted_by is not None and self._sorted_by[0] in self._hidden  # grouped by it
            note = self._note + (SORT_MARKS[self._sorted_by[1]] if self._sorted_by and hidden_sort else "")
            under_scrollbar = width - self.scrollable_content_region.width
            return with_note(strip, note, base + header, CELL_PADDING + max(under_scrollbar, 0))
        index = y - 1 + int(self.scroll_y)
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        if row.heading is not None:
            heading = base + self.get_component_rich_style("credential-table--heading")
            text = Text(" " * CELL_PADDING, end="", no_wrap=True).append_text(row.heading)
            strip = Strip(text.render(self.app.console)).apply_style(heading)
            return strip.crop_extend(scroll_x, scroll_x + width, heading)
        drawn_row, drawn = self._drawn.get(row.key, (None, None))
        if drawn is None or drawn_row is not row:
            drawn = self._cells_line(row.cells, Style())
            self._drawn[row.key] = (row, drawn)
        if index == self.cursor_row:
            # The cursor's background and weight; the cells keep their colours where they read on it.
            cursor = self.get_component_rich_style("credential-table--cursor")
            style = base + cursor
            segments = readable(Segment.apply_style(drawn, style, post_style=Style(bgcolor=cursor.bgcolor)), style)
        else:
            even = self.get_component_rich_style("credential-table--even-row")
            style = base if index % 2 else base + even  # zebra stripes, from the first row, as DataTable
            segments = list(Segment.apply_style(drawn, style))
        return Strip(segments, drawn.cell_length).crop_extend(scroll_x, scroll_x + width, style)
