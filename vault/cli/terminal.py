"""What every command does at the terminal: hidden prompts, notices on stderr,
secrets from a pipe, and opening the vault with this terminal's prompt.

Data goes to stdout, messages to stderr, secrets never come from argv.  Other
command modules call these through the module (``terminal.notice(...)``), so a
test can replace :func:`ask_hidden` and :func:`human_times` in one place.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vault.core.model import MAX_TOKEN_BYTES
from vault.errors import InvalidInput, VaultError, printable
from vault.settings import PASSPHRASE_COMMAND_ENV, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

if TYPE_CHECKING:
    from vault.services.tokens import Vault


def ask_hidden(prompt: str) -> str:
    """Read a line without echo from the terminal."""
    import getpass

    return getpass.getpass(prompt)


def interactive() -> bool:
    """Whether a person is at the keyboard (stdin is a terminal)."""
    return sys.stdin.isatty()


def prompt() -> Callable[[str], str] | None:
    """The hidden prompt to unlock with, or None when nobody could answer it."""
    return ask_hidden if interactive() else None


def passphrase_prompt() -> Callable[[str], str]:
    """A hidden prompt on a terminal; otherwise the passphrase is stdin's first line (a pipe),
    read once, so a new passphrase's "repeat it" is answered by the same line.

    Raises (when called):
        InvalidInput: nothing was piped in.
    """
    if interactive():
        return ask_hidden
    read: list[str] = []

    def piped(label: str) -> str:
        if not read:
            line = read_secret(label.rstrip(": "))
            if not line:
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


def human_times() -> bool:
    """Whether stdout is a terminal: then times are "in 4m 12s", else ISO 8601."""
    return sys.stdout.isatty()


def open_vault() -> Vault:
    """Open the vault as every command does: the usual unlock order, then this terminal's prompt."""
    from vault.core.process import keep_secrets_out_of_dumps
    from vault.services.opening import open_vault as open_with

    vault = open_with(prompt=prompt(), notice=notice)
    keep_secrets_out_of_dumps()  # it holds the key now
    return vault


def read_secret(label: str) -> str:
    """A secret from a hidden prompt on a terminal, or from stdin when piped.

    One trailing newline (and surrounding whitespace) is dropped.

    Raises:
        InvalidInput: stdin is not UTF-8, or too large.
    """
    if interactive():
        return ask_hidden(f"{label}: ").strip()
    cap = MAX_TOKEN_BYTES * 2  # room for surrounding whitespace
    data = sys.stdin.buffer.read(cap + 1)
    if len(data) > cap:
        raise InvalidInput(f"standard input is over the limit of {MAX_TOKEN_BYTES} bytes; nothing was stored")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("standard input is not UTF-8 text; nothing was stored") from None
    return text.strip()


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; only ``y`` or ``yes`` is a yes."""
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


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
