"""``tokendeck backup`` and ``tokendeck restore``: a consistent, encrypted copy taken while
another process writes, and a restore that proves the backup before it replaces anything.
Every refusal leaves the vault's files byte for byte as they were."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.memory_keyring import MemoryKeyring

REPO = Path(__file__).resolve().parent.parent
PASS = "correct horse battery staple"

WRITER = """
import sys, vault
with vault.open_vault() as v:
    v.records.add_static("held-0", provider="api-key", token="tok-held-0")
    print("ready", flush=True)
    for i in range(1, 200):
        v.records.add_static(f"held-{i}", provider="api-key", token=f"tok-held-{i}")
    print("written", flush=True)
    sys.stdin.readline()
"""
"""Opens the vault, adds credentials while the test backs up, then holds it open until told."""


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str) -> CliRunner:
    """A passphrase vault holding ``gh``."""
    assert cli("init", "--passphrase").code == 0
    assert cli("add", "gh", "--provider", "github-pat", "--account", "alice", stdin="ghp_secret_one\n").code == 0
    return cli


def files(home: Path) -> dict[str, bytes]:
    """Every file in the vault home (not below it), by name: what "left as it was" compares."""
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.is_file()}


def names(home: Path, passphrase: str = PASS) -> set[str]:
    with vault.open_vault(home, passphrase) as v:
        return {c.name for c in v.credentials()}


@pytest.fixture
def holder(home: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with the vault open, writing while the test runs."""
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER], env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield proc
    proc.communicate("done\n", timeout=60)
    assert proc.returncode == 0


# --------------------------------------------------------------------- backup


def test_a_backup_is_encrypted_private_and_opens_as_the_vault(ready: CliRunner, home: Path, tmp_path: Path) -> None:
    target = tmp_path / "vault-backup.zip"
    r = ready("backup", str(target))
    assert r.code == 0 and "backed up 1 credential to" in r.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    data = target.read_bytes()
    assert b"ghp_secret_one" not in data and b"alice" not in data  # the database inside is encrypted
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("tokendeck-backup.json"))
        assert manifest["credentials"] == 1 and manifest["key"]["mode"] == "passphrase"
        assert set(archive.namelist()) == {"tokendeck-backup.json", "vault.db"}
    with vault.open_vault(home, PASS) as v:
        assert "backup" in [e.action for e in v.records.audit_log()]


