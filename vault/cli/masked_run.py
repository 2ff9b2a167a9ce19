"""Running a command with the secrets it was given masked in its output: ``tokendeck exec`` (unless
``--no-mask``) and ``tokendeck proxy run`` (issue 37, item 4).

This process stays the command's parent.  The command's stdout and stderr are read here and
written on to this process's own, through one :class:`vault.core.redact.Masker` each (the one
matcher, shared by both commands); its stdin is this process's.  Its stdout is a pipe, or, when
this process's stdout is a terminal, a pseudo-terminal of that terminal's size (kept in step on
SIGWINCH), so a program that colours, pages or draws on a terminal still does; its stderr is
always a pipe (a program such as ``less`` reads its keys from its stderr's terminal, which a
pseudo-terminal written only here would never give it).  Output that cannot be the start of
a secret is written at once; a tail that could be is held until more comes or the command is quiet
for :data:`QUIET` seconds (a prompt appears).  When the command exits, what it wrote is drained:
the pipes are read to their end, or until they have been quiet for :data:`AFTER_EXIT` seconds, and
for :data:`AFTER_EXIT_MOST` seconds at most (a program it left running in the background may hold
them open: what that one writes later is lost; what the command itself wrote, at most a pipe's
buffer once it has exited, is read at once).

Signals, as a shell without job control treats its foreground command:

- on a terminal where this process is in the foreground, the command stays in this process group,
  so what the terminal sends (Ctrl-C, Ctrl-\\, Ctrl-Z and ``fg``, a window resize, a hang-up)
  reaches it directly, once; this process waits for it.  A SIGTERM or SIGHUP sent to this process
  is passed on.
- elsewhere (a pipe, a service, a script) the command gets a process group of its own, and SIGINT,
  SIGTERM, SIGHUP, SIGQUIT, SIGWINCH and SIGCONT sent to this process are passed on to that group;
  SIGTSTP stops the group and then this process.

The exit code is the command's, or 128 + N when signal N ended it (as shells report it).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence

from vault.core.redact import Masker
from vault.errors import CommandNotExecutable, CommandNotFound

QUIET = 0.05
"""Seconds without output after which held bytes (a tail that could begin a secret) are written."""

AFTER_EXIT = 0.2
"""Once the command has exited, seconds of quiet pipes after which the rest is not waited for."""

AFTER_EXIT_MOST = 2.0
"""Once the command has exited, seconds after which its pipes are not read on, quiet or not (a
program it left in the background that keeps writing)."""

READ = 65536

FROM_THE_TERMINAL = (signal.SIGINT, signal.SIGQUIT, signal.SIGWINCH, signal.SIGTSTP, signal.SIGCONT)
"""What a terminal (or the shell's ``fg``) sends to its whole foreground group, the command included."""


def run_masked(
    command: Sequence[str], env: Mapping[str, str], secrets: Iterable[str], more: list[str] | None = None
) -> int:
    """Run ``command`` with ``env`` to its end, ``secrets`` masked in its stdout and stderr; its exit code.
    ``more``, a list another thread may append to (a token refreshed while the command runs), is
    masked too, each value from the first read after it was added.

    Raises:
        CommandNotFound, CommandNotExecutable: it could not be started.
    """
    values = [s for s in secrets if s]
    streams = _Streams({})
    sys.stdout.flush()
    sys.stderr.flush()
    foreground = _in_the_foreground()
    out_r, out_w = _output_for(1)
    err_r, err_w = os.pipe()  # never a pseudo-terminal: programs read keys from their stderr's terminal (less)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    target: list[int] = []  # the pid, or minus the process group, signals are passed on to

    def pass_on(signum: int, frame: object) -> None:
        if target:
            with contextlib.suppress(ProcessLookupError):
                _send(target[0], signum)

    def stop_too(signum: int, frame: object) -> None:
        pass_on(signum, frame)
        os.kill(os.getpid(), signal.SIGSTOP)

    def resized(signum: int, frame: object) -> None:
        for fd, pty in ((1, out_r), (2, err_r)):
            if pty not in streams.closed:
                _same_size(fd, pty)  # a pseudo-terminal's size is set on either side
        if not foreground:
            pass_on(signum, frame)

    handlers: dict[int, object] = {signal.SIGCHLD: _nothing, signal.SIGTERM: pass_on, signal.SIGHUP: pass_on}
    if foreground:
        handlers.update({signal.SIGINT: _nothing, signal.SIGQUIT: _nothing})  # the terminal told it too
    else:
        handlers.update({sig: pass_on for sig in FROM_THE_TERMINAL if sig != signal.SIGTSTP})
        handlers[signal.SIGTSTP] = stop_too
    handlers[signal.SIGWINCH] = resized
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}  # type: ignore[arg-type]
    previous_wakeup = signal.set_wakeup_fd(wake_w)
    process = sys.modules.get("vault.core.process")
    if process is not None:
        process.restore_core_limit()  # the command's own; this process stays undumpable (prctl)
    try:
        try:
            child = subprocess.Popen(  # noqa: S603 - running the user's command is the point
                list(command),
                env=dict(env),
                stdout=out_w,
                stderr=err_w,
                process_group=None if foreground else 0,
                close_fds=False,  # what it was given (3<file) it keeps, as with exec; ours are not inheritable
            )
        except OSError as exc:
            raise cannot_start(exc, command[0]) from None
        finally:
            os.close(out_w)
            os.close(err_w)
        target.append(child.pid if foreground else -child.pid)
        streams = _Streams({out_r: (1, Masker(values)), err_r: (2, Masker(values))})
        status = _relay(child.pid, streams, wake_r, more)
        if status is None:
            _, status = os.waitpid(child.pid, 0)
        child.returncode = code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code
    finally:
        signal.set_wakeup_fd(previous_wakeup)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for fd in (out_r, err_r, wake_r, wake_w):
            if fd not in streams.closed:
                os.close(fd)


