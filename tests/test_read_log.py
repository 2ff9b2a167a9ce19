"""The agent's read log (vault.services.read_log): reads gather in memory and reach the audit log
together; a vault that cannot be written keeps them; too many are dropped, and that is said."""

from __future__ import annotations

import pytest

from vault import Vault
from vault.core.clock import FrozenClock
from vault.errors import VaultUnusable
from vault.services import read_log
from vault.services.read_log import ReadLog


def rows(vault: Vault, action: str = "read") -> list[tuple[str | None, str, str | None]]:
    return [(e.credential, e.outcome, e.detail) for e in vault.records.audit_log() if e.action == action]


def test_reads_are_written_at_the_flush_each_once_per_name(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    log = ReadLog()
    log.note(["github", "github"], "tokens", "python sync.py (pid 7)")
    log.add("session", "served", "jira", "session=ab command=sh op=token")
    assert rows(vault) == []  # nothing written yet: a read costs no disk write
    assert log.flush(vault.records) == 2
    assert rows(vault) == [("github", "served", "op=tokens reader=python sync.py (pid 7)")]
    assert rows(vault, "session") == [("jira", "served", "session=ab command=sh op=token")]
    assert log.flush(vault.records) == 0  # each row once


def test_a_vault_that_cannot_be_written_keeps_the_rows_for_the_next_flush(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, _ = samples
    log = ReadLog()
    log.note(["github"], "token", "a (pid 1)")
    with monkeypatch.context() as patched:

        def full_disk(*args: object, **kwargs: object) -> None:
            raise VaultUnusable("the disk is full")

        patched.setattr(vault.records, "record_many", full_disk)
        assert log.flush(vault.records) == 0
    assert rows(vault) == []
    assert log.flush(vault.records) == 1 and [c for c, _, _ in rows(vault)] == ["github"]


def test_past_the_limit_the_oldest_are_dropped_and_the_flush_says_how_many(
    samples: tuple[Vault, FrozenClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, _ = samples
    monkeypatch.setattr(read_log, "PENDING_LIMIT", 3)
    log = ReadLog()
    for n in range(5):
        log.note(["github"], "token", f"r{n} (pid {n})")
    assert log.flush(vault.records) == 3
    assert rows(vault, "read")[0] == (None, "dropped", "2 reads were not audited (the vault could not be written)")
    assert [d for _, o, d in rows(vault) if o == "served"] == [f"op=token reader=r{n} (pid {n})" for n in (2, 3, 4)]
