"""Starting and stopping the agent process.

:func:`start` takes the agent's lock file (so a second agent for the same vault is
refused), then starts the agent as a new interpreter whose environment holds nothing that
unlocks the vault; the key goes over a pipe.  The agent binds the socket and says so on
another pipe before the parent returns, so when ``tokendeck agent start`` returns 0 the
agent is answering.
With ``foreground`` it serves in this process instead (systemd units, tests).
:func:`start_in_background` is how the TUI starts one: ``tokendeck agent start`` in
a child, the passphrase on its stdin, never in argv.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vault.agent import wire
from vault.errors import AgentRunning, VaultError
from vault.settings import (
    AGENT_START_TIMEOUT,
    AGENT_STOP_WAIT,
    HOME_ENV,
    SESSION_BUS_ENV,
    SLACK,
    unlocks_vault,
)

if TYPE_CHECKING:
    from vault.agent.server import Agent
    from vault.core.paths import VaultPaths
    from vault.core.unlocking import Unlocked
    from vault.services.tokens import Vault

Log = Callable[[str], None]


@dataclass(frozen=True)
class Launch:
    """What ``agent start`` settled in the foreground, for the agent process to serve with."""

    paths: VaultPaths
    unlocked: Unlocked
    """The proven key (derived: the agent never sees a passphrase) and the vault's description."""
    pid_fd: int
    """The agent's lock file, flock-ed: held for as long as the agent lives."""
    lock_after: float | None
    interval: float
    follow_policy: bool = False
    """``lock_after`` came from the vault's ``vault.toml`` (no ``--lock-after``): the agent
    follows the file's changes while it runs (:func:`follow_policy`)."""


def take_lock(home: str) -> int:
    """The agent's lock file, locked; refuses when another agent holds it.

    Raises:
        AgentRunning: another agent holds it.
        VaultError: the runtime directory is not private, or the socket path is too long.
    """
    directory = wire.runtime_dir()
    with contextlib.suppress(FileExistsError):
        os.makedirs(directory, mode=0o700)
    problem = wire.private_dir_problem(directory)
    if problem:
        raise VaultError(f"cannot use {directory} for the agent's socket: {problem}")
    path = wire.socket_path(home)
    if len(os.fsencode(path)) > 100:
        raise VaultError(f"the socket path {path} is too long for a Unix socket")
    fd = os.open(wire.pid_path(home), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise AgentRunning(f"an agent is already running for this vault (pid {pid})") from None
    return fd


def start(launch: Launch, home: str, *, foreground: bool) -> int:
    """Serve in this process (``foreground``), or start an agent process and return its PID
    once it answers.

    The agent is a fresh interpreter, not a fork: its environment (the kernel's copy, the
    one ``/proc/PID/environ`` shows) has no variable that unlocks the vault, and the key
    reaches it on a pipe.

    Raises:
        VaultError: the agent did not start (the message says why).
    """
    if foreground:
        return serve(launch, ready_fd=None, log=stderr_log)
    import json
    import subprocess

    read_end, write_end = os.pipe()
    key_read, key_write = os.pipe()
    handover = {
        "home": str(launch.paths.home),
        "key": launch.unlocked.key.secret.reveal(),
        "salt": launch.unlocked.key.salt.hex(),
        "pid_fd": launch.pid_fd,
        "ready_fd": write_end,
        "lock_after": launch.lock_after,
        "interval": launch.interval,
        "follow_policy": launch.follow_policy,
    }
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    entry = f"import sys; sys.path.insert(0, {package_root!r}); from vault.agent.launch import daemon; daemon()"
    try:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", entry],
            stdin=key_read,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=agent_environment(os.environ, launch.paths.home),
            cwd="/",
            pass_fds=(launch.pid_fd, write_end),
            start_new_session=True,
        )
    except OSError as exc:
        raise VaultError(f"the agent did not start: {exc.strerror}") from None
    finally:
        os.close(key_read)
        os.close(write_end)
        os.close(launch.pid_fd)  # the child's copy keeps the lock
    with os.fdopen(key_write, "wb") as pipe, contextlib.suppress(BrokenPipeError):
        pipe.write(json.dumps(handover).encode())
    status = _wait_ready(read_end)
    if status != "ok":
        raise VaultError(f"the agent did not start: {status or 'it exited'}")
    return child.pid


