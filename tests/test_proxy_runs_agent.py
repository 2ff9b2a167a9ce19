"""``tokendeck proxy runs`` and ``tokendeck audit --run ID`` answered by a running agent, with no
passphrase anywhere, give what the vault opened in the command gives (processes: the real
``tokendeck proxy run`` with its engine, and the agent)."""

from __future__ import annotations

import json

from tests import test_agent_cli
from tests.test_agent_cli import tokendeck
from vault.settings import NO_AGENT_ENV

env = test_agent_cli.env  # a fixture


def test_proxy_runs_and_audit_run_through_the_agent_match_the_local_answer(env: dict[str, str]) -> None:
    ran = tokendeck(env, "proxy", "run", "--allow", "gh", "--", "true")
    assert ran.returncode == 0, ran.stderr
    (run,) = json.loads(tokendeck({**env, NO_AGENT_ENV: "1"}, "proxy", "runs", "--json").stdout)
    assert (run["command"], run["allowed"], run["exit"], run["running"]) == ("true", ["gh"], 0, False)
    assert tokendeck(env, "agent", "start").returncode == 0
    without_key = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}
    for argv in (
        ["proxy", "runs"],
        ["proxy", "runs", "--json"],
        ["audit", "--run", run["run"]],
        ["audit", "--run", run["run"], "--json", "--limit", "1"],
        ["audit", "--run", "0badc0de"],
    ):
        local = tokendeck({**env, NO_AGENT_ENV: "1"}, *argv)
        through_agent = tokendeck(without_key, *argv)  # only the agent can answer: no passphrase
        assert (through_agent.returncode, through_agent.stdout, through_agent.stderr) == (
            local.returncode,
            local.stdout,
            local.stderr,
        ), argv
    assert tokendeck(without_key, "audit", "--run", run["run"]).stdout.count("\n") == 2
    assert tokendeck(without_key, "audit", "--run", "0badc0de").returncode == 5
