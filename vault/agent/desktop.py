"""Consent questions as desktop notifications (issue 36): second in line, after a polling TUI and
before a session's own terminal.

When a use waits for a yes and no TUI is asking, the agent puts the question up through
``org.freedesktop.Notifications`` on the session D-Bus named by the agent's own environment
(``DBUS_SESSION_BUS_ADDRESS``), with the actions Allow and Deny.  The action the user picks
answers it (:meth:`vault.agent.consent.Confirmations.answer`); a notification the user
dismisses is a no; an answer given elsewhere (the TUI, the terminal, the timeout) closes it.
While the bus has no notification server, nothing is put up, and the terminal asks.

The bus is spoken with ``jeepney`` (pure Python, already installed as keyring's dependency on
Linux, declared in pyproject.toml): one thread owns the connection, sends what the agent's
workers queue, and reads the server's signals.  Every text in a notification is the question's
own, already made printable; the body is marked up by some servers, so ``<``, ``>`` and ``&``
are escaped.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol


class Question(Protocol):
    """What a notification says of a :class:`vault.agent.consent.Question` (not imported: that
    module holds the desktop)."""

    id: str
    host: str
    credential: str
    op: str
    program: str
    purpose: str
    session: str | None
    desktop: bool


SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
DISMISSED = 2
"""``NotificationClosed``'s reason when the user closed it: a no."""
RECHECK = 5.0
"""Seconds between checks that a notification server is (still) on the bus."""


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Desktop:
    """Puts questions up as notifications and answers them with the action picked.

    Args:
        address: the session bus (``DBUS_SESSION_BUS_ADDRESS``).
        answer: ``answer(question_id, allow)``, the agent's :meth:`Confirmations.answer`.
        log: the agent's log.
    """

    def __init__(self, address: str, answer: Callable[[str, bool], bool], log: Callable[[str], None]) -> None:
        self.address = address
        self._answer = answer
        self._log = log
        self._jobs: queue.Queue[tuple[str, Question]] = queue.Queue()
        self._shown: dict[int, str] = {}  # notification id -> question id
        self._ids: dict[str, int] = {}
        self.available = False
        """A notification server answered on the bus at the last check."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tokendeck-desktop", daemon=True)

    @classmethod
    def from_environment(cls, answer: Callable[[str, bool], bool], log: Callable[[str], None]) -> Desktop | None:
        """The agent's desktop, when its environment names a session bus (started); else None."""
        from vault.settings import SESSION_BUS_ENV

        address = os.environ.get(SESSION_BUS_ENV)
        if not address:
            return None
        try:
            import jeepney  # noqa: F401 - Linux only; elsewhere the terminal asks
        except ImportError:
            return None
        return cls(address, answer, log).start()

    def start(self) -> Desktop:
        ready = threading.Event()
        self._ready = ready
        self._thread.start()
        ready.wait(2.0)  # the first check: whether to leave questions to it from the start
        return self

    def stop(self) -> None:
        self._stop.set()

    def ask(self, question: Question) -> None:
        """Put ``question`` up (from any thread)."""
        self._jobs.put(("ask", question))

    def answered(self, question: Question) -> None:
        """``question`` was answered (anywhere): its notification goes."""
        self._jobs.put(("close", question))

    # ----------------------------------------------------------- the bus thread

    def _run(self) -> None:
        try:
            from jeepney import MatchRule
            from jeepney.bus_messages import message_bus
            from jeepney.io.blocking import open_dbus_connection

            connection = open_dbus_connection(bus=self.address)
        except Exception as exc:  # noqa: BLE001 - no bus to speak of: the terminal asks
            self._log(f"desktop notifications: no session bus ({type(exc).__name__})")
            self._ready.set()
            return
        with connection:
            rule = MatchRule(type="signal", interface=SERVICE, path=PATH)
            connection.send_and_get_reply(message_bus.AddMatch(rule), timeout=2.0)
            with connection.filter(rule, bufsize=256) as signals:
                self.available = self._server_here(connection)
                self._ready.set()
                checked = 0.0
                while not self._stop.is_set():
                    self._work(connection)
                    with contextlib.suppress(TimeoutError):
                        connection.recv_messages(timeout=0.1)
                    while signals:
                        self._signal(signals.popleft())
                    checked += 0.1
                    if checked >= RECHECK:
                        checked, self.available = 0.0, self._server_here(connection)

    def _server_here(self, connection: Any) -> bool:
        from jeepney.bus_messages import message_bus

        try:
            reply = connection.send_and_get_reply(message_bus.NameHasOwner(SERVICE), timeout=2.0)
        except Exception:  # noqa: BLE001 - a bus that does not answer has no server for us
            return False
        return bool(reply.body and reply.body[0])

    def _work(self, connection: Any) -> None:
        while True:
            try:
                job, question = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job == "ask":
                self._notify(connection, question)
            else:
                self._close(connection, question)

    def _notify(self, connection: Any, question: Question) -> None:
        from jeepney import DBusAddress, new_method_call

        who = question.program or (
            f"session {question.session} ({question.host})" if question.session else question.host
        )
        body = f"{who} wants {question.credential} for {question.purpose or question.op}. Allow this one use?"
        summary = f"tokendeck: {question.credential} asked for"
        address = DBusAddress(PATH, bus_name=SERVICE, interface=SERVICE)
        hints = {"urgency": ("y", 2)}
        call = new_method_call(
            address, "Notify", "susssasa{sv}i",
            ("tokendeck", 0, "dialog-password", summary, escaped(body), ["allow", "Allow", "deny", "Deny"], hints, -1),
        )  # fmt: skip
        try:
            reply = connection.send_and_get_reply(call, timeout=2.0)
            notification = int(reply.body[0])
        except Exception as exc:  # noqa: BLE001 - no server after all: the terminal asks
            self._log(f"desktop notifications: not shown ({type(exc).__name__})")
            question.desktop = False
            self.available = False
            return
        self._shown[notification] = question.id
        self._ids[question.id] = notification

    def _close(self, connection: Any, question: Question) -> None:
        from jeepney import DBusAddress, new_method_call

        notification = self._ids.pop(question.id, None)
        if notification is None:
            return
        self._shown.pop(notification, None)
        address = DBusAddress(PATH, bus_name=SERVICE, interface=SERVICE)
        with contextlib.suppress(Exception):
            connection.send_and_get_reply(new_method_call(address, "CloseNotification", "u", (notification,)), 2.0)

    def _signal(self, message: Any) -> None:
        from jeepney import HeaderFields

        member = message.header.fields.get(HeaderFields.member)
        body = message.body
        if not body:
            return
        question_id = self._shown.pop(int(body[0]), None)
        if question_id is None:
            return
        self._ids.pop(question_id, None)
        if member == "ActionInvoked" and len(body) > 1 and body[1] in ("allow", "deny"):
            self._answer(question_id, body[1] == "allow")
        elif member == "NotificationClosed" and len(body) > 1 and body[1] == DISMISSED:
            self._answer(question_id, False)
