"""A session's consent questions asked on its own terminal (issue 36): the last of who asks.

The agent holds each use waiting for a yes (:mod:`vault.agent.consent`).  A TUI that is polling
asks them first, then a desktop notification; when neither does, the tokendeck process that
opened the session (``tokendeck exec --session --confirm``, ``tokendeck proxy run --confirm``)
asks here, on ``/dev/tty``: ``y`` allows this one use, anything else refuses it, and no answer
within the agent's timeout is no.  An answer typed after that is told it came too late.  With no
terminal nothing is asked here: no answer in time is no.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from vault.services.tokens import Vault

CONFIRM_CHOICES = ("each", "once")
"""``--confirm`` (``each``: a yes before each use) and ``--confirm=once`` (one yes per credential)."""


def add_confirm_argument(parser: object, what: str) -> None:
    """``--confirm[=once]`` on ``parser`` (an argparse parser), ``what`` naming a use."""
    parser.add_argument(  # type: ignore[attr-defined]
        "--confirm",
        nargs="?",
        const="each",
        choices=CONFIRM_CHOICES,
        metavar="once",
        help=f"ask before each use ({what}; =once: the first use of each credential only): in the TUI, "
        "a desktop notification, or this terminal; no answer in time is no",
    )


def question_line(question: dict[str, str]) -> str:
    """``tokendeck: python3 x.py (pid 42) in /src wants gh for a token read (session 1a2b3c). Allow? ...``"""
    from vault.errors import printable

    who = question.get("program") or question["host"]
    purpose = question.get("purpose") or question["op"]
    session = f" (session {question['session']})" if question.get("session") else ""
    timeout = question.get("timeout") or "60"
    text = f"{who} wants {question['credential']} for {purpose}{session}"
    return f"tokendeck: {printable(text)}. Allow? [y/N] (no answer in {timeout} s is no) "


class TerminalAsker:
    """Asks the questions of session ``session_id`` on the terminal, on a thread of its own, until
    :meth:`stop`."""

    def __init__(self, session_id: str, tty: str | None = None) -> None:
        from vault.cli.terminal import TTY

        self.session_id = session_id
        self.tty = tty or TTY
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tokendeck-consent", daemon=True)

    def start(self) -> TerminalAsker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        try:  # two handles: a terminal cannot seek, so one opened "r+" would not do
            reading = open(self.tty, encoding="utf-8", errors="replace")  # noqa: SIM115 - held for the session
            writing = open(self.tty, "w", encoding="utf-8")  # noqa: SIM115
        except OSError:
            return  # no terminal: nothing is asked here, and no answer in time is no
        with reading, writing:
            self._ask_each(reading, writing)

    def _ask_each(self, reading: TextIO, writing: TextIO) -> None:
        from vault.agent.consent import answer_question, new_questions

        asked: set[str] = set()
        while not self._stop.wait(0.25):
            for question in new_questions(asked, asker=("terminal", self.session_id)):
                writing.write("\r\n" + question_line(question))
                writing.flush()
                with _in_the_foreground(reading.fileno()):
                    reply = reading.readline()
                if not reply or self._stop.is_set():
                    return
                status = answer_question(question["id"], reply.strip().lower() in ("y", "yes"))
                if status == "late":
                    writing.write("tokendeck: too late: no answer in time was no; that use was refused\r\n")
                elif status == "gone":
                    writing.write("tokendeck: already answered elsewhere\r\n")
                writing.flush()


def allow_here(vault: Vault, names: list[str], what: str) -> None:
    """Without an agent: the credentials of ``names`` that ask before each use are asked about
    here, on this terminal (``what``: the command reading them); with no terminal, refused in one
    line.  A no is audited as the agent audits it.

    Raises:
        NotForwarded: a no, or no terminal to ask on.
    """
    from vault.cli import terminal
    from vault.errors import NotForwarded
    from vault.services.consent_setting import asks_first

    for name in asks_first(vault, names):
        if not terminal.interactive():
            vault.records.record("read", "denied", credential=name, detail=f"op={what} no terminal to ask on")
            raise NotForwarded(f"{name} asks before each use, and there is no terminal here to ask on")
        if not terminal.confirm(f"tokendeck: {name} asks before each use. Allow this read ({what})?"):
            vault.records.record("read", "denied", credential=name, detail=f"op={what}")
            raise NotForwarded(f"the use of {name} was not allowed (denied)")


@contextlib.contextmanager
def _in_the_foreground(tty: int) -> Iterator[None]:
    """Read the answer as the terminal's foreground: a shell with job control (an interactive
    ``sh`` as the session's command) puts the program that asked in a process group of its own,
    and a read by this process, then in the background, would stop it (SIGTTIN) and with it the
    whole session.  The terminal is taken for the answer and given back after; SIGTTOU is blocked
    in this thread meanwhile, so taking it is allowed from the background."""
    try:
        before = os.tcgetpgrp(tty)
    except OSError:
        yield
        return
    mine = os.getpgrp()
    if before == mine:
        yield
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, mine)
        yield
    finally:
        with contextlib.suppress(OSError):  # the group that had it may have ended meanwhile
            os.tcsetpgrp(tty, before)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
