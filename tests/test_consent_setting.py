"""Issue 36: a credential that asks before each use, whoever reads it (``tokendeck confirm NAME
on|off``).  Real processes: a passphrase vault, ``tokendeck agent start``, readers in a pty.
With the agent, a read by a program in no session waits for a yes, asked on the reader's own
terminal when no TUI or notification asks; without the agent, ``tokendeck token`` asks on its
terminal, or refuses in one line with none."""

from __future__ import annotations

import json

import pytest

from tests.test_agent_cli import tokendeck
from tests.test_agent_writes import in_pty
from tests.test_sessions import A_TOKEN, env  # noqa: F401 - a fixture

ASKED_BY_AGENT = b"wants a for a token read. Allow? [y/N]"
ASKED_HERE = b"a asks before each use. Allow this read (token)? [y/N]"


def outcomes(environment: dict[str, str]) -> list[tuple[str, str]]:
    shown = tokendeck(environment, "audit", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    return sorted((e["action"], e["outcome"]) for e in rows if e["action"] in ("read", "confirm"))


def test_confirm_on_is_shown_and_off_undoes_it(env: dict[str, str]) -> None:  # noqa: F811
    on = tokendeck(env, "confirm", "a", "on")
    assert (on.returncode, on.stderr) == (
        0,
        "tokendeck: a now asks before each use, whoever reads it (tokendeck confirm a off stops it)\n",
    )
    assert "asks before each use: yes (tokendeck confirm a off stops it)" in tokendeck(env, "show", "a").stdout
    assert json.loads(tokendeck(env, "show", "a", "--json").stdout)["asks_before_each_use"].startswith("yes")
    assert "asks before each use" not in tokendeck(env, "show", "b").stdout
    missing = tokendeck(env, "confirm", "nope", "on")
    assert (missing.returncode, missing.stderr) == (5, "tokendeck: no credential named 'nope' (see tokendeck list)\n")
    assert tokendeck(env, "confirm", "a", "off").returncode == 0
    assert "asks before each use" not in tokendeck(env, "show", "a").stdout
    assert tokendeck(env, "token", "a").stdout == A_TOKEN + "\n"  # no question: nobody to answer it here


@pytest.mark.parametrize(("typed", "code"), [("y", 0), ("n", 5)], ids=["yes", "no"])
def test_with_the_agent_a_read_is_asked_on_the_readers_terminal(
    env: dict[str, str],  # noqa: F811
    typed: str,
    code: int,
) -> None:
    assert tokendeck(env, "confirm", "a", "on").returncode == 0
    status, shown = in_pty(["token", "a"], env, answers={ASKED_BY_AGENT: typed})
    assert status == code, shown
    assert "tokendeck token a (pid " in shown
    assert (A_TOKEN in shown) is (code == 0)
    if code:
        assert "tokendeck: the use of a was not allowed (denied): it asks before each use" in shown
    assert outcomes(env) == sorted([("confirm", "ok"), ("read", "served" if code == 0 else "denied")])


def test_without_the_agent_the_command_asks_on_its_terminal_or_refuses_with_none(
    env: dict[str, str],  # noqa: F811
) -> None:
    assert tokendeck(env, "confirm", "a", "on").returncode == 0
    assert tokendeck(env, "agent", "stop").returncode == 0
    refused = tokendeck(env, "token", "a")
    assert (refused.returncode, refused.stdout) == (5, "")
    assert refused.stderr == "tokendeck: a asks before each use, and there is no terminal here to ask on\n"
    status, shown = in_pty(["token", "a"], env, answers={ASKED_HERE: "y"})
    assert status == 0 and A_TOKEN in shown, shown
    status, shown = in_pty(["token", "a"], env, answers={ASKED_HERE: "n"})
    assert status == 5 and A_TOKEN not in shown, shown
    assert "tokendeck: the use of a was not allowed (denied)" in shown
    assert tokendeck(env, "token", "b").stdout.strip() != ""  # b does not ask
