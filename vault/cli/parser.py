"""The ``tokendeck`` argument parser: the top level, then each command group's own subparsers.

Each group module (:mod:`vault.cli.credentials`, :mod:`vault.cli.signin`, ...) adds its
subparsers and sets ``handler`` on them; its heavy imports wait inside the handlers, so
building the parser stays cheap.  ``tui`` is the one command whose handler lives
outside ``vault``: it is named by string (``vault`` never imports the UI).
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from vault.errors import EXIT_CODES
from vault.settings import ENVIRONMENT

EPILOG = (
    "exit codes:\n"
    + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    + "\n\nenvironment:\n"
    + "\n".join(f"  {name:<30} {meaning}" for name, meaning in ENVIRONMENT)
)

GROUPS = (
    "setup", "credentials", "audit", "signin", "providers", "lifecycle", "verify", "scan", "exec", "proxy",
    "export", "agent", "git", "backup", "imports", "mcp_bridge", "ssh", "sessions", "confirm",
)  # fmt: skip
"""The modules of ``vault.cli`` that each add their commands to ``tokendeck --help``, in this order."""

GROUP_OF = {
    "init": "setup", "passphrase": "setup",
    "add": "credentials", "list": "credentials", "show": "credentials", "token": "credentials",
    "rm": "credentials", "rename": "credentials",
    "audit": "audit", "login": "signin", "provider": "providers", "refresh": "lifecycle", "revoke": "lifecycle",
    "verify": "verify", "scan": "scan", "exec": "exec", "proxy": "proxy", "export": "export", "unexport": "export",
    "agent": "agent", "lock": "agent", "unlock": "agent", "git-credential": "git", "backup": "backup",
    "restore": "backup", "import": "imports", "mcp-bridge": "mcp_bridge", "ssh": "ssh", "sessions": "sessions",
    "confirm": "confirm",
}  # fmt: skip
"""Which group adds each command: ``tokendeck COMMAND ...`` builds the parser with that group alone
(:func:`build_parser`), so a command imports its own module and not all nineteen (a test keeps
this equal to what each group adds)."""

SHELLS = ("bash", "zsh", "fish")
"""What ``tokendeck completion`` writes scripts for (:mod:`vault.cli.completion`, named by string:
it builds this parser)."""

TUI_HANDLER = "screens.main:cmd_tui"
"""``tokendeck`` with no command, and ``tokendeck tui``: by name only, so vault never imports the UI."""


def installed_version() -> str:
    """The version pip installed (the package's metadata), or ``unknown`` from a bare source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tokendeck")
    except PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """``--version``: read the metadata only when asked (building the parser stays cheap)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(f"tokendeck {installed_version()}")
        parser.exit(0)


_INVALID_CHOICE = re.compile(
    r"argument (?P<what>[^:]+): invalid choice: '(?P<value>.*)' \(choose from (?P<choices>.*)\)$", re.S
)
_UNRECOGNIZED = "unrecognized arguments: "
_NO_VALUE = re.compile(r"argument (?P<option>--[\w-]+)(?:/-\w)?: expected one argument$")
_QUOTED = re.compile(r"'([^']*)'")


class Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line and a hint: a misspelt command or option gets its
    closest match ("did you mean list?"), and a value that could be a secret is never repeated
    (:func:`vault.core.masking.echo`, the rule every message follows)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {self._explain(message)}\nhint: {self.prog} --help\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """argparse's, but arguments left over are said by the command they were given to: its
        options suggested, its help named (``tokendeck add: unknown option --json``; argparse
        has the top level say it, with every command's options to suggest from)."""
        found, extras = self.parse_known_args(args, namespace)
        if extras:
            self._typed(found).error(_UNRECOGNIZED + " ".join(extras))
        return found

    def _typed(self, found: argparse.Namespace) -> argparse.ArgumentParser:
        """The deepest (sub)command parser ``found`` went through."""
        parser: argparse.ArgumentParser = self
        while True:
            subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            chosen = getattr(found, subs[0].dest, None) if subs else None
            if not subs or chosen not in subs[0].choices:
                return parser
            parser = subs[0].choices[chosen]

    def _explain(self, message: str) -> str:
        import difflib

        from vault.core.masking import echo, secret_kind

        invalid = _INVALID_CHOICE.match(message)
        if invalid:
            value, what = invalid["value"], invalid["what"]
            choices = re.findall(r"'([^']*)'", invalid["choices"])
            close = difflib.get_close_matches(value, choices, n=1)
            said = f"unknown {what.lower()} {echo(value)}"
            return f"{said}; did you mean {close[0]}?" if close else f"{said} (one of: {', '.join(choices)})"
        no_value = _NO_VALUE.match(message)
        if no_value:  # often a value such as an OpenID client ID that starts with "-"
            option = no_value["option"]
            return f"{option} needs a value (one that starts with '-' is given as {option}=VALUE)"
        if message.startswith(_UNRECOGNIZED):
            extra = message[len(_UNRECOGNIZED) :].split()
            options = [a for a in extra if a.startswith("-")]
            known = [o for action in self._actions for o in action.option_strings]  # this command's own
            parts = []
            for option in options:
                name = option.split("=", 1)[0]
                close = difflib.get_close_matches(name, known, n=1)
                parts.append(
                    f"unknown option {echo(name, quoted=False)}" + (f"; did you mean {close[0]}?" if close else "")
                )
            if len(options) < len(extra):
                parts.append("unexpected arguments (not repeated here: one may be a secret)")
            return "; ".join(parts)
        # any other error ("invalid int value: 'x'", "ambiguous option: --x=y could match ...",
        # a type's own message): each quoted value, then each word, by the one rule
        message = _QUOTED.sub(lambda found: echo(found[1]), message)
        return " ".join(echo(word, quoted=False) if secret_kind(word) else word for word in message.split(" "))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; or, when ``command`` (the command line's first word) is one of
    :data:`GROUP_OF`, the top level with that command's group alone.  Its own help, usage errors
    and hints are the same (a test compares them); a misspelt or missing command gets the whole
    parser, whose message lists them all."""
    parser = Parser(
        prog="tokendeck",
        description="An encrypted vault for your OAuth and API tokens. Without a command, opens the TUI.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (GROUP_OF[command],) if command in GROUP_OF else GROUPS:
        importlib.import_module(f"vault.cli.{group}").add_parsers(sub)
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script. bash: tokendeck completion bash > "
        "~/.local/share/bash-completion/completions/tokendeck; zsh: tokendeck completion zsh > "
        '"${fpath[1]}/_tokendeck"; fish: tokendeck completion fish > ~/.config/fish/completions/tokendeck.fish. '
        "Credential names come from a running agent, when there is one.",
    )
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help=f"one of: {', '.join(SHELLS)}")
    p.set_defaults(handler="vault.cli.completion:cmd_completion")
    p = sub.add_parser("tui", help="open the terminal UI (the default)")
    p.add_argument("--no-agent", action="store_true", help="do not start the agent (see tui.toml: agent = false)")
    p.set_defaults(handler=TUI_HANDLER)
    parser.set_defaults(handler=TUI_HANDLER)
    return parser
