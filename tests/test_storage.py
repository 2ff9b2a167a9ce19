"""The encrypted file itself: modes, pragmas, schema versions, damage, and what
is (not) on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlcipher3

import vault
from vault.core import keys, store
from vault.core import store as store_module
from vault.core.migrations import LATEST_VERSION
from vault.errors import InvalidInput, NoVault, VaultBusy, VaultCorrupt, VaultTooNew, VaultUnusable, WrongPassphrase

PASS = "correct horse battery staple"
TOKENS = ["ghp_SENTINELtokenAAAA1111", "glpat-SENTINELtokenBBBB2222", "xoxp-SENTINEL-CCCC-3333"]
ACCOUNTS = ["alice.sentinel@example.com", "bob-sentinel-login"]


def files_under(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def assert_absent(home: Path, needles: list[str]) -> None:
    for path in files_under(home):
        data = path.read_bytes()
        for needle in needles:
            for form in {needle.encode(), needle.encode("utf-16-le")}:
                assert form not in data, f"{needle!r} found in {path.name}"


def make_vault(home: Path, **kw: object) -> vault.Vault:
    return vault.init_vault(home, mode="passphrase", passphrase=PASS, **kw)  # type: ignore[arg-type]


def test_files_are_private_from_the_first_byte(home: Path) -> None:
    old_umask = os.umask(0o022)  # a permissive umask must not matter
    try:
        with make_vault(home) as v:
            v.records.add_static("gh", provider="github-pat", token=TOKENS[0])
            for path in [home, *files_under(home)]:
                mode = stat.S_IMODE(path.stat().st_mode)
                assert mode == (0o700 if path.is_dir() else 0o600), (path.name, oct(mode))
            names = {p.name for p in files_under(home)}
            assert {"vault.db", "vault.json", "vault.db-wal", "vault.db-shm"} <= names
    finally:
        os.umask(old_umask)


def test_sqlite_is_configured_as_designed(home: Path) -> None:
    with make_vault(home) as v:
        conn = v.records._store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("PRAGMA cipher_version").fetchone()[0].startswith("4.")


def test_no_secret_or_account_bytes_on_disk_ever(home: Path) -> None:
    needles = TOKENS + ACCOUNTS
    with make_vault(home) as v:
        for i, token in enumerate(TOKENS):
            v.records.add_static(f"t{i}", provider="api-key", token=token, account=ACCOUNTS[i % 2])
        assert_absent(home, needles)  # while open: WAL and shm included
    assert_absent(home, needles)
    with vault.open_vault(home, PASS) as v:
        v.remove("t0")
    assert_absent(home, needles)
    with vault.open_vault(home, PASS) as v:
        vault.change_to_passphrase(v, "a whole new passphrase")
    assert_absent(home, needles + [PASS, "a whole new passphrase"])
    with vault.open_vault(home, "a whole new passphrase") as v:
        assert v.token("t1") == TOKENS[1]


def test_plain_sqlite_cannot_read_it(home: Path) -> None:
    make_vault(home).close()
    assert (home / "vault.db").read_bytes()[:16] != b"SQLite format 3\x00"


def test_wrong_passphrase_writes_nothing(home: Path) -> None:
    with make_vault(home) as v:
        v.records.add_static("gh", provider="github-pat", token=TOKENS[0])
    before = {p.name: p.read_bytes() for p in files_under(home)}
    with pytest.raises(WrongPassphrase, match="^wrong passphrase$"):
        vault.open_vault(home, "not it")
    assert {p.name: p.read_bytes() for p in files_under(home)} == before


@pytest.mark.parametrize("passphrase", ["", "\x00x"])
def test_unusable_passphrases_are_refused(home: Path, passphrase: str) -> None:
    make_vault(home).close()
    with pytest.raises(vault.VaultError):
        vault.open_vault(home, passphrase)


def test_missing_vault_is_reported(home: Path) -> None:
    with pytest.raises(NoVault, match="tokendeck init"):
        vault.open_vault(home, PASS)
    assert not home.exists()


def _set_user_version(home: Path, version: int) -> None:
    conn = sqlcipher3.connect(str(home / "vault.db"), isolation_level=None)
    conn.execute(f"PRAGMA key = '{PASS}'")
    conn.execute(f"PRAGMA kdf_iter = {keys.KDF_ITER}")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()


def test_newer_schema_is_refused_untouched(home: Path) -> None:
    make_vault(home).close()
    _set_user_version(home, LATEST_VERSION + 1)
    before = (home / "vault.db").read_bytes()
    with pytest.raises(VaultTooNew, match="upgrade tokendeck"):
        vault.open_vault(home, PASS)
    assert (home / "vault.db").read_bytes() == before


def test_older_schema_is_migrated_in_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.core import migrations

    make_vault(home).close()
    extra = migrations.Migration("0099_test_column", ("ALTER TABLE credentials ADD COLUMN test_col TEXT",))
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, extra))
    monkeypatch.setattr(store, "MIGRATIONS", (*migrations.MIGRATIONS,))
    monkeypatch.setattr(store, "LATEST_VERSION", LATEST_VERSION + 1)
    with vault.open_vault(home, PASS) as v:
        assert v.records._store.query("PRAGMA user_version")[0][0] == LATEST_VERSION + 1
        columns = [r[1] for r in v.records._store.query("PRAGMA table_info(credentials)")]
        assert "test_col" in columns


def test_failed_migration_rolls_back(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.core import migrations

    with make_vault(home) as v:
        v.records.add_static("gh", provider="github-pat", token=TOKENS[0])
    broken = migrations.Migration("0099_broken", ("ALTER TABLE credentials ADD COLUMN half TEXT", "THIS IS NOT SQL"))
    monkeypatch.setattr(store, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    monkeypatch.setattr(store, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(vault.VaultError):
        vault.open_vault(home, PASS)
    monkeypatch.undo()
    monkeypatch.setattr(keys, "KDF_ITER", 2)
    with vault.open_vault(home, PASS) as v:
        assert v.records._store.query("PRAGMA user_version")[0][0] == LATEST_VERSION
        assert "half" not in [r[1] for r in v.records._store.query("PRAGMA table_info(credentials)")]
        assert v.token("gh") == TOKENS[0]


def _vault_with_pages(home: Path) -> None:
    with make_vault(home) as v:
        for i in range(8):
            v.records.add_static(f"t{i}", provider="api-key", token="k" * 3000 + str(i))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2 + 100], id="truncated-mid-page"),
        pytest.param(lambda b: b[:8192], id="truncated-on-page-boundary"),
        pytest.param(lambda b: b[:100], id="truncated-header"),
        pytest.param(lambda b: b[:20000] + b"\x00" * 64 + b[20064:], id="zeroed-bytes"),
        pytest.param(lambda b: b[:-4096] + bytes(x ^ 0xFF for x in b[-4096:]), id="flipped-last-page"),
    ],
)
def test_damaged_vault_gives_one_clear_error_and_stays_as_is(home: Path, damage: object) -> None:
    _vault_with_pages(home)
    db = home / "vault.db"
    damaged = damage(db.read_bytes())  # type: ignore[operator]
    db.write_bytes(damaged)
    with pytest.raises((VaultCorrupt, WrongPassphrase)), vault.open_vault(home, PASS) as v:
        for c in v.credentials():
            v.get(c.name)  # a read fails if it meets the damage (SQLCipher checks each page it reads)...
        v.records.add_static("after", provider="api-key", token="k")  # ...and a write checks every page first
    assert db.read_bytes() == damaged


@pytest.mark.parametrize(
    "content",
    [b"hello, this is a text file\n" * 200, b"SQLite format 3\x00" + b"\x00" * 4080, os.urandom(8192)],
    ids=["text", "plain-sqlite-header", "random"],
)
def test_a_file_that_is_not_a_vault(home: Path, content: bytes) -> None:
    home.mkdir(mode=0o700)
    (home / "vault.db").write_bytes(content)
    with pytest.raises((WrongPassphrase, VaultCorrupt)):
        vault.open_vault(home, PASS)
    assert (home / "vault.db").read_bytes() == content


def test_a_writer_holding_the_lock_makes_others_wait_then_busy(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BUSY_TIMEOUT_SECONDS", 0.2)
    make_vault(home).close()
    holder = vault.open_vault(home, PASS)
    other = vault.open_vault(home, PASS)
    try:
        with holder.records._store.transaction() as conn:
            conn.execute(
                "INSERT INTO audit (at, action, outcome) VALUES (0, 'hold', 'ok')"
            )  # the lock is held until this block ends
            with pytest.raises(VaultBusy, match="busy"):
                other.records.add_static("gh", provider="github-pat", token=TOKENS[0])
            assert other.credentials() == []  # readers are never blocked (WAL)
        other.records.add_static("gh", provider="github-pat", token=TOKENS[0])  # free again
        assert holder.token("gh") == TOKENS[0]
    finally:
        holder.close()
        other.close()


def test_all_or_nothing_commits_every_write_together_or_none(home: Path) -> None:
    with make_vault(home) as v:
        with pytest.raises(RuntimeError), v.records.all_or_nothing():
            v.records.add_static("one", provider="api-key", token="tok-1")
            v.records.add_static("two", provider="api-key", token="tok-2")
            raise RuntimeError("the third failed")
        assert v.credentials() == [] and [e.action for e in v.records.audit_log()] == ["init"]
        with v.records.all_or_nothing():
            v.records.add_static("one", provider="api-key", token="tok-1")
            with pytest.raises(InvalidInput):  # a write that fails and is caught is undone alone
                v.records.add_static("bad", provider="api-key", token="has space")
            v.records.add_static("two", provider="api-key", token="tok-2")
    with vault.open_vault(home, PASS) as v:
        assert [c.name for c in v.credentials()] == ["one", "two"]


def test_a_home_others_can_open_is_made_private_or_refused(home: Path) -> None:
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # noqa: S103 - as mkdir with the usual umask leaves it
    make_vault(home).close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700  # init made it private
    os.chmod(home, 0o750)  # noqa: S103 - opened up by hand
    with vault.open_vault(home, PASS) as v:
        assert v.credentials() == []
    assert stat.S_IMODE(home.stat().st_mode) == 0o700  # and so does every open
    if os.getuid() != 0:
        return  # only root can give the folder to someone else
    os.chown(home, 65534, 65534)
    os.chmod(home, 0o755)  # noqa: S103 - the situation under test
    before = sorted((p.name, p.read_bytes()) for p in home.iterdir() if p.is_file())
    with pytest.raises(VaultUnusable, match="belongs to another user"):
        vault.open_vault(home, PASS)
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert sorted((p.name, p.read_bytes()) for p in home.iterdir() if p.is_file()) == before
    os.chown(home, 0, 0)


def test_a_group_commit_inside_all_or_nothing_is_part_of_it(home: Path) -> None:
    """``Store.grouped`` (the refreshes' shared commit) inside this thread's transaction runs as
    a part of that transaction, undone with it, and takes no other thread's queued work into it
    (that work must commit on its own, not be lost with this rollback)."""
    with make_vault(home) as v:
        v.records.add_static("one", provider="api-key", token="tok-1")
        store = v.records._store
        theirs = store_module._Work(lambda conn: conn.execute("UPDATE credentials SET account = 'theirs'"))
        store._queued.append(theirs)  # as another thread's save, waiting for the lock
        with pytest.raises(RuntimeError), v.records.all_or_nothing():
            store.grouped(lambda conn: conn.execute("DELETE FROM credentials WHERE name = 'one'"))
            assert not v.records.exists("one")  # seen inside the transaction
            raise RuntimeError("undo")
        assert v.records.exists("one") and not theirs.done and store._queued == [theirs]
        store.grouped(lambda conn: None)  # the next group commit takes it, as its own thread would
        assert theirs.done and theirs.error is None and v.get("one").account == "theirs"
