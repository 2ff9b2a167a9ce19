"""``tokendeck scan --fix`` as a person runs it, in a terminal, against the loopback authorization
server: a leaked static token rotated, a leaked OAuth refresh token's grant revoked and signed in
again, the MCP config rewritten to a reference, the history line removed; the vault, the server's
records and the audit show each step.  Answering no changes nothing; a history file a shell
appended to between the scan and the yes is refused, untouched; without a terminal, one line."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from tests.support.terminal import in_a_pty, without_a_terminal

PASS = "scan fix passphrase"
TOKENDECK = os.path.join(os.path.dirname(sys.executable), "tokendeck")
URL = "https://mcp.example.com/mcp"


@dataclass
class Leaky:
    env: dict[str, str]
    home: Path
    user: Path
    static: str
    refresh: str
    access: str

    @property
    def history(self) -> Path:
        return self.user / ".bash_history"

    @property
    def config(self) -> Path:
        return self.user / ".cursor" / "mcp.json"

    @property
    def transcript(self) -> Path:
        return self.user / ".claude" / "projects" / "p" / "session.jsonl"

    @property
    def dotenv(self) -> Path:
        return self.user / "app" / ".env"

    def files(self) -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in (self.history, self.config, self.transcript, self.dotenv)}


HISTORY = "ls -la\n#1700000000\nexport GITHUB_TOKEN={}\ngit status\n"


@pytest.fixture
def leaky(home: Path, tmp_path: Path, auth_server: AuthServer, browser_log: Path) -> Iterator[Leaky]:
    static = "ghp_" + secrets.token_hex(18)
    with vault.init_vault(home, mode="passphrase", passphrase=PASS, env={}) as v:
        v.records.add_static("github", provider="github-pat", token=static)
        acme = seed(v, auth_server, "acme")
    assert acme.refresh_token is not None and acme.access_token is not None
    refresh, access = acme.refresh_token.reveal(), acme.access_token.reveal()
    user = tmp_path / "user"
    found = Leaky({}, home, user, static, refresh, access)
    found.history.parent.mkdir(parents=True)
    found.history.write_text(HISTORY.format(static))
    found.config.parent.mkdir(parents=True)
    entry = {"url": URL, "headers": {"Authorization": f"Bearer {refresh}", "X-Other": "kept"}}
    found.config.write_text(json.dumps({"mcpServers": {"acme": entry, "other": {"command": "x"}}}, indent=2) + "\n")
    found.transcript.parent.mkdir(parents=True)
    found.transcript.write_text(json.dumps({"text": f"my token is {static}"}) + "\n")
    found.dotenv.parent.mkdir(parents=True)
    found.dotenv.write_text(f"A=1\nGITHUB_TOKEN='{static}'\nB=2\n")
    env = {**os.environ, "HOME": str(user), "TOKENDECK_HOME": str(home), "TOKENDECK_PASSPHRASE": PASS}
    env |= {"TOKENDECK_NO_AGENT": "1", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    found.env = env
    yield found


def tokendeck(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOKENDECK, *argv], capture_output=True, text=True, env=env, timeout=120, check=False)


def credentials(leaky: Leaky) -> dict[str, tuple[str | None, str | None, str]]:
    with vault.open_vault(leaky.home, passphrase=PASS) as v:
        return {
            c.name: (
                c.access_token.reveal() if c.access_token else None,
                c.refresh_token.reveal() if c.refresh_token else None,
                c.stored_status,
            )
            for c in v.credentials()
        }


def fixes_audited(leaky: Leaky) -> list[tuple[str, str, str]]:
    audit = tokendeck(leaky.env, "audit", "--json")
    rows = [e for e in json.loads(audit.stdout) if e["action"] == "scan-fix"]
    return [(e["outcome"], e["credential"], e.get("detail") or "") for e in rows]


def no_secret_in(leaky: Leaky, *texts: str) -> None:
    for value in (leaky.static, leaky.refresh, leaky.access):
        assert all(value not in text for text in texts), "a secret was shown"


def test_yes_to_each_fix_rotates_revokes_rewrites_and_scrubs(leaky: Leaky, auth_server: AuthServer) -> None:
    new = "ghp_" + secrets.token_hex(18)
    shown = in_a_pty(
        [TOKENDECK, "scan", "--fix"], leaky.env, answers={"[y/N] ": "y", "The new token for github: ": new}
    )
    assert shown.code == 8, shown.text  # what is left after the fixes: old copies only (the transcript's)
    assert "after the fixes: 0 live and 1 old copy in the 4 places that held them" in shown.text, shown.text
    assert shown.asked["[y/N] "] == 5, shown.text  # github: replace, scrub, remove; acme: revoke, rewrite
    assert "github: 3 live copies" in shown.text and "acme: 1 live copy" in shown.text
    assert "Traceback" not in shown.text
    no_secret_in(leaky, shown.text)
    # the static token has the new value
    after = credentials(leaky)
    assert after["github"][0] == new
    # the old grant is revoked at the server, and a new sign-in happened
    assert auth_server.token_state(leaky.refresh) == "revoked"
    assert any(r.grant_type == "authorization_code" and r.status == 200 for r in auth_server.token_requests())
    assert after["acme"][2] == "active" and after["acme"][1] not in (None, leaky.refresh)
    # the config holds a reference and no secret; the rest of it is kept
    config = json.loads(leaky.config.read_text())
    headers = config["mcpServers"]["acme"]["headers"]
    assert headers == {"Authorization": "Bearer ${env:ACME_TOKEN}", "X-Other": "kept"}
    assert config["mcpServers"]["other"] == {"command": "x"}
    # the history entry is gone (its timestamp line too), nothing else changed
    assert leaky.history.read_text() == "ls -la\ngit status\n"
    # the .env line is gone, the others stay; the way to give it to a program is said
    assert leaky.dotenv.read_text() == "A=1\nB=2\n"
    assert "tokendeck exec -e VAR=github -- CMD" in shown.text
    # the transcript gets advice only: it still holds the (now dead) old copy
    assert leaky.static in leaky.transcript.read_text()
    assert "No edit in" in shown.text
    again = tokendeck(leaky.env, "scan")
    assert again.returncode == 8, again.stdout + again.stderr
    assert "github static token (old, raw)" in again.stdout and "LIVE" not in again.stdout
    steps = fixes_audited(leaky)
    assert [s[:2] for s in steps] == [  # {steps}
        ("revoked", "acme"), ("signed-in", "acme"), ("rewritten", "acme"),
        ("rotated", "github"), ("scrubbed", "github"), ("removed", "github"),
    ]  # fmt: skip
    assert steps[2][2] == f"path={leaky.config}" and steps[4][2] == f"path={leaky.history}"
    no_secret_in(leaky, again.stdout, again.stderr, json.dumps(steps), new)


def test_no_to_everything_changes_nothing(leaky: Leaky, auth_server: AuthServer) -> None:
    files, before = leaky.files(), credentials(leaky)
    shown = in_a_pty([TOKENDECK, "scan", "--fix"], leaky.env, answers={"[y/N] ": "n"})
    assert shown.code == 9, shown.text
    assert shown.asked["[y/N] "] == 5, shown.text
    assert leaky.files() == files
    assert credentials(leaky) == before
    assert auth_server.revocations() == []
    assert {s[0] for s in fixes_audited(leaky)} == {"declined"}
    no_secret_in(leaky, shown.text)


def test_a_history_appended_after_the_scan_is_refused_untouched(leaky: Leaky) -> None:
    appended = "echo later\n"

    def append_then_yes() -> str:
        with leaky.history.open("a") as f:
            f.write(appended)
        return "y"

    original = leaky.history.read_text()
    question = f"holding it from {leaky.history}? [y/N] "
    shown = in_a_pty(
        [TOKENDECK, "scan", "--fix"], leaky.env,
        answers={question: append_then_yes, "token with a new one? [y/N] ": "n", "sign in again? [y/N] ": "n",
                 "through tokendeck? [y/N] ": "n", ".env? [y/N] ": "n"},
    )  # fmt: skip
    assert shown.asked[question] == 1, shown.text
    assert leaky.history.read_text() == original + appended
    assert "changed since" in shown.text and "Traceback" not in shown.text, shown.text
    assert ("failed", "github", f"path={leaky.history}") in fixes_audited(leaky)


def test_without_a_terminal_one_line_and_nothing_changed(leaky: Leaky) -> None:
    files = leaky.files()
    ran = without_a_terminal([TOKENDECK, "scan", "--fix"], leaky.env)
    assert ran.returncode == 2
    err = ran.stderr.decode()
    assert len(err.splitlines()) == 1 and "terminal" in err, err
    assert ran.stdout == b""
    assert leaky.files() == files
    assert fixes_audited(leaky) == []
