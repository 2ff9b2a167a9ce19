"""``tokendeck completion bash|zsh|fish``: a completion script generated from the parser
(which names this module's :func:`cmd_completion` by string, as it names the TUI's handler).

shtab writes the script from the same argparse parser the command runs, so commands,
options and their choices (export targets, git-credential actions) cannot drift from it.
What the parser cannot know is filled in here, by one rule per kind of argument:

- a credential (``token NAME``, ``show``, ``rm``, ``rename OLD``, ``refresh``, ``revoke``, ``verify``,
  ``git-credential ... NAME``, ``export``/``unexport``/``audit --name``): the script runs ``tokendeck completion
  names``, which asks a running agent for the names (:mod:`vault.cli.fast`) and prints
  nothing when there is none, so a TAB never unlocks, prompts or waits for a KDF;
- a provider (``login PROVIDER``, ``add --provider``, ``provider show|rm|add NAME``): the
  built-in catalog, written into the script (it is static);
- a file (``backup``, ``restore``, ``import ... FILE``, ``--file``): the shell's own file
  completion.
"""

from __future__ import annotations

import argparse
import sys

from vault.cli.parser import build_parser

NAMES_COMMAND = "tokendeck completion names"

_CREDENTIAL_COMMANDS = frozenset(
    {
        "show",
        "token",
        "rm",
        "rename",
        "refresh",
        "revoke",
        "verify",
        "git-credential",
        "export",
        "unexport",
        "audit",
        "mcp-bridge",
        "confirm",
    }
)
_CREDENTIAL_DESTS = frozenset({"name", "old"})


def cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.shell))
    return 0


def kind_of(command: str, action: argparse.Action) -> str | None:
    """What completes ``action`` of ``command`` (``provider show``, ``export``): ``credential``,
    ``provider``, ``file``, or None for what the parser itself knows (choices, flags)."""
    top = command.split(" ", 1)[0]
    if action.dest == "file" or "--file" in action.option_strings:
        return "file"
    if top == "provider" and action.dest == "name":
        return "provider"
    if action.dest == "provider" and (top in ("login", "add")):
        return "provider"
    if top in _CREDENTIAL_COMMANDS and action.dest in _CREDENTIAL_DESTS:
        return "credential"
    return None


def script(shell: str) -> str:
    """The completion script for ``shell``."""
    import shtab

    from vault.core.providers import catalog

    parser = build_parser()
    providers = " ".join(sorted(catalog()))
    completers = {
        "credential": shtab.cmd(f"{NAMES_COMMAND} 2>/dev/null"),
        "provider": shtab.cmd(f"printf '%s\\n' {providers}"),
        "file": shtab.FILE,
    }
    for command, action in walk(parser):
        kind = kind_of(command, action)
        if kind is not None:
            action.complete = completers[kind]  # type: ignore[attr-defined]  # shtab reads this attribute
    text: str = shtab.complete(parser, shell=shell)
    return text


def walk(parser: argparse.ArgumentParser, command: str = "") -> list[tuple[str, argparse.Action]]:
    """Every argument of every command, with the command's words (``provider add``)."""
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += walk(sub, f"{command} {name}".strip())
        elif command:
            found.append((command, action))
    return found
