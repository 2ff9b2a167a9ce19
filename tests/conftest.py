"""Shared fixtures: every test gets its own vault home, an in-memory keyring and a
cheap KDF, so nothing touches the developer's real vault or keyring."""

from __future__ import annotations

import webbrowser
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from tests.support.authserver import AuthServer, running_auth_server
from tests.support.cli import CliRunner
from tests.support.fake_browser import browser_command
from tests.support.memory_keyring import MemoryKeyring
from vault import Vault
from vault.core import keys
from vault.core.clock import FrozenClock

PASSPHRASE_VARS = (
    "TOKENDECK_PASSPHRASE",
    "TOKENDECK_PASSPHRASE_FILE",
    "TOKENDECK_PASSPHRASE_COMMAND",
    "TOKENDECK_NEW_PASSPHRASE",
)

pytest_plugins = [
    "tests.support.export",
    "tests.support.live",
    "tests.support.oidc_provider",
    "tests.support.oidc_mcp",
    "tests.support.bridge",
]
"""Fixtures shared by several test modules (``ready`` for the export tests, ``live_env``,
``oidc_provider`` and ``oidc_mcp_server`` for the interoperability tier, ``signed_in`` for
the MCP bridge tests)."""

TEST_KDF_ITER = 2
"""The one place the KDF cost is lowered: for vaults tests create in-process (``vault.json``
records it, so processes opening them pay the same).  ``tokendeck init`` run as a process
makes vaults at SQLCipher's default cost."""


TIERS: dict[str, frozenset[str]] = {
    "interop": frozenset(
        {
            "test_fault_injection.py",  # libfiu, and the Node oidc-provider
            "test_interop_conformance.py",
            "test_interop_oidc.py",
            "test_interop_oidc_mcp.py",
            "test_interop_oidc_mcp_login.py",
            "test_interop_proxy_oauth.py",  # the Node oidc-provider; tokendeck proxy run as a process
            "test_interop_restore.py",  # the Node oidc-provider and the agent as processes
            "test_proxy_node.py",  # Node 22's fetch through the real proxy run
            "test_readme_examples.py",  # tmux and the README's commands as processes
            "test_ssh.py",  # a real sshd on loopback
            "test_tui_idle_tmux.py",  # tmux
            "test_tui_outage_tmux.py",  # tmux, the agent and the loopback authorization server
        }
    ),
    "process": frozenset(
        {
            "test_agent_cli.py",
            "test_agent_idle_rule.py",
            "test_agent_lifetimes.py",
            "test_agent_paths.py",
            "test_agent_starvation.py",
            "test_agent_writes.py",
            "test_completion.py",
            "test_exec.py",
            "test_exec_mask.py",  # exec with a Python child writing its token in pieces
            "test_exec_mask_agent.py",  # exec masked through a real agent, and as a session
            "test_sessions.py",  # a real agent, and process trees that fork, double-fork and setsid
            "test_consent_terminal.py",  # a real agent, exec --session --confirm in a pty
            "test_consent_setting.py",  # a real agent, tokendeck confirm, readers in a pty
            "test_consent_desktop.py",  # a private dbus-daemon, a real agent, a notification server
            "test_consent_proxy.py",  # proxy run --confirm as installed, a real agent, a stand-in provider
            "test_sandbox.py",  # the README's bubblewrap session: a real agent and bwrap
            "test_agent_memory.py",  # the agent and a reader as an unprivileged user (setpriv)
            "test_readers.py",  # a real agent and each kind of reader as a process
            "test_faults.py",  # a SIGKILL at every step of every write, in real processes
            "test_mcp_bridge.py",
            "test_mcp_bridge_env.py",
            "test_mcp_bridge_failures.py",
            "test_mcp_bridge_stepup.py",
            "test_os_errors.py",  # strace's fault injection on real processes
            "test_processes.py",
            "test_proxy_clients.py",  # curl, git, gh, requests and httpx through the real proxy run
            "test_proxy_agent.py",  # the installed proxy run through a running agent
            "test_proxy_engine.py",  # curl and git as processes through the proxy
            "test_proxy_runs_agent.py",
            "test_refresh_processes.py",
            "test_restore_faults.py",
            "test_scan.py",  # the installed tokendeck scan on a seeded home, git as a process
            "test_scan_fix.py",  # tokendeck scan --fix in a pty, the loopback server, the fake browser
        }
    ),
    "tui": frozenset(
        {
            "test_credential_table.py",
            "test_rotate.py",
            "test_snapshots.py",
            "test_snapshots_export.py",
            "test_snapshots_help.py",
            "test_snapshots_list.py",
            "test_snapshots_proxy_runs.py",
            "test_tui.py",
            "test_tui_add_form.py",
            "test_tui_agent.py",
            "test_tui_app.py",
            "test_tui_detail.py",
            "test_tui_export.py",
            "test_tui_failures.py",
            "test_tui_first_run_agent.py",
            "test_tui_forwards.py",
            "test_tui_consent.py",
            "test_tui_idle_rule.py",
            "test_tui_help.py",
            "test_tui_keys.py",
            "test_tui_title_header.py",
            "test_tui_leaks.py",
            "test_tui_leaks_signin.py",
            "test_tui_list_layout.py",
            "test_tui_live.py",
            "test_tui_mcp_signin.py",
            "test_tui_no_echo.py",
            "test_tui_no_none.py",
            "test_tui_order.py",
            "test_tui_proxy_runs.py",
            "test_tui_reload_keeps.py",
            "test_tui_restore_hold.py",
            "test_tui_signin.py",
            "test_tui_undo.py",
            "test_tui_used_by.py",
            "test_tui_small_words.py",
            "test_tui_verify.py",
        }
    ),
}
"""The suite's tiers, by file: ``make check`` runs ``-m "not (process or tui or interop or slow)"``,
``make test`` runs everything.  ``process``: the file's tests start ``tokendeck`` (or the agent,
or the bridge) as real processes; ``tui``: they drive the Textual app (Pilot or snapshots);
``interop``: they need the interoperability tier (Node's oidc-provider and conformance suite,
tmux, libfiu, sshd).  ``slow`` is set in the files themselves (a wheel build, system daemons).
A test in another file that uses an interop fixture (:data:`INTEROP_FIXTURES`) is ``interop`` too."""

