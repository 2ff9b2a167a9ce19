"""A SIGKILL at every step of every write (issue 13): ``add``, ``rm``, ``rename``, ``passphrase
change`` and ``export`` run in real processes that kill themselves at each named step
(``TOKENDECK_FAULT``, :mod:`vault.core.faults`), the N-th time they reach it, for every N
until the command gets through.  After every kill the vault opens on the first try, it holds
either everything it held before or everything the command meant it to, and no plaintext is
left anywhere in the home or the export directory.

A refresh killed at each of its steps is ``tests/test_refresh_processes.py::
test_a_refresher_killed_at_any_step_loses_nothing_silently``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

import vault
from tests.test_agent_cli import TOKENDECK

PASS = "fault passphrase"
NEW = "the new fault passphrase"
TOKENS = {"gh": "ghp_faultTOKEN0001", "old": "sk_faultTOKEN0002"}
ADDED = "xoxp_faultTOKEN0003"
STEPS = ("commit", "committed")
"""Every write ends in a transaction: a kill just before its commit, and just after."""
MAX_TURNS = 12


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """A passphrase vault holding ``gh`` and ``old``, and the environment of its processes."""
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        for name, token in TOKENS.items():
            v.records.add_static(name, provider="api-key", token=token)
    (tmp_path / "work").mkdir()
    return {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "TOKENDECK_NO_AGENT": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def run(env: dict[str, str], *argv: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TOKENDECK, *argv], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )


def kills(
    env: dict[str, str], point: str, *argv: str, stdin: str = "", cwd: Path | None = None
) -> Iterator[tuple[int, bool]]:
    """Run the command killed the 1st, 2nd, ... time it reaches ``point``, until it gets
    through; yields (turn, whether that run was killed).  The caller checks and restores
    the vault after each."""
    for turn in range(1, MAX_TURNS + 1):
        done = run({**env, "TOKENDECK_FAULT": f"{point}:{turn}"}, *argv, stdin=stdin, cwd=cwd)
        killed = done.returncode == -signal.SIGKILL
        assert killed or done.returncode == 0, done.stderr
        assert not done.stderr.count("Traceback")
        yield turn, killed
        if not killed:
            return
    raise AssertionError(f"{argv} reached {point} more than {MAX_TURNS} times")


def names(env: dict[str, str]) -> dict[str, str]:
    """Every credential and its token, read by a fresh process that must open on the first try."""
    listed = run(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    found = {}
    for row in json.loads(listed.stdout):
        token = run(env, "token", row["name"])
        assert token.returncode == 0, token.stderr
        found[row["name"]] = token.stdout.strip()
    return found


def plaintext_in(*directories: Path, secrets: tuple[str, ...]) -> list[str]:
    """Every file under ``directories`` that holds one of ``secrets`` in the clear."""
    hits = []
    for directory in directories:
        for path in directory.rglob("*"):
            if path.is_file() and any(s.encode() in path.read_bytes() for s in secrets):
                hits.append(str(path))
    return hits


ALL_SECRETS = (*TOKENS.values(), ADDED, PASS, NEW)


@pytest.mark.parametrize("point", STEPS)
def test_add_killed_at_each_step(env: dict[str, str], home: Path, point: str) -> None:
    for turn, killed in kills(env, point, "add", "slack", "--provider", "api-key", stdin=ADDED + "\n"):
        now = names(env)
        assert now in (TOKENS, {**TOKENS, "slack": ADDED}), f"turn {turn}"
        assert plaintext_in(home, secrets=ALL_SECRETS) == []
        if not killed:
            assert now == {**TOKENS, "slack": ADDED}
        elif "slack" in now:
            assert run(env, "rm", "slack", "--yes").returncode == 0


@pytest.mark.parametrize("point", STEPS)
def test_rm_killed_at_each_step(env: dict[str, str], home: Path, point: str) -> None:
    for turn, killed in kills(env, point, "rm", "old", "--yes"):
        now = names(env)
        assert now in (TOKENS, {"gh": TOKENS["gh"]}), f"turn {turn}"
        assert plaintext_in(home, secrets=ALL_SECRETS) == []
        if not killed:
            assert now == {"gh": TOKENS["gh"]}
        elif "old" not in now:
            assert run(env, "add", "old", "--provider", "api-key", stdin=TOKENS["old"] + "\n").returncode == 0


@pytest.mark.parametrize("point", STEPS)
def test_rename_killed_at_each_step(env: dict[str, str], home: Path, point: str) -> None:
    renamed = {"gh": TOKENS["gh"], "new": TOKENS["old"]}
    for turn, killed in kills(env, point, "rename", "old", "new"):
        now = names(env)
        assert now in (TOKENS, renamed), f"turn {turn}: never both names, never neither"
        assert plaintext_in(home, secrets=ALL_SECRETS) == []
        if not killed:
            assert now == renamed
        elif "new" in now:
            assert run(env, "rename", "new", "old").returncode == 0


PASSPHRASE_STEPS = ("commit", "committed", "rekey-announced", "rekeyed", "checkpointed")


@pytest.mark.parametrize("point", PASSPHRASE_STEPS)
def test_passphrase_change_killed_at_each_step_opens_with_exactly_one_passphrase(
    env: dict[str, str], home: Path, point: str
) -> None:
    """Issue 13, item 2: at every step, exactly one of the two passphrases opens the vault on
    the first try, and the other is refused with a message that names the one that works."""
    change = {**env, "TOKENDECK_NEW_PASSPHRASE": NEW}
    for turn, killed in kills(change, point, "passphrase", "change"):
        in_flight = "pending" in json.loads((home / "vault.json").read_text())
        old_try = run(env, "token", "gh")
        new_try = run({**env, "TOKENDECK_PASSPHRASE": NEW}, "token", "gh")
        opened = [try_.returncode == 0 for try_ in (old_try, new_try)]
        assert opened.count(True) == 1, f"turn {turn}: {old_try.stderr}{new_try.stderr}"
        works, refused, current = (old_try, new_try, PASS) if opened[0] else (new_try, old_try, NEW)
        assert works.stdout == TOKENS["gh"] + "\n"
        assert refused.returncode == 3 and refused.stderr.count("\n") == 1
        if in_flight and refused is new_try:  # cut short before the re-encryption
            assert "it still opens with the old passphrase" in refused.stderr, refused.stderr
        elif in_flight:  # cut short after it
            assert "unlock it with the new passphrase" in refused.stderr, refused.stderr
        else:  # not begun, or done but for its audit row
            assert refused.stderr == "tokendeck: wrong passphrase\n"
        assert names({**env, "TOKENDECK_PASSPHRASE": current}) == TOKENS
        assert plaintext_in(home, secrets=ALL_SECRETS) == []
        if not killed:
            assert current == NEW
        elif current == NEW:  # back to the start, so the next turn kills the same change again
            back = {**env, "TOKENDECK_PASSPHRASE": NEW, "TOKENDECK_NEW_PASSPHRASE": PASS}
            assert run(back, "passphrase", "change").returncode == 0


def test_a_passphrase_change_cut_short_after_re_encrypting_opens_with_the_new_one_first_time(
    env: dict[str, str], home: Path
) -> None:
    """The exact case the review hit: killed right after the re-key returned.  The new
    passphrase opens on the first try (not "damaged"), finishes the change in ``vault.json``,
    and the old one is told to use the new one."""
    killed = run({**env, "TOKENDECK_NEW_PASSPHRASE": NEW, "TOKENDECK_FAULT": "rekeyed"}, "passphrase", "change")
    assert killed.returncode == -signal.SIGKILL
    assert (home / "vault.db-wal").stat().st_size > 32  # the re-encrypted pages are still only in the WAL
    assert json.loads((home / "vault.json").read_text())["pending"]["mode"] == "passphrase"
    old = run(env, "token", "gh")
    assert (old.returncode, old.stderr) == (
        3,
        "tokendeck: that is the old key: a passphrase change was cut short after the vault was re-encrypted; "
        "unlock it with the new passphrase\n",
    )
    new = run({**env, "TOKENDECK_PASSPHRASE": NEW}, "token", "gh")
    assert (new.returncode, new.stdout) == (0, TOKENS["gh"] + "\n"), new.stderr
    assert "pending" not in json.loads((home / "vault.json").read_text())


@pytest.mark.parametrize("point", ("export-temp", "export-renamed", *STEPS))
def test_a_plaintext_export_killed_at_each_step(env: dict[str, str], home: Path, tmp_path: Path, point: str) -> None:
    """The target holds the old contents or the new, never half; a temp file a kill leaves is
    owner-only and the next export removes it; nothing else holds the token."""
    work = tmp_path / "work"
    target = work / ".env"
    written = f"KEEP=1\nGH_TOKEN='{TOKENS['gh']}'\n"
    target.write_text("KEEP=1\n")
    argv = ("export", "dotenv", "--name", "gh", "--var", "GH_TOKEN", "--file", str(target), "--plaintext")
    for turn, killed in kills(env, point, *argv, cwd=work):
        text = target.read_text()
        assert text in ("KEEP=1\n", written), f"turn {turn}: {text!r}"
        leftovers = [p for p in work.iterdir() if p != target]
        assert all(p.stat().st_mode & 0o077 == 0 for p in leftovers)
        assert plaintext_in(home, secrets=ALL_SECRETS) == []
        if not killed:
            assert leftovers == [] and text == written
        for leftover in leftovers:  # older than a write in progress could be: the next export's to remove
            os.utime(leftover, (leftover.stat().st_atime - 120, leftover.stat().st_mtime - 120))
        assert names(env) == TOKENS


class Killed(BaseException):
    """What a kill at a fault point is, in-process: nothing after it runs (the store is then
    abandoned, not closed, as a dead process's would be)."""


@pytest.mark.parametrize("point", ("rekey-announced", "rekeyed", "checkpointed"))
@pytest.mark.parametrize("to", ["keyring", "passphrase"])
def test_a_key_mode_change_cut_short_opens_with_exactly_one_key(
    home: Path, monkeypatch: pytest.MonkeyPatch, point: str, to: str
) -> None:
    """Passphrase → keyring and keyring → passphrase, cut short at each step: the vault opens
    on the first try with the key the file is under now, and ``vault.json`` ends up naming it."""
    from vault.core import faults
    from vault.services.opening import change_to_keyring, change_to_passphrase

    start: Literal["keyring", "passphrase"] = "passphrase" if to == "keyring" else "keyring"
    v = vault.init_vault(home, mode=start, passphrase=PASS if start == "passphrase" else None)
    v.records.add_static("gh", provider="api-key", token=TOKENS["gh"])

    def die(at: str) -> None:
        if at == point:
            raise Killed

    monkeypatch.setattr(faults, "reached", die)
    with pytest.raises(Killed):
        change_to_keyring(v) if to == "keyring" else change_to_passphrase(v, NEW)
    monkeypatch.undo()
    copy = home.parent / "after-the-kill"  # the files as the dead process left them
    copy.mkdir(mode=0o700)
    for path in home.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    re_encrypted = point != "rekey-announced"
    passphrase = NEW if to == "passphrase" else PASS
    opened = vault.open_vault(copy, passphrase)
    with opened:
        assert opened.token("gh") == TOKENS["gh"]
        assert opened.records.mode == (to if re_encrypted else start)
    assert "pending" not in json.loads((copy / "vault.json").read_text()) or not re_encrypted
    v.records._store._conn.close()


def test_a_passphrase_change_in_the_process_that_made_the_vault(home: Path) -> None:
    """The salt a re-key keeps is the one the vault was made with, also before any reopen."""
    from vault.services.opening import change_to_passphrase

    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        v.records.add_static("gh", provider="api-key", token=TOKENS["gh"])
        change_to_passphrase(v, NEW)
    with vault.open_vault(home, NEW) as v:
        assert v.token("gh") == TOKENS["gh"]
    with pytest.raises(vault.WrongPassphrase, match="^wrong passphrase$"):
        vault.open_vault(home, PASS)
