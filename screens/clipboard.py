"""Copying from the TUI: a token (cleared again later) or a line that holds no secret.

Textual copies through OSC 52: the terminal is asked to put the text on the system
clipboard, and a terminal that does not support it (or has it switched off) drops the
request without saying so.  So the notices say the text was *sent to the terminal's
clipboard*, never that it was copied.

A token is cleared again after ``settings.clipboard_clear_after`` by a timer on the
*app* (it must fire after the user has left the screen it was copied from), and only if
the clipboard still holds that token: the timer keeps its digest, not the token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

SENT = "Sent to the terminal's clipboard"
"""What a copy can promise: the terminal may drop an OSC 52 request, and does not say."""


def seconds(value: float) -> str:
    """A settings duration for a sentence: ``30 s``, ``0.2 s``."""
    return f"{value:g} s"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Copier:
    """The app's clipboard, as the screens copy to it (one per app: a second token copy restarts the wait)."""

    def __init__(self, app: App[None], clear_after: Callable[[], float], clear: Callable[[], None]) -> None:
        """``clear_after()``: the seconds a copied secret stays (the app's setting, read at each copy);
        ``clear()``: overwrite the clipboard (the app's way, which terminals do not ignore)."""
        self._app = app
        self._clear_after = clear_after
        self._clear = clear
        self._clear_timer: Timer | None = None

    def copy_secret(self, text: str, what: str) -> None:
        """Send ``what`` (a token, a line holding one) to the clipboard and clear it later."""
        app = self._app
        app.copy_to_clipboard(text)
        after = self._clear_after()
        app.notify(f"{SENT}: {what}, cleared again in {seconds(after)}.", title="Clipboard", markup=False)
        if self._clear_timer is not None:
            self._clear_timer.stop()
        self._clear_timer = app.set_timer(after, partial(self._clear_if_still, _digest(text)))

    def copy_bearer(self, token: str, name: str) -> None:
        """Send ``Authorization: Bearer <token>`` (a header line for curl -H, an HTTP client's
        config) and clear it later, as a token is."""
        self.copy_secret(f"Authorization: Bearer {token}", f"an Authorization: Bearer header with {name}'s token")

    def copy_line(self, text: str, what: str) -> None:
        """Send text that holds no secret (a command line): nothing to clear later."""
        self._app.copy_to_clipboard(text)
        self._app.notify(f"{SENT}: {what}.", title="Clipboard", markup=False)

    def _clear_if_still(self, digest: bytes) -> None:
        """Empty the clipboard if it still holds the copied secret.  Textual only knows what
        the app itself copied, so a copy made elsewhere since is left alone."""
        app = self._app
        self._clear_timer = None
        if app.clipboard and hmac.compare_digest(_digest(app.clipboard), digest):
            self._clear()
            app.notify("The copied token was cleared from the clipboard.", title="Clipboard", timeout=3)
