"""The runs of ``tokendeck proxy run`` read out of the audit log (issue 35, Build 4):
``tokendeck proxy runs`` lists them, ``tokendeck audit --run ID`` shows one run's rows, and the
agent answers both (its ``audit`` request takes the run as a fifth field; four still work)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import vault
from tests import test_proxy_cli
from tests.support.cli import CliRunner
from tests.test_proxy_cli import PASS, FakeEngine, child
from vault.agent.ops import OPS
from vault.proxy.engine_events import ProxyEvent
from vault.services.proxy_runs import runs

engine = test_proxy_cli.engine  # fixtures
ready = test_proxy_cli.ready

EVENTS: list[object] = [
    ProxyEvent("substituted", "gh", "api.github.com", "GET", "/user", ""),
    ProxyEvent("substituted", "gh", "api.github.com", "GET", "/repos", ""),
    ProxyEvent("refused", "gh", "evil.example", "POST", "/x", "host not allowed"),
]


def test_proxy_runs_lists_each_run_newest_first_and_audit_run_shows_only_its_rows(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path
) -> None:
    engine.events = EVENTS
    assert ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path, code=3)).code == 3
    engine.events = []
    assert ready("proxy", "run", "--allow", "gh", "--allow", "key=api.openai.com", "--", *child(tmp_path)).code == 0

    listed = ready("proxy", "runs", "--json")
    assert listed.code == 0, listed.err
    newer, older = json.loads(listed.out)
    assert (newer["exit"], newer["substituted"], newer["refused"], newer["allowed"]) == (0, 0, 0, ["gh", "key"])
    assert (older["exit"], older["substituted"], older["refused"], older["allowed"]) == (3, 2, 1, ["gh"])
    assert older["command"] == newer["command"] == Path(sys.executable).name
    assert not older["running"] and older["seconds"] >= 0 and older["started_at"] <= newer["started_at"]

    lines = ready("proxy", "runs").out.splitlines()  # piped: tab-separated, ISO times
    assert [line.split("\t")[0] for line in lines] == [newer["run"], older["run"]]
    assert lines[1].split("\t")[3:] == ["gh", lines[1].split("\t")[4], "3", "2", "1"]

    shown = ready("audit", "--run", older["run"], "--json")
    assert shown.code == 0, shown.err
    rows = json.loads(shown.out)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("proxy", "substituted"),
        ("proxy", "substituted"),
        ("proxy", "refused"),
        ("proxy-run", "started"),
        ("proxy-run", "ended"),
    ]
    assert all(r["detail"].endswith(f"run={older['run']}") for r in rows)
    assert len(json.loads(ready("audit", "--run", older["run"], "--json", "--limit", "2").out)) == 2
    assert ready("audit", "--run", newer["run"]).out.count("\n") == 2  # its start and its end
    assert ready("audit", "--run", newer["run"].upper()).out == ready("audit", "--run", newer["run"]).out


def test_an_unknown_or_malformed_run_id_gets_one_line(ready: CliRunner) -> None:
    unknown = ready("audit", "--run", "0badc0de")
    assert (unknown.code, unknown.out) == (5, "")
    assert unknown.err == "tokendeck: no proxy run 0badc0de in the audit log: tokendeck proxy runs lists them\n"
    bad = ready("audit", "--run", "nope\x1b[31m")
    assert bad.code == 2 and bad.err.count("\n") == 1 and "\x1b" not in bad.err
    empty = ready("proxy", "runs")
    assert (empty.code, empty.out) == (0, "")
    assert empty.err == "tokendeck: no proxy run in the audit log (tokendeck proxy run starts one)\n"
    assert ready("proxy", "runs", "--limit", "0").code == 2


def test_a_run_with_no_end_reads_as_running_and_a_command_with_spaces_is_whole(ready: CliRunner, home: Path) -> None:
    with vault.open_vault(home, PASS, env={}) as v:
        v.records.record("proxy-run", "started", detail="command=my tool allow=gh,key run=0a1b2c3d")
        v.records.record(
            "proxy", "substituted", credential="gh", detail="host=h method=GET path=/ command=my tool run=0a1b2c3d"
        )
        v.records.record("proxy", "unauthenticated", detail="host=h method=GET path=/ command=my tool run=0a1b2c3d")
        v.records.record("proxy-run", "ended", detail="command=other exit=0 run=ffffffff")  # its start pruned
        v.records.record("refresh", "ok", credential="gh", detail="run=0a1b2c3d")  # not a run's row
        found = {r.id: r for r in runs(v.records)}
    assert set(found) == {"0a1b2c3d", "ffffffff"}
    running, pruned = found["0a1b2c3d"], found["ffffffff"]
    assert running.running and running.command == "my tool" and running.allowed == ("gh", "key")
    assert (running.substituted, running.refused) == (1, 1)
    assert not pruned.running and pruned.exit == 0 and pruned.took(0.0) is None
    lines = [line.split("\t") for line in ready("proxy", "runs").out.splitlines()]
    by_id = {cells[0]: cells for cells in lines}
    assert by_id["0a1b2c3d"][2:4] == ["my tool", "gh,key"] and by_id["0a1b2c3d"][4].startswith("running ")
    assert by_id["ffffffff"][1:6] == ["?", "other", "-", "?", "0"]


def test_the_agents_audit_request_takes_the_run_and_still_takes_four_fields(ready: CliRunner, home: Path) -> None:
    with vault.open_vault(home, PASS, env={}) as v:
        v.records.record("proxy-run", "started", detail="command=curl allow=gh run=0a1b2c3d")
        v.records.record("proxy-run", "started", detail="command=git allow=gh run=11111111")
        four = OPS["audit"](v, ["", "", "text", "iso"])
        five = OPS["audit"](v, ["", "", "text", "iso", "11111111"])
        runs_answer = OPS["proxy-runs"](v, ["", "json", "iso"])
    assert "run=0a1b2c3d" in four[0] and "run=11111111" in four[0]
    assert "run=11111111" in five[0] and "run=0a1b2c3d" not in five[0]
    assert [r["run"] for r in json.loads(runs_answer[0])] == ["11111111", "0a1b2c3d"]
    with vault.open_vault(home, PASS, env={}) as v, pytest.raises(vault.errors.NotFound):
        OPS["audit"](v, ["", "", "text", "iso", "22222222"])