def test_a_backup_taken_while_another_process_writes_has_what_cp_loses(
    ready: CliRunner, home: Path, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    assert holder.stdout is not None
    # What a plain cp of vault.db gets: the holder's first writes still sit in the -wal.
    copied = tmp_path / "cp"
    copied.mkdir()
    shutil.copy(home / "vault.db", copied / "vault.db")
    shutil.copy(home / "vault.json", copied / "vault.json")
    r = ready("backup", str(tmp_path / "b.zip"))  # while the holder goes on writing
    assert r.code == 0, r.err
    assert "held-0" not in names(copied)
    restored = tmp_path / "restored"
    ready.monkeypatch.setenv("TOKENDECK_HOME", str(restored))
    assert ready("restore", str(tmp_path / "b.zip")).code == 0  # an empty home needs no --yes
    got = names(restored)
    assert {"gh", "held-0"} <= got  # a consistent snapshot: every write up to a point, none torn
    held = sorted(int(n.split("-")[1]) for n in got if n.startswith("held-"))
    assert held == list(range(len(held)))
    with vault.open_vault(restored, PASS) as v:
        v.records.verify()
        assert v.token("held-0") == "tok-held-0"


def test_backup_refuses_an_existing_file_and_the_vaults_own_folder(
    ready: CliRunner, home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "b.zip"
    target.write_text("keep me")
    r = ready("backup", str(target))
    assert r.code == 1 and "pass --force" in r.err and target.read_text() == "keep me"
    assert ready("backup", str(target), "--force").code == 0 and zipfile.is_zipfile(target)
    r = ready("backup", str(home / "b.zip"))
    assert r.code == 2 and "somewhere else" in r.err and not (home / "b.zip").exists()
    r = ready("backup", str(tmp_path / "no-such-dir" / "b.zip"))
    assert r.code == 2 and "no folder" in r.err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


# -------------------------------------------------------------------- restore


def test_restore_asks_keeps_the_replaced_vault_and_brings_the_backup_back(
    ready: CliRunner, home: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "b.zip"
    assert ready("backup", str(backup)).code == 0
    assert ready("add", "later", "--provider", "api-key", stdin="tok-later\n").code == 0
    before = files(home)

    piped = ready("restore", str(backup))
    assert piped.code == 2 and "pass --yes" in piped.err and "1 credential)" in piped.err
    declined = ready("restore", str(backup), tty=True, answers=["n"])
    assert declined.code == 1 and "nothing was restored" in declined.err
    assert files(home) == before and not list(home.glob("before-restore-*"))

    done = ready("restore", str(backup), tty=True, answers=["y"])
    assert done.code == 0, done.err
    assert names(home) == {"gh"}
    (kept,) = home.glob("before-restore-*")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700 and f"TOKENDECK_HOME={kept}" in done.err
    assert names(kept) == {"gh", "later"}  # the replaced vault, whole, still opens


def test_a_keyring_backup_needs_that_keyring_and_a_passphrase_backup_travels(
    cli: CliRunner, home: Path, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_secret_one\n").code == 0
    here, travels = tmp_path / "here.zip", tmp_path / "travels.zip"
    r = cli("backup", str(here))
    assert r.code == 0 and "opens only here" in r.err
    monkeypatch.setenv("TOKENDECK_NEW_PASSPHRASE", "a backup passphrase")
    assert cli("backup", str(travels), "--passphrase").code == 0

    elsewhere = tmp_path / "other-machine"
    monkeypatch.setenv("TOKENDECK_HOME", str(elsewhere))
    memory_keyring.entries.clear()  # another machine: its keyring does not have the key
    r = cli("restore", str(here))
    assert r.code == 3 and "--passphrase" in r.err and "Traceback" not in r.err
    assert not elsewhere.exists() or not (elsewhere / "vault.db").exists()

    monkeypatch.setenv("TOKENDECK_PASSPHRASE", "not it")
    r = cli("restore", str(travels))
    assert r.code == 3 and "wrong passphrase for this backup" in r.err
    assert not (elsewhere / "vault.db").exists()

    monkeypatch.setenv("TOKENDECK_PASSPHRASE", "a backup passphrase")
    assert cli("restore", str(travels)).code == 0
    assert json.loads((elsewhere / "vault.json").read_text())["mode"] == "passphrase"
    assert cli("token", "gh").out == "ghp_secret_one\n"


def test_restore_refuses_a_vault_another_process_has_open(
    ready: CliRunner, home: Path, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    assert ready("backup", str(tmp_path / "b.zip")).code == 0
    assert holder.stdout is not None and holder.stdout.readline().startswith("written")
    before = files(home)
    r = ready("restore", str(tmp_path / "b.zip"), "--yes")
    assert r.code == 6 and "open in another process" in r.err and "agent stop" in r.err
    assert files(home) == before and not list(home.glob("before-restore-*"))


def _damaged(backup: Path, out: Path) -> Path:
    """``backup`` with bytes in the middle of its database flipped, and its zip checksum made to match."""
    with zipfile.ZipFile(backup) as archive:
        manifest, db = archive.read("tokendeck-backup.json"), bytearray(archive.read("vault.db"))
    db[9000:9016] = bytes(b ^ 0xFF for b in db[9000:9016])
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("tokendeck-backup.json", manifest)
        archive.writestr("vault.db", bytes(db))
    return out


@pytest.mark.parametrize(
    ("make", "code", "said"),
    [
        ("text", 2, "is not a tokendeck backup"),
        ("sqlite", 2, "is not a tokendeck backup"),
        ("foreign-zip", 2, "is not a tokendeck backup"),
        ("truncated", 2, "is not a tokendeck backup, or is damaged"),
        ("flipped-zip", 1, "is damaged"),
        ("damaged-pages", 1, "does not pass the integrity check"),
        ("missing", 2, "no backup at"),
    ],
)
def test_restore_refuses_a_corrupt_or_foreign_file_and_changes_nothing(
    ready: CliRunner, home: Path, tmp_path: Path, make: str, code: int, said: str
) -> None:
    good = tmp_path / "good.zip"
    assert ready("backup", str(good)).code == 0
    bad = tmp_path / f"{make}.zip"
    if make == "text":
        bad.write_text("GITHUB_TOKEN=ghp_x\n")
    elif make == "sqlite":
        sqlite3.connect(bad).execute("CREATE TABLE t(x)").connection.close()
    elif make == "foreign-zip":
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("README", "hello")
    elif make == "truncated":
        bad.write_bytes(good.read_bytes()[:5000])
    elif make == "flipped-zip":
        data = bytearray(good.read_bytes())
        data[len(data) // 2] ^= 0xFF  # the stored database's bytes: the zip checksum no longer matches
        bad.write_bytes(bytes(data))
    elif make == "damaged-pages":
        _damaged(good, bad)
    before = files(home)
    r = ready("restore", str(bad), "--yes")
    assert r.code == code and said in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert files(home) == before and not list(home.glob("before-restore-*"))
    assert not [p for p in home.iterdir() if p.name.startswith(".restore")]
