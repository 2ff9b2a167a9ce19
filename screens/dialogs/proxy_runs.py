"""The recent runs of ``tokendeck proxy run`` (``P`` on the list): one line each, newest first,
as ``tokendeck proxy runs`` prints them (the same rule: :mod:`vault.services.proxy_runs`), and
under them the audit rows of the highlighted run, as ``tokendeck audit --run ID`` shows them.
Read again every two seconds while open, so a running run's counts move."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from screens.app import VaultApp
from screens.widgets.footer import KeysFooter
from vault.core.model import AuditEvent
from vault.core.timefmt import iso
from vault.errors import NotFound, VaultError, printable
from vault.services.proxy_runs import ProxyRun
from vault.services.tokens import Vault

COLUMNS = ("RUN", "STARTED", "COMMAND", "ALLOWED", "TOOK", "EXIT", "SUBST", "REFUSED")
ROW_COLUMNS = ("TIME", "CREDENTIAL", "OUTCOME")
WHAT_WIDTH = 36
_REQUEST = re.compile(r"host=(\S*) method=(\S*) path=(\S*)")
"""The last column's width: what fits beside the others in the dialog at 80 columns (cut with an ellipsis)."""
EMPTY = "No proxy runs in the audit log. tokendeck proxy run --allow NAME -- CMD starts one."
LIMIT = 50
"""The newest runs shown; ``tokendeck proxy runs`` lists them all."""


def what(event: AuditEvent) -> str:
    """A row's detail as it reads in the dialog: a request as ``GET api.github.com/user``, the run's
    start and end without the id (the title says it)."""
    detail = event.detail or ""
    if event.action == "proxy" and (request := _REQUEST.match(detail)):
        host, method, path = request.groups()
        return printable(f"{method} {host}{path}")
    return printable(detail.rsplit(" run=", 1)[0])


def line(run: ProxyRun, now: float) -> list[str]:
    """A run's cells under :data:`COLUMNS`: ``tokendeck proxy runs``'s, a running run's EXIT
    saying so (narrower than its TOOK reading ``running 1m``: the eight fit at 80 columns)."""
    cells = run.cells(now, human=True)
    if run.running:
        cells[4], cells[5] = cells[4].removeprefix("running "), "running"
    return cells


class ProxyRunsScreen(ModalScreen[None]):
    """The proxy runs, and the rows of the one highlighted."""

    app = getters.app(VaultApp)
    table = getters.query_one("#proxy-runs", DataTable)
    rows_table = getters.query_one("#proxy-run-rows", DataTable)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", key_display="esc"),
        Binding("f1,question_mark", "app.help", "Help", key_display="?", tooltip="the keys of this dialog"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._seen: int | None = None
        """The newest audit row read (None: none yet)."""
        self._found: list[ProxyRun] = []
        self._columns: list[ColumnKey] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="proxy-runs-dialog", classes="dialog"):
            yield Static("Proxy runs", classes="title")
            yield Static("", id="proxy-runs-note", classes="muted", markup=False)
            yield DataTable(id="proxy-runs", cursor_type="row", zebra_stripes=False)
            yield Static("", id="proxy-run-title", classes="muted", markup=False)
            yield DataTable(id="proxy-run-rows", cursor_type="row", zebra_stripes=False, show_cursor=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self._columns = self.table.add_columns(*COLUMNS)
        self.rows_table.add_columns(*ROW_COLUMNS)
        self.rows_table.add_column("WHAT", width=WHAT_WIDTH)
        self.rows_table.can_focus = False
        self.table.focus()
        self.reload()
        self.set_interval(2.0, self.reload)

    @work(exclusive=True, exit_on_error=False, group="proxy-runs")
    async def reload(self) -> None:
        """Read the runs again when the audit log has a run's row newer than the last read (a
        year of runs is a large read); otherwise only their times move."""
        from vault.services.proxy_runs import run_of, runs

        seen = self._seen

        def read(vault: Vault) -> tuple[int, list[ProxyRun] | None]:
            last, new = vault.records.audit_since(seen)
            if seen is not None and not any(run_of(event) for event in new):
                return last, None
            return last, runs(vault.records, limit=LIMIT)

        try:
            self._seen, found = await self.app.read(read, name="proxy runs")
        except VaultError as exc:
            self.app.report(exc)
            return
        if found is None:
            self._tick()
        else:
            self._show(found)

    def _tick(self) -> None:
        """The shown runs' STARTED and TOOK as of now."""
        now = self.app.clock.now()
        for run in self._found:
            cells = line(run, now)
            for index in (1, 4):
                cell = Text(cells[index], no_wrap=True)
                self.table.update_cell(run.id, self._columns[index], cell, update_width=True)  # "1m 5s ago" grows

    def _show(self, found: list[ProxyRun]) -> None:
        self._found = found
        table = self.table
        highlighted = table.cursor_row
        table.clear()
        now = self.app.clock.now()
        for run in found:
            table.add_row(*(Text(printable(cell), no_wrap=True) for cell in line(run, now)), key=run.id)
        if table.row_count:
            table.move_cursor(row=min(highlighted, table.row_count - 1))
        note = self.query_one("#proxy-runs-note", Static)
        note.update("" if found else EMPTY)
        note.display = not found
        for widget in (table, self.rows_table, self.query_one("#proxy-run-title", Static)):
            widget.display = bool(found)
        self.show_rows()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.table:
            self.show_rows()

    @work(exclusive=True, exit_on_error=False, group="proxy-run-rows")
    async def show_rows(self) -> None:
        from vault.services.proxy_runs import run_events

        if not self.table.row_count:
            return
        run_id = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value
        if run_id is None:
            return
        try:
            events = await self.app.read(lambda vault: run_events(vault.records, run_id), name="proxy run rows")
        except NotFound:
            events = []  # pruned meanwhile
        except VaultError as exc:
            self.app.report(exc)
            return
        self.query_one("#proxy-run-title", Static).update(f"Run {run_id}: {len(events)} audit rows, newest first")
        rows = self.rows_table
        rows.clear()
        for index, event in enumerate(reversed(events)):
            rows.add_row(
                Text((iso(event.at) or "")[11:19]),  # HH:MM:SS UTC: the run's line has the day
                Text(printable(event.credential or "-")),
                Text(event.outcome),
                Text(what(event), no_wrap=True, overflow="ellipsis"),
                key=str(index),
            )

    def action_close(self) -> None:
        self.dismiss(None)