def agent_environment(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """The agent's environment: the caller's, with the vault home made absolute and without
    any variable that may unlock the vault (:func:`~vault.settings.unlocks_vault`)."""
    env = {name: value for name, value in environ.items() if not unlocks_vault(name)}
    env[HOME_ENV] = str(home)
    return env


def daemon() -> None:  # pragma: no cover - runs in the agent process; tests see it through the socket
    """The agent process's entry point: read the handover on stdin, detach, serve."""
    import json

    from vault.core.keys import DatabaseKey, VaultMeta
    from vault.core.paths import resolve_home
    from vault.core.process import keep_secrets_out_of_dumps
    from vault.core.secret import Secret
    from vault.core.unlocking import Unlocked

    keep_secrets_out_of_dumps()  # before the key arrives
    handover = json.loads(sys.stdin.buffer.read())
    ready_fd = int(handover["ready_fd"])
    key = DatabaseKey(Secret(handover.pop("key")), bytes.fromhex(handover["salt"]))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    home = wire.home_dir()
    log = AgentLog(wire.socket_path(home)[:-5] + ".log")
    try:
        paths = resolve_home(handover["home"])
        unlocked = Unlocked(key, VaultMeta.read(paths.meta))
        launch = Launch(paths, unlocked, int(handover["pid_fd"]), handover["lock_after"], handover["interval"],
                        bool(handover.get("follow_policy")))  # fmt: skip
        code = serve(launch, ready_fd=ready_fd, log=log)
    except BaseException as exc:  # noqa: BLE001 - tell the parent why, in words without secrets
        message = exc.message if isinstance(exc, VaultError) else type(exc).__name__
        with contextlib.suppress(OSError):
            os.write(ready_fd, message.encode(errors="replace"))
        log(f"failed to start: {message}")
        code = 1
    os._exit(code)


MAX_LOG_BYTES = 1024 * 1024
"""The agent's log is rotated past this size: it becomes ``.log.1`` (the one before is dropped)."""


class AgentLog:
    """The agent's log beside its socket: a line per event, never a token, created 0600;
    past ``limit`` bytes it becomes ``PATH.1`` and a new one starts, so it never grows
    without bound (one line per refresh, for as long as the agent lives)."""

    def __init__(self, path: str, limit: int = MAX_LOG_BYTES) -> None:
        import threading

        self.path = path
        self.limit = limit
        self._lock = threading.Lock()
        self._fd = self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)

    def __call__(self, line: str) -> None:
        data = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n".encode(errors="replace")
        with self._lock, contextlib.suppress(OSError):
            if os.fstat(self._fd).st_size + len(data) > self.limit:
                os.replace(self.path, self.path + ".1")
                os.close(self._fd)
                self._fd = self._open()
            os.write(self._fd, data)


def serve(launch: Launch, *, ready_fd: int | None, log: Log) -> int:
    """Open the vault, listen, and serve until SIGTERM, SIGINT or ``agent stop``."""
    import signal

    from vault.agent.server import Agent
    from vault.core.process import keep_secrets_out_of_dumps
    from vault.services.opening import open_unlocked, open_vault

    keep_secrets_out_of_dumps()  # it holds the key for as long as it lives
    for name in [name for name in os.environ if unlocks_vault(name)]:
        del os.environ[name]  # in the foreground; a locked agent must be handed the passphrase again
    vault = open_unlocked(launch.paths, launch.unlocked)
    vault.records.verify()  # every page, once: an agent serves for hours
    os.ftruncate(launch.pid_fd, 0)
    os.write(launch.pid_fd, f"{os.getpid()}\n".encode())

    def reopen(passphrase: str | None) -> Vault:
        return open_vault(launch.paths.home, passphrase, env={}, prompt=None)

    agent = Agent(
        vault,
        wire.socket_path(wire.home_dir()),
        reopen=reopen,
        lock_after=launch.lock_after,
        refresh_interval=launch.interval,
        notify=desktop_notify,
        log=log,
    )
    agent.listen()
    if launch.follow_policy:
        import threading

        threading.Thread(target=follow_policy, args=(agent, launch.paths, log), daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent.stop())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if ready_fd is not None:
        os.write(ready_fd, b"ok")
        os.close(ready_fd)
    agent.serve()
    os.ftruncate(launch.pid_fd, 0)
    os.close(launch.pid_fd)
    return 0


