"""Run a command as a person at a terminal does: a pseudo-terminal as its controlling
terminal (``/dev/tty``), prompts answered as they show; or with no terminal at all."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Shown:
    """What a command run in a terminal came to."""

    code: int
    text: str
    """Everything the terminal showed (stdout and stderr, as the terminal wrote them: ``\\r\\n``)."""
    asked: Counter[str] = field(default_factory=Counter)
    """How often each prompt given in ``answers`` was shown (and answered)."""

    @property
    def lines(self) -> list[str]:
        return [line for line in self.text.replace("\r\n", "\n").split("\n") if line]


def in_a_pty(
    command: str | list[str],
    env: Mapping[str, str],
    *,
    answers: Mapping[str, str | Callable[[], str]] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Shown:
    """Run ``command`` (a string: through ``/bin/sh -c``, as typed at a shell prompt) in a new
    session whose controlling terminal is a pty; each time a prompt of ``answers`` shows, its
    reply is typed (and a line end); a reply that is a function is called then (to do something
    between the question and its answer) and what it returns is typed.  A command that does not
    end within ``timeout`` (waiting for an answer nobody gives) is killed, and the test fails
    with what it showed."""
    import pty

    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    replies = dict(answers or {})
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its stdin, stdout, stderr and controlling terminal
        try:
            if cwd is not None:
                os.chdir(cwd)
            os.execve(argv[0], argv, dict(env))  # noqa: S606 - the test's own command, no user input
        finally:
            os._exit(127)
    shown, looked, asked = b"", {prompt: 0 for prompt in replies}, Counter[str]()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"{command!r} did not end within {timeout} s; it showed:\n{shown.decode()}")
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed its terminal
                break
            if not chunk:
                break
            shown += chunk
            for prompt, reply in replies.items():
                at = shown.find(prompt.encode(), looked[prompt])
                if at >= 0:
                    looked[prompt] = at + len(prompt)
                    asked[prompt] += 1
                    typed = reply() if callable(reply) else reply
                    os.write(fd, typed.encode() + b"\r")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return Shown(os.waitstatus_to_exitcode(status), shown.decode(errors="replace"), asked)


def without_a_terminal(
    argv: list[str], env: Mapping[str, str], *, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` as CI, cron or an MCP client does: a new session with no controlling
    terminal (``/dev/tty`` fails with ENXIO), stdin a pipe."""
    return subprocess.run(  # noqa: S603 - the test's own command
        argv, input=stdin, capture_output=True, env=dict(env), cwd=cwd, timeout=120, start_new_session=True, check=False
    )
