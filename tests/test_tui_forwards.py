"""Issue 19, step 5: the TUI shows the agent's active forwards and ends one.

A real agent in this process with a forward opened as ``tokendeck ssh`` opens it; the TUI
(Pilot) on the same vault; the remote end is the real CLI with ``TOKENDECK_AGENT_SOCK``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

import vault
from screens.dialogs.forwards import ForwardsScreen
from screens.main import make_app
from tests.test_agent import PASSPHRASE, Running, wait_until
from tests.test_forwarding import agent, clock, on_remote, open_forward, remote  # noqa: F401 - fixtures
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio


async def test_the_forwards_screen_lists_a_forward_and_x_ends_it(
    agent: Running,  # noqa: F811
    remote: Path,  # noqa: F811
    home: Path,
    clock: FrozenClock,  # noqa: F811
) -> None:
    sock = open_forward("devbox", "a", "b")
    assert on_remote(remote, sock, "token", "a").returncode == 0
    with vault.open_vault(home, PASSPHRASE, clock=clock) as v:
        app = make_app(v, clock)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("F")
            screen = app.screen
            assert isinstance(screen, ForwardsScreen)
            table = screen.query_one("#forwards", DataTable)
            deadline = time.monotonic() + 10
            while table.row_count == 0 and time.monotonic() < deadline:
                await pilot.pause(0.05)
            assert [str(c) for c in table.get_row_at(0)] == ["devbox", "a, b", "1", "with the session"]
            await pilot.press("x")
            await app.workers.wait_for_complete()
            wait_until(lambda: not os.path.exists(sock), "the ended forward's socket to go")
            while table.row_count and time.monotonic() < deadline:
                await pilot.pause(0.05)
            assert table.row_count == 0
            assert "No active forwards" in str(screen.query_one("#forwards-note").render())
            await pilot.press("escape")
            assert not isinstance(app.screen, ForwardsScreen)
    assert on_remote(remote, sock, "token", "a").returncode == 3


@pytest.mark.parametrize(("key", "code"), [("y", 0), ("n", 5)], ids=["allow", "deny"])
async def test_a_confirm_question_is_asked_in_the_tui_and_its_answer_decides(
    agent: Running,  # noqa: F811
    remote: Path,  # noqa: F811
    home: Path,
    clock: FrozenClock,  # noqa: F811
    key: str,
    code: int,
) -> None:
    import threading

    from screens.dialogs.confirm import ConfirmDialog
    from tests.test_forwarding import A_TOKEN
    from vault.agent import wire

    answer = wire.call("forward-open", "devbox", "", "", "confirm", "a", opt_out=False)
    assert answer is not None and answer[0] == "0"
    done: list[object] = []
    with vault.open_vault(home, PASSPHRASE, clock=clock) as v:
        app = make_app(v, clock, start_agent=True)
        async with app.run_test(size=(100, 30)) as pilot:
            deadline = time.monotonic() + 20
            while app.agent_pid is None and time.monotonic() < deadline:
                await pilot.pause(0.05)
            asking = threading.Thread(target=lambda: done.append(on_remote(remote, answer[2], "token", "a")))
            asking.start()
            while not isinstance(app.screen, ConfirmDialog) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            dialog = app.screen
            assert isinstance(dialog, ConfirmDialog) and dialog.question == "devbox asks for a"
            await pilot.press(key)
            asking.join(30)
    (result,) = done
    assert result.returncode == code  # type: ignore[attr-defined]
    assert (result.stdout == A_TOKEN + "\n") is (code == 0)  # type: ignore[attr-defined]


async def test_a_session_is_listed_beside_the_forwards_and_x_ends_it(
    agent: Running,  # noqa: F811
    home: Path,
    clock: FrozenClock,  # noqa: F811
) -> None:
    """A session (tokendeck exec --session) is a forward's view kept for a local process tree: the
    Forwards screen names it as one, says it lasts as long as its command, and x ends it."""
    import subprocess

    from vault.core.peers import peer

    command = subprocess.Popen(["sleep", "60"])
    try:
        root = peer(command.pid)
        assert root is not None
        session_id, _ = agent.agent.open_session("exec", "claude", ["a"], None, (root.pid, root.start))
        with vault.open_vault(home, PASSPHRASE, clock=clock) as v:
            app = make_app(v, clock)
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.press("F")
                screen = app.screen
                assert isinstance(screen, ForwardsScreen)
                table = screen.query_one("#forwards", DataTable)
                deadline = time.monotonic() + 10
                while table.row_count == 0 and time.monotonic() < deadline:
                    await pilot.pause(0.05)
                assert [str(c) for c in table.get_row_at(0)] == [
                    f"session {session_id} (claude)",
                    "a",
                    "0",
                    "with its command",
                ]
                await pilot.press("x")
                await app.workers.wait_for_complete()
                while table.row_count and time.monotonic() < deadline:
                    await pilot.pause(0.05)
                assert table.row_count == 0
        time.sleep(0.2)  # housekeeping runs every 0.05 s here: the ended session is not forgotten...
        view = agent.agent.session_view(command.pid)
        assert view is not None and view[1].over(clock.now())  # ...and serves its running command nothing
    finally:
        command.kill()
        command.wait()


async def test_a_proxy_runs_session_says_its_tokens_go_through_the_proxy(
    agent: Running,  # noqa: F811
    home: Path,
    clock: FrozenClock,  # noqa: F811
) -> None:
    """A proxy run's session may read nothing directly: MAY READ says so (it was empty)."""
    import subprocess

    from vault.core.peers import peer

    command = subprocess.Popen(["sleep", "60"])
    try:
        root = peer(command.pid)
        assert root is not None
        session_id, _ = agent.agent.open_session("proxy", "claude", [], None, (root.pid, root.start))
        with vault.open_vault(home, PASSPHRASE, clock=clock) as v:
            app = make_app(v, clock)
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.press("F")
                table = app.screen.query_one("#forwards", DataTable)
                deadline = time.monotonic() + 10
                while table.row_count == 0 and time.monotonic() < deadline:
                    await pilot.pause(0.05)
                row = [str(c) for c in table.get_row_at(0)]
                assert row[:2] == [f"session {session_id} (claude)", "none directly: through the proxy"], row
    finally:
        command.kill()
        command.wait()
