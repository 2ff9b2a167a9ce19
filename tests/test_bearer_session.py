"""Issue 29: tokens for a long-lived process (the MCP bridge without an agent) come from a
vault unlocked once for the session (``SessionVault``, through ``BearerTokens``), not once per
token; the file is still opened for each use only, so other processes are not blocked, and a
key changed meanwhile is found again.  The unlocks are counted where they happen: each one
runs ``TOKENDECK_PASSPHRASE_COMMAND`` once."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import vault
from vault.errors import NoVault
from vault.integrations.bearer import BearerTokens, bearer_token
from vault.services.opening import change_to_passphrase

FIRST = "first session passphrase"
SECOND = "second session passphrase"


@pytest.fixture
def counted(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A passphrase vault holding ``gh``, unlocked by a command that logs each run; the log."""
    with vault.init_vault(mode="passphrase", passphrase=FIRST) as v:
        v.records.add_static("gh", provider="github-pat", token="ghp_session1")
    secret = tmp_path / "passphrase"
    secret.write_text(FIRST)
    runs = tmp_path / "unlocks.log"
    script = tmp_path / "passphrase_command.py"
    script.write_text(
        f"import sys\nopen({str(runs)!r}, 'a').write('run\\n')\nsys.stdout.write(open({str(secret)!r}).read())\n"
    )
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_COMMAND", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    monkeypatch.setenv("TOKENDECK_NO_AGENT", "1")
    return runs


def unlocks(runs: Path) -> int:
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def test_a_session_unlocks_once_for_many_tokens(counted: Path) -> None:
    tokens = BearerTokens()
    assert [tokens.token("gh") for _ in range(5)] == ["ghp_session1"] * 5
    assert unlocks(counted) == 1
    for _ in range(3):  # the one-shot function is as it was: an unlock per call
        assert bearer_token("gh") == "ghp_session1"
    assert unlocks(counted) == 4


def test_between_uses_the_vault_is_not_held_open(counted: Path, home: Path) -> None:
    """Another process can have the vault to itself (as a restore needs) between two tokens."""
    tokens = BearerTokens()
    assert tokens.token("gh") == "ghp_session1"
    probe = (
        "import sys; from pathlib import Path; from vault.core.walfiles import sole_user\n"
        f"with sole_user(Path({str(home / 'vault.db')!r})): print('alone')"
    )
    alone = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert alone.stdout == "alone\n", alone.stderr
    with tokens.vault.opened():  # while in use, it is held
        held = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        assert held.returncode != 0 and "open in another process" in held.stderr


def test_a_passphrase_changed_meanwhile_is_found_again(counted: Path, home: Path, tmp_path: Path) -> None:
    tokens = BearerTokens()
    assert tokens.token("gh") == "ghp_session1"
    with vault.open_vault(home, FIRST) as v:
        change_to_passphrase(v, SECOND)
        v.records.add_static("later", provider="api-key", token="tok-after-rekey")
    (tmp_path / "passphrase").write_text(SECOND)
    assert tokens.token("later") == "tok-after-rekey"  # the kept key no longer opens it: unlocked anew
    assert tokens.token("gh") == "ghp_session1"
    assert unlocks(counted) == 2


def test_a_vault_removed_meanwhile_is_not_made_again(counted: Path, home: Path, tmp_path: Path) -> None:
    tokens = BearerTokens()
    assert tokens.token("gh") == "ghp_session1"
    shutil.move(home, tmp_path / "moved")
    with pytest.raises(NoVault):
        tokens.token("gh")
    assert not home.exists()
