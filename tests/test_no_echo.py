"""A token pasted in the wrong place is never repeated back (issue 33, item 3): every argument
of ``tokendeck`` that can refuse a value, read from the parser itself so a new option is
covered the day it is added, is given fake tokens of every shape; nothing of the token (no
8-character piece of it) reaches stdout, stderr or the audit log, and the vault is unchanged.

An argument that takes any text (a path to write, an account label, a command to run) cannot
refuse a token: it is listed in :data:`TAKES_ANY` with the reason, and not run.

And the commands' own output holds no secret (issue 37, item 4): every command of the parser,
run with ordinary values on a vault holding realistic tokens, shows none of them, except those
listed with the reason (:data:`SHOWS_A_SECRET`, :data:`NOT_RUN_HERE`, :data:`LONG_RUNNING`)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.fake_tokens import FAKE_TOKENS, leaked
from vault.cli.parser import build_parser

TOKENS = list(FAKE_TOKENS.values())

BASE: dict[str, list[str]] = {
    # a command that works (or fails for an ordinary reason) with these values; the slot under
    # test replaces one of them
    "add": ["add", "{name}", "--provider", "api-key"],
    "show": ["show", "{name}"],
    "token": ["token", "{name}"],
    "rm": ["rm", "{name}"],
    "rename": ["rename", "{old}", "{new}"],
    "audit": ["audit"],
    "login": ["login", "{provider}"],
    "provider show": ["provider", "show", "{name}"],
    "provider rm": ["provider", "rm", "{name}"],
    "provider add": ["provider", "add", "{name}", "--client-id", "cid-1"],
    "refresh": ["refresh", "{name}"],
    "revoke": ["revoke", "{name}"],
    "verify": ["verify", "{name}"],
    "scan": ["scan", "{paths}"],
    "exec": ["exec", "-e", "GH=gh", "--", "{argv}"],
    "proxy run": ["proxy", "run", "--allow", "gh", "--", "{argv}"],
    "proxy runs": ["proxy", "runs"],
    "export": ["export", "{target}", "--name", "gh"],
    "unexport": ["unexport", "{target}", "--name", "{name}"],
    "agent start": ["agent", "start"],
    "git-credential": ["git-credential", "{action}", "{host}", "{name}"],
    "restore": ["restore", "{file}"],
    "import gh": ["import", "gh"],
    "import dotenv": ["import", "dotenv", "{file}"],
    "import netrc": ["import", "netrc", "{file}"],
    "import token-storage": ["import", "token-storage", "{file}"],
    "completion": ["completion", "{shell}"],
    "backup": ["backup", "{file}"],
    "sessions": ["sessions"],
    "confirm": ["confirm", "{name}", "{setting}"],
    # commands that take no value: run by the test of the commands' own output below
    "list": ["list"],
    "init": ["init"],
    "lock": ["lock"],
    "unlock": ["unlock"],
    "agent status": ["agent", "status"],
    "agent stop": ["agent", "stop"],
    "passphrase change": ["passphrase", "change"],
    "provider list": ["provider", "list"],
}
"""Each command's argv; ``{dest}`` is a positional, filled from :data:`FILL` unless under test."""

FILL = {
    "name": "gh",
    "old": "gh",
    "new": "gh2",
    "provider": "github",
    "argv": "true",
    "target": "dotenv",
    "action": "map",
    "host": "example.com",
    "file": "missing-file",
    "paths": "missing-file",
    "shell": "bash",
    "setting": "on",
}

TAKES_ANY: dict[tuple[str, str], str] = {
    ("backup", "file"): "a path to write",
    ("add", "--account"): "a label the user chose, shown as given",
    ("add", "--username"): "a Jira user name, shown as given",
    ("add", "--server-url"): "checked for api-key's provider only when it needs one",
    ("audit", "--name"): "a filter: no match prints nothing",
    ("audit", "credential"): "a filter, as --name: no match prints nothing",
    ("login", "--scope"): "scopes are sent to the provider as given",
    ("login", "--client-metadata"): "a URL of the user's app",
    ("provider add", "--param"): "KEY=VALUE sent as given",
    ("provider add", "--scopes"): "scopes are sent as given",
    ("provider add", "--client-id"): "a client id is not a secret (it is in every authorize URL)",
    ("export", "--file"): "a path to write",
    ("export", "--login"): "a .netrc login, written as given",
    ("export", "--command"): "the command an MCP entry runs",
    ("export", "--server"): "an entry name in the client's config",
    ("export", "--host"): "a .netrc machine",
    ("unexport", "--file"): "a path",
    ("restore", "file"): "a path to read: not found is said by the file system's rule (core.paths.failed)",
    ("git-credential", "--username"): "git's user name, as given",
    ("import dotenv", "--only"): "a filter on the file's keys",
}
"""Arguments that take any text, so cannot refuse a token: by (command, option), with why."""

LONG_RUNNING = {
    "mcp-bridge": "serves MCP on stdio until closed",
    "ssh": "runs ssh",
    "tui": "the TUI (its screens: tests/test_tui_no_echo.py)",
}


def slots() -> Iterator[tuple[str, argparse.Action]]:
    """Every (command, argument) of the parser that takes a value."""

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> Iterator[tuple[str, argparse.Action]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*path, name])
            elif action.nargs != 0 and not isinstance(action, argparse._HelpAction) and path:
                yield " ".join(path), action

    seen = set()
    for command, action in walk(build_parser(), []):
        key = (command, action.dest)
        if key not in seen:
            seen.add(key)
            yield command, action


def slot_id(command: str, action: argparse.Action) -> str:
    return f"{command} {action.option_strings[0] if action.option_strings else action.dest.upper()}"


