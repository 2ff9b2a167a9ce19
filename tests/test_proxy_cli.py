"""``tokendeck proxy run`` (issue 35), in-process, with a stand-in for the interception engine
(``vault.proxy.engine`` is built elsewhere): what it checks before anything starts, what it hands
the engine, the environment the command really gets, its exit code, and the audit."""

from __future__ import annotations

import json
import os
import re
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.cli import CliRunner

PASS = "correct horse battery staple"
REAL = "ghp_" + "R" * 36


class FakeProxy:
    def __init__(self) -> None:
        self.port = 41999
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


class FakeEngine:
    """What ``start_proxy`` was given, and the proxy it returned."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.proxy = FakeProxy()
        self.tokens: dict[str, str] = {}
        self.events: list[object] = []

    def start_proxy(self, **kwargs: Any) -> FakeProxy:
        self.calls.append(kwargs)
        token_for: Callable[[str], str] = kwargs["token_for"]
        self.tokens = {rule[0]: token_for(rule[0]) for rule in kwargs["rules"].values()}  # as a request would
        for event in self.events:
            kwargs["on_event"](event)
        return self.proxy


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine()
    module = types.ModuleType("vault.proxy.engine")
    module.start_proxy = fake.start_proxy  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vault.proxy.engine", module)
    return fake


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str) -> CliRunner:
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin=REAL + "\n").code == 0
    assert cli("add", "key", "--provider", "api-key", stdin="sk-" + "K" * 40 + "\n").code == 0
    return cli


def child(tmp_path: Path, code: int = 0) -> list[str]:
    """A command that writes its environment (and its trust bundle's text) to a file, then exits ``code``."""
    out = tmp_path / "child.json"
    script = (
        "import json, os, sys\n"
        "env = dict(os.environ)\n"
        "bundle = open(env['SSL_CERT_FILE']).read() if os.path.exists(env.get('SSL_CERT_FILE', '')) else None\n"
        f"json.dump({{'env': env, 'bundle': bundle}}, open({str(out)!r}, 'w'))\n"
        f"sys.exit({code})\n"
    )
    return [sys.executable, "-c", script, "--password=hunter2"]


def audit(home: Path, action: str) -> list[tuple[str, str | None]]:
    with vault.open_vault(home, PASS, env={}) as v:
        return [(e.outcome, e.detail) for e in v.records.audit_log() if e.action == action]


def test_the_command_gets_placeholders_the_proxy_and_the_bundle_and_its_code_is_returned(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, home: Path
) -> None:
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path, code=3))
    assert r.code == 3, r.err
    seen = json.loads((tmp_path / "child.json").read_text())
    env: Mapping[str, str] = seen["env"]
    assert re.fullmatch(r"ghp_[A-Za-z0-9]{36}", env["GITHUB_TOKEN"]) and env["GH_TOKEN"] == env["GITHUB_TOKEN"]
    assert not any(REAL in value for value in env.values())
    assert env["HTTPS_PROXY"].startswith("http://tokendeck:") and env["HTTPS_PROXY"].endswith("@127.0.0.1:41999")
    assert "TOKENDECK_PASSPHRASE" not in env
    assert seen["bundle"] and seen["bundle"].rstrip().endswith("-----END CERTIFICATE-----")
    (call,) = engine.calls
    assert seen["bundle"].endswith(call["ca_cert_pem"].decode())
    assert not os.path.exists(env["SSL_CERT_FILE"])  # the bundle goes with the run
    assert engine.proxy.stopped
    user, password = call["auth"]
    assert env["HTTPS_PROXY"] == f"http://{user}:{password}@127.0.0.1:41999"
    assert call["rules"] == {env["GITHUB_TOKEN"]: ("gh", call["rules"][env["GITHUB_TOKEN"]][1])}
    assert "api.github.com" in call["rules"][env["GITHUB_TOKEN"]][1]
    assert engine.tokens == {"gh": REAL}  # the engine asks the vault; the command never sees it
    assert REAL not in r.out + r.err
    runs = audit(home, "proxy-run")
    assert [outcome for outcome, _ in runs] == ["started", "ended"]
    assert all("command=python" in (detail or "") for _, detail in runs)
    assert not any("hunter2" in (detail or "") for _, detail in runs)  # never the arguments
    assert "exit=3" in (runs[1][1] or "")


def test_e_names_the_variable_and_allow_names_the_hosts(ready: CliRunner, engine: FakeEngine, tmp_path: Path) -> None:
    r = ready("proxy", "run", "--allow", "key=api.openai.com", "-e", "OPENAI_API_KEY=key", "--", *child(tmp_path))
    assert r.code == 0, r.err
    env = json.loads((tmp_path / "child.json").read_text())["env"]
    assert env["OPENAI_API_KEY"].startswith("sk-") and "K" * 40 not in env["OPENAI_API_KEY"]
    assert "KEY_TOKEN" not in env
    assert engine.calls[0]["rules"][env["OPENAI_API_KEY"]] == ("key", ("api.openai.com",))


def test_a_missing_credential_is_exit_5_and_nothing_starts(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path
) -> None:
    r = ready("proxy", "run", "--allow", "gh", "--allow", "nope", "--", *child(tmp_path))
    assert r.code == 5 and r.err.count("\n") == 1 and "nope" in r.err
    assert engine.calls == [] and not (tmp_path / "child.json").exists()


def test_a_missing_command_is_exit_127_and_nothing_starts(ready: CliRunner, engine: FakeEngine, home: Path) -> None:
    r = ready("proxy", "run", "--allow", "gh", "--", "no-such-command-here")
    assert r.code == 127 and r.err.count("\n") == 1 and "no-such-command-here" in r.err
    assert engine.calls == [] and audit(home, "proxy-run") == []