INTEROP_FIXTURES = frozenset({"oidc_provider", "oidc_mcp_server", "live_env"})

ONE_AT_A_TIME = frozenset(
    {
        "test_agent_idle_rule.py",  # real-time agent tests: seconds measured on the wall clock
        "test_agent_lifetimes.py",
        "test_agent_paths.py",  # the default runtime directory
        "test_agent_starvation.py",
        "test_keyring_secret_service.py",  # a real gnome-keyring on a D-Bus session
        "test_packaging.py",  # a wheel build and pipx
        "test_readme_examples.py",  # tmux, sshd
        "test_tui_agent.py",
        "test_tui_first_run_agent.py",
        "test_tui_idle_rule.py",
        "test_tui_idle_tmux.py",
        "test_tui_live.py",
    }
)
"""Files whose tests share one ``pytest -n`` worker (``--dist loadgroup``), so two of them never
run at once: they keep time on the wall clock or use a resource of the whole machine."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its file's tier (:data:`TIERS`) and, for ``pytest -n``, its group
    (:data:`ONE_AT_A_TIME`)."""
    for item in items:
        name = item.path.name
        for marker, files in TIERS.items():
            if name in files:
                item.add_marker(marker)
        if INTEROP_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker("interop")
        if name in ONE_AT_A_TIME:
            item.add_marker(pytest.mark.xdist_group("one-at-a-time"))


@pytest.fixture(autouse=True, scope="session")
def no_controlling_terminal() -> None:
    """Tests run as under CI whatever terminal pytest was started from: the test process gives
    up its controlling terminal, so the commands it starts find none (``/dev/tty`` fails) and a
    passphrase prompt never waits on the developer's keyboard.  A test that wants a terminal
    gives its child a pty of its own (``tests/support/terminal.py``)."""
    import fcntl
    import os
    import termios

    if os.getsid(0) == os.getpid():  # a session leader would hang up its whole terminal: leave it
        return
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:  # none already (CI)
        return
    try:
        fcntl.ioctl(fd, termios.TIOCNOTTY)
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: Path) -> Path:
    """A fresh, not yet created, ``TOKENDECK_HOME`` and a scrubbed environment."""
    path = tmp_path / "home"
    monkeypatch.setenv("TOKENDECK_HOME", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for var in PASSPHRASE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(keys, "KDF_ITER", TEST_KDF_ITER)
    monkeypatch.delenv("TOKENDECK_NO_AGENT", raising=False)
    monkeypatch.setenv("TOKENDECK_RUNTIME_DIR", str(runtime / "tokendeck"))  # agent sockets: never the developer's
    return path


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A short private directory for agent sockets (a Unix socket path may not exceed ~100 bytes)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="td-run-", dir="/tmp"))  # noqa: S108 - mkdtemp: unique, 0700
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """The keyring backend for in-process tests."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring's own ``fail`` backend, as on a headless Linux box."""
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``tokendeck`` in-process."""
    return CliRunner(monkeypatch, capsys)


@pytest.fixture
def passphrase_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A passphrase vault's secret in ``TOKENDECK_PASSPHRASE``."""
    value = "correct horse battery staple"
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", value)
    return value


@pytest.fixture
def auth_server() -> Iterator[AuthServer]:
    """A real Authlib authorization server on 127.0.0.1 (PKCE required, rotating refresh tokens)."""
    with running_auth_server() as server:
        yield server
        server.assert_no_server_errors()


@pytest.fixture
def browser_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$BROWSER`` is the fake browser (set ``FAKE_BROWSER_MODE``); read what it saw with read_log()."""
    log = tmp_path / "browser.jsonl"
    monkeypatch.setenv("BROWSER", browser_command())
    monkeypatch.setenv("FAKE_BROWSER_LOG", str(log))
    monkeypatch.setenv("FAKE_BROWSER_MODE", "approve")
    monkeypatch.setenv("FAKE_BROWSER_TIMEOUT", "3")
    # webbrowser reads $BROWSER once per process and caches it: start afresh for each test.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    return log


@pytest.fixture
def anyio_backend() -> str:
    """The Pilot tests run on anyio's pytest plugin, pinned to asyncio (what Textual runs on)."""
    return "asyncio"


@pytest.fixture
def samples() -> Iterator[tuple[Vault, FrozenClock]]:
    """A keyring vault holding the four sample static tokens (:func:`tests.support.tui.add_samples`)
    on a frozen clock, closed after the test."""
    from tests.support.tui import add_samples, new_vault

    vault, clock = new_vault()
    with vault:
        add_samples(vault, clock)
        yield vault, clock
