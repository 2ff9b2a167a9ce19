"""Issue 31's "Must show", as a user sees it: the TUI (``tokendeck``) in a real terminal, tmux
at 80x24, beside a real agent process and an MCP bridge session (the official SDK's stdio
client starting ``tokendeck mcp-bridge``, calling a real MCP server on loopback).  Nothing
here has a passphrase: every process works only through the agent.

Real time, kept short by the vault's own policy (``vault.toml``: the agent locks after
``AGENT_IDLE`` seconds without a request) and the TUI's (``tui.toml``: its view locks after
``VIEW_IDLE``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from tests.support.bridge import TOKENDECK, echo_for
from tests.support.mcp_server import Seen
from tests.test_agent_cli import tokendeck
from vault.agent import wire

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

VIEW_IDLE = 5
"""Seconds without a key before the TUI hides its view (tui.toml)."""
AGENT_IDLE = 8
"""Seconds without a request from any client before the agent locks (vault.toml)."""
BRIDGE_SECONDS = 16.0
"""How long the bridge session calls its server: longer than both idle times."""


class Tmux:
    """A tmux server of the test's own (its own socket), one 80x24 window running ``command``."""

    def __init__(self, sock: Path, env: dict[str, str]) -> None:
        self.sock, self.env = sock, env

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.sock), *args], capture_output=True, text=True, env=self.env, timeout=30, check=True
        )
        return done.stdout

    def start(self, command: str) -> None:
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "80", "-y", "24", command)
        self.run("set-option", "-t", "t", "remain-on-exit", "on")

    def screen(self) -> str:
        """The pane's text with every run of spaces and line breaks as one space (Textual wraps
        the status line at 80 columns wherever its words fall)."""
        return " ".join(self.run("capture-pane", "-p", "-J", "-t", "t").split())

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def wait_for(self, seen: Callable[[str], bool], what: str, bound: float = 30.0) -> str:
        deadline = time.monotonic() + bound
        while True:
            text = self.screen()
            if seen(text):
                return text
            assert time.monotonic() < deadline, f"{what}: not within {bound:g} s; the screen:\n{text}"
            time.sleep(0.2)

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", str(self.sock), "kill-server"], capture_output=True, env=self.env, timeout=30)


@pytest.fixture
def beside(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, runtime: Path
) -> Iterator[tuple[Tmux, dict[str, str]]]:
    """The signed-in vault (``tools``, an MCP server's credential) with short idle times, an
    unlocked agent process, and a tmux server whose processes have no passphrase."""
    _url, _seen, bridge_env = signed_in
    (home / "vault.toml").write_text(f'lock_after = "{AGENT_IDLE}s"\n')
    (home / "tui.toml").write_text(f'auto_lock_after = "{VIEW_IDLE}s"\n')
    with_pass = {name: value for name, value in bridge_env.items() if name != "TOKENDECK_NO_AGENT"}
    started = tokendeck(with_pass, "agent", "start")
    assert started.returncode == 0, started.stderr
    env = {name: value for name, value in with_pass.items() if "PASSPHRASE" not in name}
    tmux = Tmux(runtime / "tmux.sock", env)
    try:
        yield tmux, env
    finally:
        tmux.kill()
        tokendeck(env, "agent", "stop")


def agent_log(home: Path) -> str:
    path = Path(wire.socket_path(str(home))[:-5] + ".log")
    return path.read_text() if path.exists() else ""


def agent_state(env: dict[str, str]) -> int:
    return tokendeck(env, "agent", "status").returncode  # 0 unlocked, 3 locked


def test_an_idle_tui_locks_its_view_the_bridge_beside_it_never_fails_then_the_agent_locks_for_idle(
    beside: tuple[Tmux, dict[str, str]], home: Path, tmp_path: Path
) -> None:
    tmux, env = beside
    pid = wire.call("ping", opt_out=False)[1]  # type: ignore[index]
    tmux.start(f"{TOKENDECK}; sleep 600")
    # It joins the unlocked agent: no passphrase is asked, and it says so.
    joined = f"unlocked and refreshed by the agent (pid {pid})"
    screen = tmux.wait_for(lambda s: "tools" in s and joined in s, "the joined list")
    assert "passphrase" not in screen.lower()

    # A bridge session runs beside the idle TUI for longer than both idle times.
    outcome: list[tuple[int, list[str]]] = []
    errors: list[BaseException] = []

    def session() -> None:
        try:
            outcome.append(anyio.run(echo_for, env, tmp_path / "bridge.err", BRIDGE_SECONDS, 0.5))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    bridge = threading.Thread(target=session, daemon=True)
    started = time.monotonic()
    bridge.start()

    # The TUI, left alone, hides its view after its own idle time...
    locked = tmux.wait_for(lambda s: "The vault is locked." in s, "the view lock", bound=VIEW_IDLE + 10)
    assert f"Locked automatically after {VIEW_IDLE}s without a key press." in locked
    assert "tools" not in locked  # nothing of the list is left on the screen
    assert f"The agent (pid {pid}) is unlocked" in locked, locked
    # ...and the agent stays unlocked while the bridge serves calls, past the agent's own idle time.
    assert agent_state(env) == 0
    while bridge.is_alive():
        assert "locked (" not in agent_log(home), agent_log(home)
        time.sleep(0.5)
    assert not errors, errors
    calls, failed = outcome[0]
    assert time.monotonic() - started > AGENT_IDLE + VIEW_IDLE
    # A call every 0.5 s asked for; on a loaded machine fewer are made, none may fail.
    assert calls >= BRIDGE_SECONDS / 0.5 * 0.4 and failed == [], (calls, failed)
    assert "locked (" not in agent_log(home)

    # The bridge is done and the TUI idle: the agent locks after its own idle time, and says why.
    ended = time.monotonic()
    deadline = ended + AGENT_IDLE + 10
    while "locked (" not in agent_log(home):
        assert time.monotonic() < deadline, agent_log(home)
        time.sleep(0.2)
    assert time.monotonic() - ended >= AGENT_IDLE - 1  # not before its time
    assert f"locked (idle after {AGENT_IDLE}s without a request)" in agent_log(home)
    assert agent_state(env) == 3

    # Quitting says what keeps running.
    tmux.keys("C-q")
    after = tmux.wait_for(lambda s: "tokendeck: the agent" in s, "the words after quitting")
    assert f"tokendeck: the agent (pid {pid}) keeps running, locked: tokendeck unlock" in after


def test_quitting_the_tui_says_the_agent_keeps_the_vault_unlocked_and_until_when(
    beside: tuple[Tmux, dict[str, str]],
) -> None:
    tmux, _env = beside
    pid = wire.call("ping", opt_out=False)[1]  # type: ignore[index]
    tmux.start(f"{TOKENDECK}; sleep 600")
    tmux.wait_for(lambda s: f"unlocked and refreshed by the agent (pid {pid})" in s, "the joined list")
    tmux.keys("C-q")
    after = tmux.wait_for(lambda s: "tokendeck: the agent" in s, "the words after quitting")
    words = re.search(
        rf"tokendeck: the agent \(pid {pid}\) keeps the vault unlocked until (\d\d):(\d\d)(?::\d\d)? "
        rf"\(after {AGENT_IDLE}s without a request\), or tokendeck lock",
        after,
    )
    assert words, after