def test_without_the_engine_it_says_so_in_one_line_and_starts_nothing(
    ready: CliRunner, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vault.proxy.engine", None)  # import fails as when the file is absent
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path))
    assert r.code == 1 and r.err.count("\n") == 1 and "engine" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "child.json").exists() and audit(home, "proxy-run") == []


def test_a_bundle_that_cannot_be_written_is_one_line_and_nothing_starts(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    monkeypatch.setenv("TOKENDECK_RUNTIME_DIR", str(shared))
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path))
    assert r.code == 1 and r.err.count("\n") == 1 and "CA bundle" in r.err
    assert engine.calls == [] and not (tmp_path / "child.json").exists()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--allow", "key", "--", "true"], "no host is known for 'key'"),
        (["--allow", "gh", "-e", "X=key", "--", "true"], "not among the --allow names"),
        (["--", "true"], "at least one --allow"),
        (["--allow", "gh"], "no command to run; usage: tokendeck proxy run --allow"),
    ],
)
def test_bad_input_is_exit_2_in_one_line(ready: CliRunner, engine: FakeEngine, argv: list[str], says: str) -> None:
    r = ready("proxy", "run", *argv)
    assert r.code == 2 and r.err.count("\n") == 1 and says in r.err, r.err
    assert engine.calls == []


def test_a_real_token_already_in_the_environment_stops_the_run(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLD_GH", "token " + REAL)
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path))
    assert r.code == 1 and r.err.count("\n") == 1 and "$OLD_GH holds the token of 'gh'" in r.err and REAL not in r.err
    assert not (tmp_path / "child.json").exists() and engine.proxy.stopped


def test_each_event_the_engine_reports_is_audited_with_the_command_name_only(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, home: Path
) -> None:
    engine.events = [
        types.SimpleNamespace(credential="gh", host="api.github.com", method="GET", path="/user", outcome="ok"),
        types.SimpleNamespace(credential="gh", host="evil.example", method="POST", path="/x", outcome="refused"),
    ]
    assert ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path)).code == 0
    with vault.open_vault(home, PASS, env={}) as v:
        rows = [(e.credential, e.outcome, e.detail) for e in v.records.audit_log() if e.action == "proxy"]
    program = os.path.basename(sys.executable)
    runs = {detail.rsplit(" run=", 1)[1] for _, detail in audit(home, "proxy-run") if detail}
    assert len(runs) == 1 and re.fullmatch(r"[0-9a-f]{8}", run := runs.pop())  # one id names the run's rows
    assert sorted(rows) == [
        ("gh", "ok", f"host=api.github.com method=GET path=/user command={program} run={run}"),
        ("gh", "refused", f"host=evil.example method=POST path=/x command={program} run={run}"),
    ]
    assert len(rows) == 2 and {o for _, o, _ in rows} == {"ok", "refused"}


def test_a_sigterm_to_the_run_is_passed_to_the_command_and_the_proxy_still_stops(
    ready: CliRunner, engine: FakeEngine, home: Path
) -> None:
    """The command sends SIGTERM to its parent (this process, running the CLI): it comes back to
    the command, which ends by it (143), and the run ends as usual."""
    script = "import os, signal, time\nos.kill(os.getppid(), signal.SIGTERM)\ntime.sleep(30)\n"
    r = ready("proxy", "run", "--allow", "gh", "--", sys.executable, "-c", script)
    assert r.code == 128 + 15, r.err
    assert engine.proxy.stopped
    assert [outcome for outcome, _ in audit(home, "proxy-run")] == ["started", "ended"]


def test_test_stand_ins_reach_the_engine_and_are_said_on_stderr(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = tmp_path / "upstream.pem"
    ca.write_text("stand-in CA")
    monkeypatch.setenv("TOKENDECK_PROXY_RESOLVE", "api.github.com=8443")
    monkeypatch.setenv("TOKENDECK_PROXY_UPSTREAM_CA", str(ca))
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path))
    assert r.code == 0, r.err
    (call,) = engine.calls
    assert call["resolve"] == {"api.github.com": ("127.0.0.1", 8443)} and call["upstream_cafile"] == str(ca)
    assert "test stand-ins in effect" in r.err and "api.github.com -> 127.0.0.1:8443" in r.err


def test_without_stand_ins_the_engine_uses_the_system_and_nothing_is_said(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path
) -> None:
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path))
    assert r.code == 0 and r.err == ""
    (call,) = engine.calls
    assert call["resolve"] == {} and call["upstream_cafile"] is None


def test_a_bad_stand_in_is_exit_2_and_nothing_starts(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("TOKENDECK_PROXY_RESOLVE", "api.github.com=evil.example:443")
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path))
    assert r.code == 2 and r.err.count("\n") == 1 and "HOST=PORT" in r.err
    assert engine.calls == [] and not (tmp_path / "child.json").exists() and audit(home, "proxy-run") == []


def test_a_port_that_cannot_be_bound_is_one_line_and_nothing_starts(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def no_port(**kwargs: Any) -> FakeProxy:
        raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))

    monkeypatch.setattr(engine, "start_proxy", no_port)
    sys.modules["vault.proxy.engine"].start_proxy = no_port  # type: ignore[attr-defined]
    r = ready("proxy", "run", "--allow", "gh", "--", *child(tmp_path))
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert "could not listen on 127.0.0.1 (Address already in use); nothing was started" in r.err
    assert not (tmp_path / "child.json").exists() and audit(home, "proxy-run") == []