SLOTS = [
    (command, action)
    for command, action in slots()
    if command not in LONG_RUNNING and (command, (action.option_strings or [action.dest])[0]) not in TAKES_ANY
]


def argv_for(command: str, action: argparse.Action, token: str) -> list[str]:
    """The command's argv with ``token`` in the slot under test."""
    under_test = None if action.option_strings else action.dest
    argv = [token if w == f"{{{under_test}}}" else FILL[w[1:-1]] if w.startswith("{") else w for w in BASE[command]]
    if action.option_strings:
        option = action.option_strings[0]
        if option in argv:  # given in BASE: replace its value
            argv[argv.index(option) + 1] = token
        else:  # before a "--", if there is one
            cut = argv.index("--") if "--" in argv else len(argv)
            argv[cut:cut] = [option, token]
    return argv


def snapshot(home: Path) -> tuple[object, ...]:
    """What the vault holds: each credential and registration, and the git and export links."""
    with vault.open_vault(home) as v:
        creds = sorted(
            (c.name, c.provider, c.account, c.access_token.reveal() if c.access_token else None)
            for c in v.credentials()
        )
        clients = sorted(r.provider for r in v.records.clients())
        return creds, clients, sorted(v.records.links.git_hosts())


def audit_text(home: Path) -> str:
    with vault.open_vault(home) as v:
        return "\n".join(repr(event) for event in v.records.audit_log())


@pytest.fixture
def ready(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A keyring vault holding one static token called ``gh``; the working folder is a temporary one."""
    monkeypatch.chdir(tmp_path)
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_one\n").code == 0
    return cli


@pytest.mark.parametrize(("command", "action"), SLOTS, ids=[slot_id(c, a) for c, a in SLOTS])
def test_a_token_in_any_argument_is_refused_and_never_repeated(
    ready: CliRunner, home: Path, command: str, action: argparse.Action
) -> None:
    before = snapshot(home)
    audit_before = audit_text(home)
    index = SLOTS.index((command, action))
    shapes = TOKENS if command in ("add", "token", "show") else TOKENS[index % len(TOKENS) :][:4]
    for token in shapes:
        what = next(kind for kind, fake in FAKE_TOKENS.items() if fake == token)  # said instead of the token
        argv = argv_for(command, action, token)
        try:
            result = ready(*argv, stdin="fake-static-value\n")
            code, out, err = result.code, result.out, result.err
        except SystemExit as stopped:  # argparse's usage errors
            code = stopped.code if isinstance(stopped.code, int) else 1
            captured = ready.capsys.readouterr()
            out, err = captured.out, captured.err
        said = leaked(token, out, err, audit_text(home).replace(audit_before, ""))
        assert said is None, f"part of a fake {what} was repeated"
        assert code != 0, f"a fake {what} was taken: add the argument to TAKES_ANY if it must be"
        assert snapshot(home) == before


# ------------------------------------------------------------------ the commands' own output

SHOWS_A_SECRET = {"token": "prints the token: what it is for (exec --env-file too, with its flag)"}
"""Commands whose output is a secret by design, with why."""

NOT_RUN_HERE = {
    "agent start": "starts the agent, a process of its own (tests/test_agent_cli.py reads what it says)",
    "login": "signs in at the provider over the network (tests/test_signin.py, with loopback servers)",
    "verify": "asks the provider over the network (tests/test_verify.py, with loopback servers)",
    "revoke": "asks the provider over the network (tests/test_lifecycle_cli.py, with loopback servers)",
}
"""Commands the test below does not run in-process, with where their output is checked."""

STOCKED = {"gh": FAKE_TOKENS["github classic PAT"], "key": FAKE_TOKENS["openai project"]}


def every_command() -> list[str]:
    """Every command of the parser, as its words (``proxy run``), leaves only."""

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> Iterator[str]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and path:
            yield " ".join(path)
        for action in subs:
            for name, sub in action.choices.items():
                yield from walk(sub, [*path, name])

    return sorted(set(walk(build_parser(), [])))


def test_every_command_is_known_here() -> None:
    """Every command of the parser, whether or not it takes a value (before: only those that do)."""
    missing = set(every_command()) - set(BASE) - set(LONG_RUNNING)
    assert missing == set(), "a new command: add its argv to BASE"


@pytest.fixture
def stocked(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A keyring vault holding two realistic static tokens; the working folder a temporary one."""
    monkeypatch.chdir(tmp_path)
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin=STOCKED["gh"] + "\n").code == 0
    assert cli("add", "key", "--provider", "api-key", stdin=STOCKED["key"] + "\n").code == 0
    return cli


OWN = [c for c in every_command() if c not in SHOWS_A_SECRET and c not in NOT_RUN_HERE and c not in LONG_RUNNING]


@pytest.mark.parametrize("command", OWN)
def test_no_command_shows_a_secret_the_vault_holds(stocked: CliRunner, home: Path, command: str) -> None:
    """Each command, run as :data:`BASE` says (the ordinary values), on a vault holding real-looking
    tokens: none of them, nor an 8-character piece of one, is in its stdout, stderr or the audit
    rows it wrote.  (What ``exec`` and ``proxy run``'s commands print is masked: tests/test_exec_mask.py.)"""
    audit_before = audit_text(home)
    argv = [FILL[w[1:-1]] if w.startswith("{") else w for w in BASE[command]]
    try:
        result = stocked(*argv, stdin="\n")
        out, err = result.out, result.err
    except SystemExit:
        captured = stocked.capsys.readouterr()
        out, err = captured.out, captured.err
    for name, secret in STOCKED.items():
        assert leaked(secret, out, err, audit_text(home).replace(audit_before, "")) is None, f"{name}'s token was shown"
