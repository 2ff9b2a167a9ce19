"""``tokendeck proxy run`` as users run it (issue 35): the installed command, a passphrase vault at
SQLCipher's default cost, a running agent, and a command that makes requests when told to.

The command's environment has no passphrase: with the agent unlocked, nothing is asked (the
setup, each token and the audit rows go through the agent).  The proxy's requests for
api.github.com go to a loopback HTTPS server (TOKENDECK_PROXY_RESOLVE, TOKENDECK_PROXY_UPSTREAM_CA)
that answers 401 unless it gets a token it accepts, and records what it got.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from tests.support.proxy_servers import StandInCA, make_ca, write_bundle

PASS = "proxy agent test passphrase"
REAL = "ghp_" + "R" * 36
NEW = "ghp_" + "N" * 36
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"

CHILD = r"""
import json, os, sys, urllib.error, urllib.request
proxy = os.environ["HTTPS_PROXY"]
print(json.dumps({"port": int(proxy.rsplit(":", 1)[1])}), flush=True)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy}))
for line in sys.stdin:
    if line.strip() == "quit":
        break
    request = urllib.request.Request(line.strip(), headers={"Authorization": "Bearer " + os.environ["GITHUB_TOKEN"]})
    try:
        with opener.open(request, timeout=30) as answer:
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    seen = os.environ["GITHUB_TOKEN"] in body
    print(json.dumps({"status": status, "body": body, "placeholder_echoed": seen}), flush=True)
