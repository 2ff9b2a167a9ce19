"""How a sign-in running in a thread worker talks to its screen.

:class:`TuiSignIn` is :class:`vault.oauth.flows.SignInUI` for the TUI: each of the flow's
callbacks, made on the worker's thread, becomes one of the messages below, posted to the
screen (``post_message`` is thread-safe).  The messages keep the handler names they had
when they were nested on :class:`screens.signin.SignInScreen` (``on_sign_in_screen_...``),
so a handler written for them by name still runs.
"""

from __future__ import annotations

import threading
import webbrowser
from concurrent.futures import Future

from textual.message import Message
from textual.message_pump import MessagePump

from vault.errors import AccountChanged, InvalidInput
from vault.services.signin import DeviceCode


class UrlReady(Message, namespace="sign_in_screen"):
    """The authorization URL is ready; the browser is being opened."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        """The URL to open (shown, and copied with ``c``)."""


class BrowserFailed(Message, namespace="sign_in_screen"):
    """No browser could be started: the user opens the URL by hand."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        """The URL that could not be opened."""


class DeviceCodeReady(Message, namespace="sign_in_screen"):
    """The device flow has a code for the user to enter elsewhere."""

    def __init__(
        self, user_code: str, verification_uri: str, verification_uri_complete: str | None, expires_in: float
    ) -> None:
        super().__init__()
        self.user_code = user_code
        """What the user types at the verification URI."""
        self.verification_uri = verification_uri
        """Where to type it."""
        self.verification_uri_complete = verification_uri_complete
        """The same page with the code filled in, when the provider offers one."""
        self.expires_in = expires_in
        """Seconds until the code expires."""


class Notice(Message, namespace="sign_in_screen"):
    """Something the user should know that does not stop the sign-in."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        """One line, shown as plain text."""


class SignedIn(Message, namespace="sign_in_screen"):
    """The sign-in finished and the credential is stored."""

    def __init__(self, name: str, account: str | None, provider: str) -> None:
        super().__init__()
        self.name = name
        """The stored credential's name."""
        self.account = account
        """Who signed in, when the provider said."""
        self.provider = provider
        """The provider signed in to."""


class Failed(Message, namespace="sign_in_screen"):
    """The sign-in (or saving the registration) did not complete; nothing was stored."""

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__()
        self.text = text
        """The error, shown as plain text (it may carry the provider's own words)."""
        self.code = code
        """The OAuth error code or reason (``cancelled``, ``access_denied``), if any."""


class ReplaceAccount(Message, namespace="sign_in_screen"):
    """The sign-in is another account than the credential's: the worker waits for the
    user's answer in :attr:`answer` (True: replace it)."""

    def __init__(self, name: str, stored: str, signed: str, answer: Future[bool]) -> None:
        super().__init__()
        self.name = name
        """The credential signed in again."""
        self.stored = stored
        """The account it holds, as shown."""
        self.signed = signed
        """The account just signed in, as shown."""
        self.answer = answer
        """Set once, from the screen's thread, when the user has answered."""


class TuiSignIn:
    """:class:`vault.oauth.flows.SignInUI` for the TUI: every callback, made on the
    worker's thread, becomes a message posted to the screen (``post_message`` is
    thread-safe).

    Args:
        cancel: the sign-in's cancel switch: a question still open when it is set is a no.
    """

    def __init__(self, screen: MessagePump, cancel: threading.Event | None = None) -> None:
        self.screen = screen
        self.cancel = cancel

    def confirm_replace(self, change: AccountChanged) -> bool:
        """Ask the user (on the worker's thread, waiting for the screen's answer) whether
        the sign-in may replace the credential's account
        (:func:`vault.services.signin.login`'s ``confirm``)."""
        answer: Future[bool] = Future()
        self.screen.post_message(ReplaceAccount(change.name, change.stored, change.signed, answer))
        while self.cancel is None or not self.cancel.is_set():
            try:
                return answer.result(timeout=0.1)
            except TimeoutError:
                continue
        return False

    def show_url(self, url: str) -> None:
        self.screen.post_message(UrlReady(url))

    def open_browser(self, url: str) -> bool:
        opened = webbrowser.open(url)
        if not opened:
            self.screen.post_message(BrowserFailed(url))
        return opened

    def ask_redirect(self) -> str:
        raise InvalidInput("pasting the redirect URL is only offered by tokendeck login --no-browser")

    def show_device_code(self, code: DeviceCode) -> None:
        self.screen.post_message(
            DeviceCodeReady(code.user_code, code.verification_uri, code.verification_uri_complete, code.expires_in)
        )

    def notice(self, message: str) -> None:
        self.screen.post_message(Notice(message))


def countdown(seconds: float) -> str:
    """``4:59`` (minutes and seconds), never negative."""
    left = max(int(seconds), 0)
    return f"{left // 60}:{left % 60:02d}"
