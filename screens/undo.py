"""Undo (``u``, anywhere in the app): the last delete, rename or token replace, put back for
:data:`UNDO_SECONDS` after its notification said so.

What is kept for it is a :class:`vault.services.undo.Undo`: the credential as it was, its
tokens as :class:`~vault.core.secret.Secret`, in this process's memory only, and dropped
when the time is up (or a newer change takes its place).  Whether the vault still holds
what the change left is the vault's rule (:func:`vault.services.undo.undo`): a refusal
is one calm line, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from screens.messages import CredentialRenamed, VaultChanged

if TYPE_CHECKING:
    from textual.app import App
    from textual.message import Message

    from vault.core.clock import Clock
    from vault.core.repository import Repository
    from vault.services.undo import Undo

UNDO_SECONDS = 10.0
"""How long after a change ``u`` puts it back (read on the app's clock)."""


class Undoer:
    """The app's one undoable change.

    Args:
        app: the app (its notifications, timers and workers).
        clock: the app's clock, read at each use (tests freeze it).
        records: the open vault's records (raises VaultLocked once locked).
        tell: posts a fresh message to every screen.
    """

    def __init__(
        self,
        app: App[None],
        clock: Callable[[], Clock],
        records: Callable[[], Repository],
        tell: Callable[[Callable[[], Message]], None],
    ) -> None:
        self._app = app
        self._clock = clock
        self._records = records
        self._tell = tell
        self._change: Undo | None = None
        self._until = 0.0

    @property
    def pending(self) -> Undo | None:
        """The change ``u`` would undo now, if any."""
        if self._change is not None and self._clock().now() >= self._until:
            self._change = None
        return self._change

    def keep(self, change: Undo, said: str, title: str) -> None:
        """Say ``said`` (what ``change`` did) and that ``u`` undoes it; keep it for :data:`UNDO_SECONDS`."""
        self._change = change
        self._until = self._clock().now() + UNDO_SECONDS
        self._app.notify(f"{said} u to undo.", title=title, markup=False)
        self._app.set_timer(UNDO_SECONDS, lambda: self._drop(change))

    def _drop(self, change: Undo) -> None:
        """The time is up: the credential kept for ``change`` (its tokens) is let go."""
        if self._change is change:
            self._change = None

    def forget(self) -> None:
        """Drop what is kept (the vault was locked)."""
        self._change = None

    def undo(self) -> None:
        """Put the change back in a worker; or say there is nothing to undo."""
        change, self._change = self.pending, None  # one undo per change, whatever comes of it
        if change is None:
            self._app.notify("Nothing to undo.", title="Undo", markup=False)
            return
        self._app.run_worker(lambda: self._put_back(change), thread=True, group="edit", exit_on_error=False,
                             name=f"undo {change.name}")  # fmt: skip

    def _put_back(self, change: Undo) -> None:
        from vault.errors import UndoRefused
        from vault.services.undo import undo

        app = self._app
        try:
            said = undo(self._records(), change)
        except UndoRefused as exc:
            app.call_from_thread(app.notify, exc.message, title=exc.title, severity="warning", markup=False)
            return
        app.call_from_thread(app.notify, said, title="Undone", markup=False)
        if change.kind == "rename" and change.left is not None:
            old, new = change.left.name, change.name
            app.call_from_thread(self._tell, lambda: CredentialRenamed(old, new))
        app.call_from_thread(self._tell, lambda: VaultChanged(change.name))
