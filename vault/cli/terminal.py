"""What every command does at the terminal: hidden prompts, notices on stderr,
secrets from a pipe, and opening the vault with this terminal's prompt.

Data goes to stdout, messages to stderr, secrets never come from argv.  Other
command modules call these through the module (``terminal.notice(...)``), so a
test can replace :func:`ask_hidden` and :func:`human_times` in one place.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vault.errors import InvalidInput, NoKey, VaultError, printable
from vault.settings import PASSPHRASE_COMMAND_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

if TYPE_CHECKING:
    from vault.services.tokens import Vault


TTY = "/dev/tty"
"""The controlling terminal: where a person at the keyboard answers, whatever stdin carries
(ssh, sudo and gpg ask there for the same reason)."""


def ask_hidden(prompt: str) -> str:
    """Read a line without echo from the terminal (``/dev/tty``; stdin only when that is a
    terminal and there is no controlling one): never from a pipe on stdin."""
    import getpass

    return getpass.getpass(prompt)


def ask_line(prompt: str) -> str:
    """Read a line, echoed, from the terminal (``/dev/tty``, else stdin when that is a
    terminal), as :func:`ask_hidden` does: a pipe on stdin is left to the command.

    Raises:
        EOFError: the terminal was closed (ctrl+d).
    """
    try:
        fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return input(prompt)
    with open(fd, "rb", buffering=0) as tty:  # a terminal is not seekable: no "r+" text file over it
        os.write(fd, prompt.encode("utf-8", "replace"))
        line = tty.readline(8192)
    if not line:
        raise EOFError
    return line.decode("utf-8", "replace").rstrip("\r\n")


def controlling_terminal() -> bool:
    """Whether this process has a controlling terminal: ``/dev/tty`` opens (it fails with
    ENXIO under CI, cron, a service, or an MCP client that started us)."""
    try:
        fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def stdin_is_terminal() -> bool:
    """Whether stdin is typed at a terminal rather than piped: a command that reads data (a
    token, a secret) from stdin prompts for it only then."""
    return sys.stdin.isatty()


def interactive() -> bool:
    """Whether a person can answer a prompt: there is a terminal to ask on, even when stdin
    is taken by a pipe.  The one rule every prompt and confirmation follows."""
    return stdin_is_terminal() or controlling_terminal()


def prompt() -> Callable[[str], str] | None:
    """The hidden prompt to unlock with, or None when nobody could answer it."""
    return ask_hidden if interactive() else None


def passphrase_prompt() -> Callable[[str], str]:
    """For commands that take a passphrase as their input (``init``, ``agent start``,
    ``passphrase change``): a hidden prompt when stdin is a terminal; when stdin is a pipe,
    its first line, read once, so a new passphrase's "repeat it" is answered by the same
    line (an empty pipe: the terminal is asked, when there is one).

    Raises (when called):
        InvalidInput: nothing was piped in, and there is no terminal.
    """
    if stdin_is_terminal():
        return ask_hidden
    read: list[str] = []

    def piped(label: str) -> str:
        if not read:
            line = read_secret(label.rstrip(": "))
            if not line:
                if controlling_terminal():
                    return ask_hidden(label)
                raise InvalidInput(
                    f"a passphrase is needed: run in a terminal, pipe it in, or set {PASSPHRASE_FILE_ENV}, "
                    f"{PASSPHRASE_COMMAND_ENV} or {PASSPHRASE_ENV}"
                )
            read.append(line)
        return read[0]

    return piped


def notice(message: str) -> None:
    """One line for the user, on stderr (what it quotes from outside escaped: :func:`~vault.errors.printable`)."""
    print(f"tokendeck: {printable(message)}", file=sys.stderr)


def say(line: str) -> None:
    """A line that follows a notice (a command to copy, say): on stderr, escaped, no prefix."""
    print(printable(line), file=sys.stderr)


def human_times() -> bool:
    """Whether stdout is a terminal: then times are "in 4m 12s", else ISO 8601."""
    return sys.stdout.isatty()


def open_vault() -> Vault:
    """Open the vault as every command does: the usual unlock order, then this terminal's prompt."""
    from vault.core.process import keep_secrets_out_of_dumps
    from vault.services.opening import open_vault as open_with

    ask = prompt()
    vault = open_with(prompt=ask, notice=notice) if ask is not None else _open_unasked(open_with)
    keep_secrets_out_of_dumps()  # it holds the key now
    return vault


def _open_unasked(open_with: Callable[..., Vault]) -> Vault:
    """Open with no prompt (no terminal); without a key, the one line naming the remedy.

    Raises:
        NoKey: no source had the key (:func:`vault.agent.remedy.no_key` says what to do).
    """
    from vault.agent import remedy

    try:
        return open_with(prompt=None, notice=notice)
    except NoKey:
        raise NoKey(remedy.no_key(remedy.agent_state())) from None


def read_secret(label: str) -> str:
    """A secret the command reads as data (a token, a client secret): from stdin when it is
    piped, else from a hidden prompt on the terminal.

    One trailing newline (and surrounding whitespace) is dropped.

    Raises:
        InvalidInput: stdin is not UTF-8, or too large.
    """
    if stdin_is_terminal():
        return ask_hidden(f"{label}: ").strip()
    from vault.core.model import MAX_TOKEN_BYTES

    cap = MAX_TOKEN_BYTES * 2  # room for surrounding whitespace
    data = sys.stdin.buffer.read(cap + 1)
    if len(data) > cap:
        raise InvalidInput(f"standard input is over the limit of {MAX_TOKEN_BYTES} bytes; nothing was stored")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("standard input is not UTF-8 text; nothing was stored") from None
    return text.strip()


def read_line(prompt: str, limit: int = 8192) -> str:
    """A line the command reads as data (a pasted URL): asked on the terminal when stdin is
    one, else stdin's next line (the prompt still shown on stderr)."""
    if stdin_is_terminal():
        return ask_line(prompt)
    print(prompt, file=sys.stderr)
    return sys.stdin.readline(limit)


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (never stdin's pipe); only ``y`` or ``yes`` is a yes."""
    return ask_line(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def print_facts(facts: dict[str, Any]) -> None:
    """``key: value`` lines, as ``show`` prints them (:func:`vault.services.reports.facts_text`)."""
    from vault.services.reports import facts_text

    sys.stdout.write(facts_text(facts))


def run_guarded(command: Callable[[], int]) -> int:
    """Run ``command``, turning an expected failure into one line and its exit code."""
    try:
        return command()
    except VaultError as exc:
        print(f"tokendeck: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tokendeck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # one the command did not expect: still one line, naming the file (never a traceback)
        from vault.core.paths import unexpected

        error = unexpected(exc)
        print(f"tokendeck: {error.message}", file=sys.stderr)
        return error.exit_code
