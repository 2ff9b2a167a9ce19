"""Issue 36: ``tokendeck proxy run --confirm`` asks before each request the proxy puts a token in,
the question naming the host the request goes to; ``--confirm=once`` asks once per credential.

The installed command, a passphrase vault, a running agent, a loopback stand-in for
api.github.com (:mod:`tests.test_proxy_agent`'s).  This test process answers the agent's
questions as the TUI does (``questions``, ``answer``): no terminal, no TUI, no bus here.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.test_proxy_agent import CHILD, REAL, TOKENDECK, Run, Setting, audit_rows, setting  # noqa: F401
from vault.agent.consent import answer_question, pending_questions

pytestmark = pytest.mark.usefixtures("setting")


class ConfirmRun(Run):
    """``tokendeck proxy run --confirm[=once] --allow gh -- python CHILD``."""

    def __init__(self, setting: Setting, tmp_path: Path, confirm: str) -> None:  # noqa: F811
        script = tmp_path / "child.py"
        script.write_text(CHILD)
        self.process = subprocess.Popen(  # noqa: S603 - the installed command, as a user runs it
            [TOKENDECK, "proxy", "run", confirm, "--allow", "gh", "--", sys.executable, str(script)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=setting.run_env,
        )  # fmt: skip
        self.port = int(str(self._line()["port"]))


def asked(home: str) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = pending_questions(home)
        if waiting:
            return waiting[0]
        time.sleep(0.05)
    raise AssertionError("no question came")


def get_answering(run: Run, home: str, allow: bool | None) -> tuple[dict[str, object], dict[str, str] | None]:
    """One request through the run; its question (if one is expected: ``allow`` not None) answered."""
    got: list[dict[str, object]] = []
    requesting = threading.Thread(target=lambda: got.append(run.get()))
    requesting.start()
    question = None
    if allow is not None:
        question = asked(home)
        assert answer_question(question["id"], allow, home) == "answered"
    requesting.join(60)
    return got[0], question


def test_confirm_asks_before_each_request_naming_its_host(setting: Setting, tmp_path: Path, home: Path) -> None:  # noqa: F811
    run = ConfirmRun(setting, tmp_path, "--confirm")
    try:
        first, question = get_answering(run, str(home), True)
        assert question is not None
        assert (question["credential"], question["purpose"]) == ("gh", "a proxied request to api.github.com")
        assert question["session"] and question["program"].endswith(", through tokendeck proxy run")
        assert first["status"] == 200
        second, _ = get_answering(run, str(home), False)
        assert second["status"] == 403
        assert "not allowed (denied)" in str(second["body"])
    finally:
        code, err = run.end()
    assert code == 0, err
    assert setting.provider.seen == [f"Bearer {REAL}"]  # the denied request went nowhere with the token
    session = [
        (r["credential"], r["outcome"]) for r in audit_rows(setting) if r["action"] == "session" and r["credential"]
    ]
    assert session == [("gh", "denied")]


def test_confirm_once_asks_once_per_credential(setting: Setting, tmp_path: Path, home: Path) -> None:  # noqa: F811
    run = ConfirmRun(setting, tmp_path, "--confirm=once")
    try:
        first, question = get_answering(run, str(home), True)
        assert question is not None and first["status"] == 200
        second, _ = get_answering(run, str(home), None)  # no question this time
        assert second["status"] == 200
    finally:
        code, err = run.end()
    assert code == 0, err
    assert setting.provider.seen == [f"Bearer {REAL}"] * 2
