"""Issue 36: with no TUI asking, the agent puts a consent question up as a desktop notification
(``org.freedesktop.Notifications`` on the session bus of its environment), and the action the
user picks decides the use.

Real processes and a real bus: a private ``dbus-daemon --session``, ``tokendeck agent start``
with that bus in its environment, a reader (``tokendeck token a``, no terminal) of a credential
that asks before each use.  The notification server is a minimal one written here with jeepney
(``Notify`` returns an id, and the test emits ``ActionInvoked`` or ``NotificationClosed``), as a
desktop's would.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_agent_cli import TOKENDECK, tokendeck
from tests.test_sessions import A_TOKEN, PASS

jeepney = pytest.importorskip("jeepney")

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Notifications:
    """A minimal notification server on the bus: what it was asked to show, and a way to act."""

    def __init__(self, address: str) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.connection = open_dbus_connection(bus=address)
        self.connection.send_and_get_reply(message_bus.RequestName(SERVICE), timeout=5)
        self.shown: list[tuple[Any, ...]] = []
        self.closed: list[int] = []
        self._signals: queue.Queue[tuple[str, str, tuple[Any, ...]]] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def act(self, notification: int, action: str) -> None:
        self._signals.put(("ActionInvoked", "us", (notification, action)))

    def dismiss(self, notification: int) -> None:
        self._signals.put(("NotificationClosed", "uu", (notification, 2)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.connection.close()

    def _serve(self) -> None:
        from jeepney import DBusAddress, HeaderFields, MessageType, new_method_return, new_signal

        while not self._stop.is_set():
            while not self._signals.empty():
                member, signature, body = self._signals.get()
                emitter = DBusAddress(PATH, interface=SERVICE)
                self.connection.send_message(new_signal(emitter, member, signature, body))
            try:
                message = self.connection.receive(timeout=0.05)
            except TimeoutError:
                continue
            if message.header.message_type != MessageType.method_call:
                continue
            member = message.header.fields.get(HeaderFields.member)
            if member == "Notify":
                self.shown.append(message.body)
                self.connection.send_message(new_method_return(message, "u", (len(self.shown),)))
            elif member == "CloseNotification":
                self.closed.append(message.body[0])
                self.connection.send_message(new_method_return(message))
            elif member == "GetCapabilities":
                self.connection.send_message(new_method_return(message, "as", (["actions", "body"],)))


@pytest.fixture
def bus() -> Iterator[str]:
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.skip("no dbus-daemon")
    process = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    yield address
    process.terminate()
    process.wait(10)
    process.stdout.close()


@pytest.fixture
def desktop_env(home: Path, bus: str) -> Iterator[tuple[dict[str, str], Notifications]]:
    """A passphrase vault holding ``a`` (which asks before each use), its agent started with the
    private bus in its environment, and a notification server on that bus."""
    server = Notifications(bus)
    environment = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "DBUS_SESSION_BUS_ADDRESS": bus,
    }
    assert tokendeck(environment, "init", "--passphrase").returncode == 0
    assert tokendeck(environment, "add", "a", "--provider", "github-pat", stdin=A_TOKEN).returncode == 0
    assert tokendeck(environment, "confirm", "a", "on").returncode == 0
    started = tokendeck(environment, "agent", "start")
    assert started.returncode == 0, started.stderr
    yield environment, server
    tokendeck(environment, "agent", "stop")
    server.stop()


@pytest.mark.parametrize(
    ("action", "code"), [("allow", 0), ("deny", 5), ("dismiss", 5)], ids=["allow", "deny", "dismissed"]
)
def test_the_question_is_a_desktop_notification_and_its_action_decides(
    desktop_env: tuple[dict[str, str], Notifications], tmp_path: Path, action: str, code: int
) -> None:
    environment, server = desktop_env
    reader = subprocess.Popen(
        [TOKENDECK, "token", "a"], env=environment, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not server.shown and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.shown, "the notification"
        app, _replaces, _icon, summary, body, actions, _hints, _timeout = server.shown[0]
        assert (app, summary) == ("tokendeck", "tokendeck: a asked for")
        assert f"tokendeck token a (pid {reader.pid}) in {tmp_path} wants a for a token read." in body
        assert list(actions) == ["allow", "Allow", "deny", "Deny"]
        if action == "dismiss":
            server.dismiss(1)
        else:
            server.act(1, action)
        out, err = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == code, err
    assert (out == A_TOKEN + "\n") is (code == 0)
    if code:
        assert err == "tokendeck: the use of a was not allowed (denied): it asks before each use\n"
    assert len(server.shown) == 1  # asked once, on the desktop only