class _Streams:
    """The command's pipes still read, each with the descriptor it is written on and its masker."""

    def __init__(self, streams: dict[int, tuple[int, Masker]]) -> None:
        self.open = streams
        self.closed: set[int] = set()  # closed early here (their reader went away): not to be closed twice

    def write_on(self, fd: int, data: bytes) -> None:
        """Write ``data`` to the stream's own output; when that is closed (a reader that went away),
        stop reading the command's pipe, so its next write there fails as it would have."""
        if fd not in self.open or not data:
            return
        out = self.open[fd][0]
        view = memoryview(data)
        try:
            while view:
                try:
                    view = view[os.write(out, view) :]
                except BlockingIOError:  # an output left non-blocking by whoever opened it
                    select.select([], [out], [])
        except OSError:  # EPIPE, a full disk, a closed descriptor: nothing more can go there
            del self.open[fd]
            os.close(fd)
            self.closed.add(fd)

    def flush(self) -> None:
        for fd, (_, masker) in list(self.open.items()):
            self.write_on(fd, masker.flush())


def _relay(pid: int, streams: _Streams, wake: int, more: list[str] | None) -> int | None:
    """Copy the command's output through the maskers until its pipes end (or, once it has
    exited, go quiet); its wait status once it has exited, else None."""
    status: int | None = None
    known = 0
    exited = 0.0
    while streams.open:
        if status is not None and time.monotonic() - exited > AFTER_EXIT_MOST:
            break
        holding = any(masker.held for _, masker in streams.open.values())
        timeout = QUIET if holding else (AFTER_EXIT if status is not None else None)
        ready, _, _ = select.select([*streams.open, wake], [], [], timeout)
        if more is not None and len(more) > known:
            added, known = more[known:], len(more)
            for _, masker in streams.open.values():
                masker.add(*added)
        if not ready:  # quiet: write what was held, or, the command gone, stop waiting
            if not holding:
                break
            streams.flush()
        for fd in ready:
            if fd == wake:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake, 512)
                continue
            if fd not in streams.open:
                continue
            try:
                chunk = os.read(fd, READ)
            except OSError:  # EIO: a pseudo-terminal's end, once no one holds its other side
                chunk = b""
            if chunk:
                streams.write_on(fd, streams.open[fd][1].feed(chunk))
            else:  # the end of it
                streams.write_on(fd, streams.open[fd][1].flush())
                streams.open.pop(fd, None)
        if status is None:
            done, got = os.waitpid(pid, os.WNOHANG)
            if done:
                status, exited = got, time.monotonic()
    streams.flush()
    return status


def _output_for(fd: int) -> tuple[int, int]:
    """The two ends of what the command writes on in place of ``fd``: a pipe, or, when ``fd`` is a
    terminal, a pseudo-terminal of the same size, in raw mode (what the command writes passes as
    written: the real terminal does its own line endings), so the command sees a terminal there
    as it would have (colours, a pager, a full-screen program)."""
    if not os.isatty(fd):
        return os.pipe()
    import tty

    master, slave = os.openpty()
    try:
        tty.setraw(slave)
    except OSError:  # not a terminal that can be set after all: a pipe then
        os.close(master)
        os.close(slave)
        return os.pipe()
    _same_size(fd, slave)
    return master, slave


def _same_size(fd: int, pty: int) -> None:
    """Give the pseudo-terminal ``pty`` the window size of terminal ``fd`` (nothing when either is
    not a terminal)."""
    import fcntl
    import termios

    with contextlib.suppress(OSError):
        size = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(pty, termios.TIOCSWINSZ, size)


def _send(target: int, signum: int) -> None:
    if target < 0:
        os.killpg(-target, signum)
    else:
        os.kill(target, signum)


def _nothing(signum: int, frame: object) -> None:
    """A handler that only wakes the loop (through the wakeup descriptor)."""


def _in_the_foreground() -> bool:
    """Whether this process's group is the foreground group of its controlling terminal."""
    try:
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(tty)


def cannot_start(exc: OSError, cmd: str) -> CommandNotFound | CommandNotExecutable:
    """How a command that could not be started is said, whoever started it (in place, or as a
    child whose output is masked): 127 when there is no such command, 126 otherwise."""
    from vault.core.masking import echo

    if isinstance(exc, FileNotFoundError):
        return CommandNotFound(f"command not found: {echo(cmd, quoted=False)}")
    if isinstance(exc, PermissionError):
        return CommandNotExecutable(f"permission denied: {cmd}")
    return CommandNotExecutable(f"cannot run {cmd}: {exc.strerror}")