POLICY_CHECK_SECONDS = 2.0
"""How often a running agent looks whether ``vault.toml`` changed."""


def follow_policy(agent: Agent, paths: VaultPaths, log: Log, every: float = POLICY_CHECK_SECONDS) -> None:
    """Keep ``agent.lock_after`` to the vault's policy while the agent runs (on a thread of its
    own): a changed ``vault.toml`` takes effect within ``every`` seconds, and the log says so;
    one that cannot be read is said once, and the last good value kept."""
    from vault.core.policy import POLICY_FILE, load_policy
    from vault.core.timefmt import duration_text
    from vault.errors import InvalidInput

    def stamp() -> tuple[int, int] | None:
        try:
            st = os.stat(paths.home / POLICY_FILE)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    seen = stamp()
    while True:
        time.sleep(every)
        now = stamp()
        if now == seen:
            continue
        seen = now
        try:
            lock_after = load_policy(paths.home).lock_after
        except InvalidInput as exc:
            log(f"{exc.message}; lock_after stays as it was")
            continue
        if lock_after != agent.lock_after:
            agent.lock_after = lock_after
            log(f"{POLICY_FILE}: lock_after is now {'never' if lock_after is None else duration_text(lock_after)}")


def start_in_background(home: str, passphrase: str | None) -> str | None:
    """Start the agent for ``home`` as ``tokendeck agent start`` would (the TUI's way);
    ``passphrase`` travels on the child's stdin, never in argv.  Returns why it did
    not start, or None."""
    import subprocess

    argv = [sys.executable, "-c", "from vault.cli import run; run()", "agent", "start"]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and entry point
            argv,
            input=(passphrase or "").encode(),
            capture_output=True,
            env={**os.environ, HOME_ENV: home},
            timeout=AGENT_START_TIMEOUT + SLACK,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return type(exc).__name__
    if done.returncode == 0:
        return None
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1].removeprefix("tokendeck: ") if lines else f"exit {done.returncode}"


def _wait_ready(fd: int) -> str:
    deadline = time.monotonic() + AGENT_START_TIMEOUT
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(fd, 512)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data.decode(errors="replace")


def stderr_log(line: str) -> None:
    """One line of the agent's log on stderr; a stderr that cannot be written (a full disk under
    a redirected log) loses the line, never the agent."""
    with contextlib.suppress(OSError, ValueError):
        print(f"tokendeck agent: {line}", file=sys.stderr, flush=True)


def desktop_notify(text: str) -> None:
    """A desktop notification where ``notify-send`` and a session bus exist; else nothing."""
    import shutil
    import subprocess

    exe = shutil.which("notify-send")
    if exe is None or not os.environ.get(SESSION_BUS_ENV):
        return
    with contextlib.suppress(OSError):
        subprocess.Popen(  # noqa: S603 - fixed program; the text holds names and times only
            [exe, "--app-name=tokendeck", "tokendeck", text],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(home: str) -> bool:
    """Ask the agent for ``home`` to stop and wait until it has let go of its lock file.

    Returns whether an agent was running.
    """
    if wire.call("stop", home=home, opt_out=False) is None:
        return False
    deadline = time.monotonic() + AGENT_STOP_WAIT
    while lock_holder(home) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def lock_holder(home: str) -> str | None:
    """The PID in the agent's lock file while some process holds the lock, else None."""
    try:
        fd = os.open(wire.pid_path(home), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.read(fd, 32).decode(errors="replace").strip() or "?"
    finally:
        os.close(fd)
    return None
