"""The active forwards (``tokendeck ssh`` sessions) and local sessions (``tokendeck exec --session``,
issue 36: the same view, kept for a process tree here): who, what each may read, requests served,
when it ends; ``x`` ends the highlighted one.  Read from the agent every two seconds, in a
worker (:func:`vault.agent.forwarding.active_forwards`); without an agent there are none."""

from __future__ import annotations

from typing import ClassVar

from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from screens.app import VaultApp
from screens.widgets.footer import KeysFooter
from vault.core.timefmt import relative

COLUMNS = ("WHO", "MAY READ", "SERVED", "ENDS")
"""WHO: a forward's remote host, or a session's id and command."""
EMPTY = "No active forwards. tokendeck ssh --only NAME,... -- HOST forwards the agent to a remote machine."


class ForwardsScreen(ModalScreen[None]):
    """The agent's forwards, kept up to date while open."""

    app = getters.app(VaultApp)
    table = getters.query_one("#forwards", DataTable)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", key_display="esc"),
        Binding("x", "end", "End it"),
        Binding("f1,question_mark", "app.help", "Help", key_display="?", tooltip="the keys of this dialog"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="forwards-dialog", classes="dialog"):
            yield Static("Forwards", classes="title")
            yield Static("", id="forwards-note", classes="muted", markup=False)
            yield DataTable(id="forwards", cursor_type="row", zebra_stripes=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.table.add_columns(*COLUMNS)
        self.reload()
        self.set_interval(2.0, self.reload)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "end":
            return self.is_mounted and self.table.row_count > 0
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="forwards")
    def reload(self) -> None:
        from vault.agent.forwarding import active_forwards

        rows = active_forwards(str(self.app.unlocked_vault.paths.home))
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict[str, object]] | None) -> None:
        table = self.table
        highlighted = table.cursor_row
        table.clear()
        now = self.app.clock.now()
        for row in rows or []:
            ends = row.get("ends_at")
            session = row.get("session")
            lasts = "with its command" if session else "with the session"
            when = relative(float(ends), now) if isinstance(ends, int | float) else lasts
            names = row.get("names")
            who = f"session {session} ({row['host']})" if session else str(row["host"])
            if isinstance(names, list) and names:
                may_read = ", ".join(map(str, names))
            else:  # a session given no name is a proxy run's (exec needs an -e): its tokens go through the proxy
                may_read = "none directly: through the proxy" if session else "-"
            table.add_row(who, may_read, str(row.get("served", 0)), when, key=str(row["id"]))
        if table.row_count:
            table.move_cursor(row=min(highlighted, table.row_count - 1))
        note = self.query_one("#forwards-note", Static)
        text = "" if rows else EMPTY if rows is not None else "No agent is running, so nothing is forwarded."
        note.update(text)
        note.display = bool(text)
        table.display = bool(rows)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="forwards")
    def end(self, forward_id: str) -> None:
        from vault.agent.forwarding import end_forward

        home = str(self.app.unlocked_vault.paths.home)
        if end_forward(forward_id, home):
            self.app.call_from_thread(
                self.app.notify, "Ended: its next read is refused.", title="Forwards", markup=False
            )
        self.reload()

    def action_end(self) -> None:
        if self.table.row_count:
            key = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value
            if key is not None:
                self.end(key)

    def action_close(self) -> None:
        self.dismiss(None)