"""
"""The command run through the proxy: says its proxy's port, then makes one request per URL it
reads (the placeholder as its bearer token), and says what came back."""


@dataclass
class Provider:
    """A loopback server standing in for api.github.com: 200 for an accepted bearer token, else 401."""

    port: int = 0
    accepted: set[str] = field(default_factory=lambda: {REAL})
    seen: list[str] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None


def serve(ca: StandInCA) -> Provider:
    provider = Provider()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            got = self.headers.get("Authorization", "")
            provider.seen.append(got)
            ok = got.removeprefix("Bearer ") in provider.accepted
            body = json.dumps({"ok": ok}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    cert_pem, key_pem = ca.leaf(["api.github.com"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    fds = [os.memfd_create("test-cert"), os.memfd_create("test-key")]
    os.write(fds[0], cert_pem)
    os.write(fds[1], key_pem)
    try:
        context.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
    finally:
        for fd in fds:
            os.close(fd)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    provider.port, provider.server = server.server_address[1], server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return provider


def tokendeck(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TOKENDECK, *argv], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


@dataclass
class Setting:
    env: dict[str, str]  # with the passphrase: to init, start and unlock the agent
    run_env: dict[str, str]  # without it: what proxy run gets
    provider: Provider


@pytest.fixture
def setting(home: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setting]:
    """The vault, its agent and the provider; ``local`` (indirect parameter): the run opens the
    vault itself (TOKENDECK_NO_AGENT, the passphrase in its environment) instead."""
    env = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    assert tokendeck(env, "init", "--passphrase").returncode == 0
    assert tokendeck(env, "add", "gh", "--provider", "github-pat", stdin=REAL).returncode == 0
    started = tokendeck(env, "agent", "start")
    assert started.returncode == 0, started.stderr
    ca = make_ca("test upstream CA")
    provider = serve(ca)
    run_env = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}
    run_env["TOKENDECK_PROXY_RESOLVE"] = f"api.github.com={provider.port}"
    run_env["TOKENDECK_PROXY_UPSTREAM_CA"] = write_bundle(tmp_path / "upstream.pem", ca.cert_pem)
    for var in ("NO_PROXY", "no_proxy"):
        run_env.pop(var, None)
    if getattr(request, "param", "agent") == "local":
        run_env.update(TOKENDECK_PASSPHRASE=PASS, TOKENDECK_NO_AGENT="1")
    try:
        yield Setting(env, run_env, provider)
    finally:
        tokendeck(env, "agent", "stop")
        assert provider.server is not None
        provider.server.shutdown()
        provider.server.server_close()


class Run:
    """``tokendeck proxy run --allow gh -- python CHILD``, driven line by line."""

    def __init__(self, setting: Setting, tmp_path: Path) -> None:
        script = tmp_path / "child.py"
        script.write_text(CHILD)
        self.process = subprocess.Popen(  # noqa: S603 - the installed command, as a user runs it
            [TOKENDECK, "proxy", "run", "--allow", "gh", "--", sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=setting.run_env,
        )
        first = self._line()
        self.port = int(str(first["port"]))

    def _line(self) -> dict[str, object]:
        out: IO[str] | None = self.process.stdout
        assert out is not None
        line = out.readline()
        if not line:
            _, err = self.process.communicate(timeout=60)
            raise AssertionError(f"proxy run ended: {self.process.returncode} {err}")
        found: dict[str, object] = json.loads(line)
        return found

    def get(self, url: str = "https://api.github.com/user") -> dict[str, object]:
        assert self.process.stdin is not None
        self.process.stdin.write(url + "\n")
        self.process.stdin.flush()
        return self._line()

    def end(self) -> tuple[int, str]:
        _, err = self.process.communicate("quit\n", timeout=60)
        return self.process.returncode, err


@pytest.fixture
def run(setting: Setting, tmp_path: Path) -> Iterator[Run]:
    started = Run(setting, tmp_path)
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
            started.process.communicate(timeout=30)


def audit_rows(setting: Setting) -> list[dict[str, object]]:
    done = tokendeck(setting.run_env, "audit", "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


pytestmark = pytest.mark.usefixtures("setting")


def test_with_the_agent_unlocked_nothing_asks_for_the_passphrase_and_tokens_come_from_it(
    setting: Setting, run: Run
) -> None:
    answer = run.get()
    code, err = run.end()

    assert answer["status"] == 200 and code == 0, err
    assert setting.provider.seen == [f"Bearer {REAL}"]
    assert "passphrase" not in err.lower() and REAL not in err
    rows = [r for r in audit_rows(setting) if r["action"] in ("proxy", "proxy-run")]
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("proxy-run", "started"),
        ("proxy", "substituted"),
        ("proxy-run", "ended"),
    ]
    runs = {str(r["detail"]).rsplit(" run=", 1)[1] for r in rows}
    assert len(runs) == 1  # every row names the run


def test_a_lock_mid_run_refuses_with_a_403_that_says_how_to_unlock_and_the_run_goes_on(
    setting: Setting, run: Run
) -> None:
    assert run.get()["status"] == 200
    assert tokendeck(setting.env, "lock").returncode == 0

    locked = run.get()
    assert locked["status"] == 403
    assert "locked" in str(locked["body"]) and "tokendeck unlock" in str(locked["body"])
    assert setting.provider.seen == [f"Bearer {REAL}"]  # the locked request reached nobody

    unlocked = tokendeck(setting.env, "unlock")
    assert unlocked.returncode == 0, unlocked.stderr
    assert run.get()["status"] == 200
    code, err = run.end()
    assert code == 0, err
    assert setting.provider.seen == [f"Bearer {REAL}"] * 2


def test_the_agent_stopping_mid_run_refuses_with_a_403_that_names_agent_start(setting: Setting, run: Run) -> None:
    assert run.get()["status"] == 200
    assert tokendeck(setting.env, "agent", "stop").returncode == 0

    gone = run.get()
    assert gone["status"] == 403 and "tokendeck agent start" in str(gone["body"])
    assert tokendeck(setting.env, "agent", "start").returncode == 0
    assert run.get()["status"] == 200
    code, err = run.end()
    assert code == 0, err
    assert setting.provider.seen == [f"Bearer {REAL}"] * 2


@pytest.mark.parametrize("setting", ["agent", "local"], indirect=True)
def test_after_revoke_the_provider_answers_401_to_the_placeholder_and_a_new_token_works_at_once(
    setting: Setting, run: Run
) -> None:
    assert run.get()["status"] == 200
    revoked = tokendeck(setting.env, "revoke", "gh", "--local", "--yes")
    assert revoked.returncode == 0, revoked.stderr

    after = [run.get(), run.get()]
    assert [a["status"] for a in after] == [401, 401]  # the provider's own answer
    assert all(seen != f"Bearer {REAL}" for seen in setting.provider.seen[1:])  # no real token after revoke
    assert all(seen.startswith("Bearer ghp_") for seen in setting.provider.seen[1:])  # the placeholder as it was

    setting.provider.accepted = {NEW}
    replaced = tokendeck(setting.env, "add", "gh", "--provider", "github-pat", "--replace", stdin=NEW)
    assert replaced.returncode == 0, replaced.stderr
    assert run.get()["status"] == 200  # nothing was kept: the next request has the new token
    code, err = run.end()

    assert code == 0
    assert setting.provider.seen[-1] == f"Bearer {NEW}"
    lines = [line for line in err.splitlines() if "gh" in line]
    assert len(lines) == 1 and "without a token" in lines[0], err  # one line, not one per request
    assert REAL not in err and NEW not in err
    outcomes = [r["outcome"] for r in audit_rows(setting) if r["action"] == "proxy"]
    assert outcomes == ["substituted", "unsubstituted", "unsubstituted", "substituted"]


@pytest.mark.parametrize("setting", ["agent", "local"], indirect=True)
def test_a_token_the_provider_refuses_is_named_once_on_stderr_and_audited(setting: Setting, run: Run) -> None:
    setting.provider.accepted = set()  # revoked at the provider; the vault does not know yet
    answers = [run.get(), run.get()]
    code, err = run.end()

    assert [a["status"] for a in answers] == [401, 401] and code == 0
    assert setting.provider.seen == [f"Bearer {REAL}"] * 2
    lines = [line for line in err.splitlines() if "refused gh's token" in line]
    assert len(lines) == 1 and "api.github.com" in lines[0] and "401" in lines[0], err
    rows = [r for r in audit_rows(setting) if r["action"] == "proxy"]
    assert [r["outcome"] for r in rows].count("upstream-refused") == 2
    assert all("run=" in str(r["detail"]) for r in rows)


def test_another_process_without_the_runs_credentials_gets_407_and_is_audited(setting: Setting, run: Run) -> None:
    stranger = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "--proxy", f"http://127.0.0.1:{run.port}", "-w", "%{http_code}",
         "-o", "/dev/null", "https://api.github.com/user"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    wrong = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "--proxy", f"http://tokendeck:guess@127.0.0.1:{run.port}",
         "-o", "/dev/null", "https://api.github.com/user"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert run.get()["status"] == 200  # the run's own command is still served
    code, err = run.end()

    assert "407" in stranger.stderr + stranger.stdout and "407" in wrong.stderr + wrong.stdout
    assert setting.provider.seen == [f"Bearer {REAL}"]  # the strangers reached nobody
    rows = [r for r in audit_rows(setting) if r["action"] == "proxy"]
    refused = [r for r in rows if r["outcome"] == "unauthenticated"]
    assert len(refused) == 2 and all("host=api.github.com" in str(r["detail"]) for r in refused)
    assert len({str(r["detail"]).rsplit(" run=", 1)[1] for r in rows}) == 1
