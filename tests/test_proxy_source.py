"""Where ``tokendeck proxy run`` gets its setup and writes its audit (issue 35): one setup function
that the agent's ``proxy-setup`` request and the local path both run, and the audit rows written by
one thread off the proxy's request path, none lost when the run ends."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.cli import CliRunner
from vault.agent.ops import OPS
from vault.core.repository import Repository
from vault.errors import InvalidInput, NotFound
from vault.proxy.source import AuditWriter
from vault.services import proxying

PASS = "correct horse battery staple"
REAL = "ghp_" + "R" * 36
WRITER = "tokendeck-proxy-audit"


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str) -> CliRunner:
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin=REAL + "\n").code == 0
    assert cli("add", "key", "--provider", "api-key", stdin="sk-" + "K" * 40 + "\n").code == 0
    return cli


def test_the_agents_setup_answer_is_the_local_setup(ready: CliRunner, home: Path) -> None:
    allowed = [("gh", None), ("key", ("api.openai.com",))]
    with vault.open_vault(home, PASS, env={}) as v:
        local = proxying.setup(v, allowed)
        served = proxying.ProxySetup.from_fields(OPS["proxy-setup"](v, [proxying.allowed_to_field(allowed)]))

    assert [(c.name, c.base, c.hosts) for c in served.credentials] == [
        (c.name, c.base, c.hosts) for c in local.credentials
    ]
    assert served.credentials[0].token is not None and served.credentials[0].token.reveal() == REAL
    assert "api.github.com" in served.credentials[0].hosts and served.credentials[1].hosts == ("api.openai.com",)
    assert served.ca_cert_pem == local.ca_cert_pem and served.ca_key_pem.reveal() == local.ca_key_pem.reveal()


@pytest.mark.parametrize(
    ("allowed", "error"), [([("gh", None), ("nope", None)], NotFound), ([("key", None)], InvalidInput)]
)
def test_the_agents_setup_refuses_as_the_local_one_does(
    ready: CliRunner, home: Path, allowed: list[tuple[str, None]], error: type[Exception]
) -> None:
    with vault.open_vault(home, PASS, env={}) as v:
        with pytest.raises(error) as local:
            proxying.setup(v, allowed)
        with pytest.raises(error) as served:
            OPS["proxy-setup"](v, [proxying.allowed_to_field(allowed)])
    assert str(served.value) == str(local.value)


def test_the_agent_writes_only_the_proxys_audit_rows(ready: CliRunner, home: Path) -> None:
    when = 1_700_000_000.5  # when it happened: a row written late (the agent was locked) keeps it
    rows: list[proxying.Row] = [("proxy", "substituted", "gh", "host=api.github.com run=0000abcd", when)]
    with vault.open_vault(home, PASS, env={}) as v:
        assert OPS["proxy-audit"](v, [proxying.rows_to_field(rows)]) == []
        with pytest.raises(InvalidInput):
            OPS["proxy-audit"](v, [proxying.rows_to_field([("revoke", "ok", "gh", None, when)])])
        written = [(e.action, e.outcome, e.credential, e.detail, e.at) for e in v.records.audit_log() if e.credential]
    assert ("proxy", "substituted", "gh", "host=api.github.com run=0000abcd", when) in written
    assert not any(action == "revoke" for action, *_ in written)


def test_the_writer_writes_every_row_in_order_on_its_own_thread() -> None:
    written: list[tuple[str, proxying.Row]] = []

    def write(rows: list[proxying.Row]) -> bool:
        written.extend((threading.current_thread().name, row) for row in rows)
        return True

    writer = AuditWriter(write)
    rows: list[proxying.Row] = [("proxy", "substituted", "gh", f"n={n}", float(n)) for n in range(450)]
    for row in rows:
        writer.put(row)

    assert writer.close() == []
    assert [row for _, row in written] == rows
    assert {thread for thread, _ in written} == {WRITER}


def test_rows_that_cannot_be_written_are_kept_and_handed_back_at_the_end() -> None:
    calls: list[int] = []

    def locked(rows: list[proxying.Row]) -> bool:
        calls.append(len(rows))
        if len(calls) == 1:
            raise RuntimeError("busy")
        return False

    writer = AuditWriter(locked)
    rows: list[proxying.Row] = [("proxy", "refused", "gh", "a", 1.0), ("proxy-run", "ended", None, "b", 2.0)]
    for row in rows:
        writer.put(row)

    assert writer.close() == rows
    assert calls  # it tried


class FakeEngine:
    """An engine that reports two events from a thread of its own, as proxy.py's threads do."""

    def __init__(self) -> None:
        self.reporters: list[str] = []

    def start_proxy(self, **kwargs: Any) -> Any:
        def report() -> None:
            self.reporters.append(threading.current_thread().name)
            for outcome in ("substituted", "refused"):
                event = types.SimpleNamespace(
                    credential="gh", host="api.github.com", method="GET", path="/", outcome=outcome
                )
                kwargs["on_event"](event)

        thread = threading.Thread(target=report, name="tokendeck-proxy-conn")
        thread.start()
        thread.join()
        return types.SimpleNamespace(port=41999, stop=lambda: None)


def test_a_run_writes_its_audit_rows_on_the_writer_thread_not_the_proxys(
    ready: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine()
    module = types.ModuleType("vault.proxy.engine")
    module.start_proxy = engine.start_proxy  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vault.proxy.engine", module)
    writers: list[str] = []
    original = Repository.record_many

    def record_many(self: Repository, rows: Any) -> None:
        rows = list(rows)
        writers.extend(threading.current_thread().name for _ in rows)
        original(self, rows)

    monkeypatch.setattr(Repository, "record_many", record_many)

    r = ready("proxy", "run", "--allow", "gh", "--", sys.executable, "-c", "pass")

    assert r.code == 0, r.err
    assert engine.reporters == ["tokendeck-proxy-conn"]
    assert writers and set(writers) == {WRITER}
    with vault.open_vault(home, PASS, env={}) as v:
        actions = [(e.action, e.outcome) for e in v.records.audit_log() if e.action in ("proxy", "proxy-run")]
    assert actions == [("proxy", "substituted"), ("proxy", "refused"), ("proxy-run", "started"), ("proxy-run", "ended")]
