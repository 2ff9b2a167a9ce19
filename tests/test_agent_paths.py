"""Issue 29: where the agent's socket is, found from the user id alone, so that a process
started with a stripped environment (an MCP client starting ``tokendeck mcp-bridge`` with
only ``HOME``, ``LANG``, ``PATH``, ``SHELL``, ``TERM``) meets an agent started in a full
desktop session (``XDG_RUNTIME_DIR``, ``TMPDIR``, ``XDG_DATA_HOME``... set)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from vault.agent import wire

TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
PASS = "paths test passphrase"
STRIPPED = ("HOME", "LANG", "PATH", "SHELL", "TERM")
"""The variables issue 29 found Codex CLI passing to an MCP server (a subset of its list)."""


def socket_path_in(env: Mapping[str, str], home: str) -> str:
    """``wire.socket_path(home)`` as a new process with exactly ``env`` computes it."""
    code = f"from vault.agent import wire; print(wire.socket_path({home!r}))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def full_desktop(tmp_path: Path) -> dict[str, str]:
    """This test's environment as a desktop session has it, without the suite's override."""
    env = {k: v for k, v in os.environ.items() if k != "TOKENDECK_RUNTIME_DIR"}
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    long_tmp = tmp_path / "var" / "folders" / ("x" * 40) / "T"  # as long as macOS's $TMPDIR, and more
    long_tmp.mkdir(parents=True, exist_ok=True)
    return {**env, "XDG_RUNTIME_DIR": str(runtime), "TMPDIR": str(long_tmp), "XDG_DATA_HOME": str(tmp_path / "d")}


def test_every_environment_gives_the_same_socket_path(tmp_path: Path) -> None:
    full = full_desktop(tmp_path)
    stripped = {k: full[k] for k in STRIPPED if k in full}
    sdk_default: dict[str, str] = {
        k: full[k] for k in ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER") if k in full
    }
    home = str(tmp_path / "vault")
    environments: list[dict[str, str]] = [full, stripped, sdk_default, {"PATH": os.defpath}]
    paths = {socket_path_in(env, home) for env in environments}
    assert len(paths) == 1, paths
    (path,) = paths
    uid = os.getuid()
    logind = f"/run/user/{uid}"
    expected = f"{logind}/tokendeck" if wire.private_dir_problem(logind) is None else f"/tmp/tokendeck-{uid}"  # noqa: S108
    assert path == f"{expected}/{wire.agent_id(home)}.sock"
    assert len(os.fsencode(path)) <= 60  # far below a Unix socket's ~104 bytes, on every platform


def test_logind_runtime_directory_is_used_only_when_it_is_private_and_ours(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``/run/user/UID`` (here a stand-in root, the one constant a test can move) is used when
    it is this user's and closed to others, and never otherwise."""
    monkeypatch.delenv("TOKENDECK_RUNTIME_DIR")
    root = tmp_path / "run-user"
    monkeypatch.setattr(wire, "USER_RUNTIME_ROOT", str(root))
    fallback = os.path.join(wire.SHARED_TMP, f"tokendeck-{os.getuid()}")
    assert wire.runtime_dir() == fallback  # none
    session = root / str(os.getuid())
    session.mkdir(parents=True, mode=0o700)
    session.chmod(0o700)
    assert wire.runtime_dir() == str(session / "tokendeck")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    assert wire.runtime_dir() == str(session / "tokendeck")  # no variable moves it
    session.chmod(0o755)
    assert wire.runtime_dir() == fallback  # others may enter: not used
    session.chmod(0o700)
    if os.getuid() == 0:
        os.chown(session, 65534, 65534)
        assert wire.runtime_dir() == fallback  # someone else's: not used


@contextlib.contextmanager
def agent_files_removed(home: str) -> Iterator[None]:
    """The test's agent lives in this user's real runtime directory: remove what it leaves."""
    try:
        yield
    finally:
        base = os.path.join(os.path.dirname(wire.pid_path(home)), wire.agent_id(home))
        for suffix in (".pid", ".log", ".log.1"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(base + suffix)


def test_an_agent_from_a_desktop_session_serves_a_process_with_five_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vault in the default home (``HOME`` only), its agent started in a full desktop
    environment; ``tokendeck token`` with nothing but HOME, LANG, PATH, SHELL and TERM (no
    passphrase: only the agent has the key) gets the token from it."""
    monkeypatch.delenv("TOKENDECK_RUNTIME_DIR")  # the real per-user directory, as in use
    user_home = tmp_path / "user"
    user_home.mkdir()
    full = {
        **full_desktop(tmp_path),
        "HOME": str(user_home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    del full["TOKENDECK_HOME"], full["XDG_DATA_HOME"]
    stripped = {k: full[k] for k in STRIPPED if k in full}
    home = str(user_home / ".local" / "share" / "tokendeck")
    if sys.platform == "darwin":
        home = str(user_home / "Library" / "Application Support" / "tokendeck")

    def run(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([TOKENDECK, *argv], env=env, input=stdin, capture_output=True, text=True, timeout=120)

    assert run(full, "init", "--passphrase").returncode == 0
    assert run(full, "add", "gh", "--provider", "github-pat", stdin="ghp_fromTheAgent1\n").returncode == 0
    assert os.path.exists(os.path.join(home, "vault.db"))
    locked = run(stripped, "token", "gh")
    assert locked.returncode == 3 and locked.stdout == ""  # no agent yet, no passphrase: locked
    with agent_files_removed(home):
        assert run(full, "agent", "start").returncode == 0
        try:
            got = run(stripped, "token", "gh")
            assert got.returncode == 0 and got.stdout == "ghp_fromTheAgent1\n", got.stderr
            status = run(stripped, "agent", "status")
            assert status.returncode == 0 and wire.socket_path(home) in status.stdout
        finally:
            run(full, "agent", "stop")
        assert not os.path.exists(wire.socket_path(home))
