"""Undoing a delete, a rename and a token replace (vault.services.undo): put back exactly,
and refused, with nothing written, when another vault handle changed the credential meanwhile."""

from __future__ import annotations

import pytest

from vault import Vault, open_vault
from vault.core.clock import FrozenClock
from vault.errors import UndoRefused
from vault.services import undo
from vault.services.static_tokens import rotate


def other_process(vault: Vault) -> Vault:
    """A second handle on the same file: what another process's writes look like."""
    return open_vault(vault.paths.home, clock=vault.clock)


def token_of(vault: Vault, name: str) -> str:
    credential = vault.get(name)
    assert credential.access_token is not None
    return credential.access_token.reveal()


def test_a_delete_is_put_back_exactly(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    records = vault.records
    records.links.add_export_binding("github", target="dotenv", path="/tmp/p/.env", key="GH", options={"a": "1"})
    records.links.map_git_host("github.com", "github", "octocat")
    before = vault.get("github")
    change = undo.delete(records, "github")
    assert not records.exists("github")
    assert records.links.git_hosts() == []

    assert undo.undo(records, change) == "github is back."
    after = vault.get("github")
    assert (after.access_token, after.account, after.expires_at, after.provider) == (
        before.access_token, before.account, before.expires_at, before.provider
    )  # fmt: skip
    assert [(b.target, b.path, b.key, b.options) for b in records.links.export_bindings("github")] == [
        ("dotenv", "/tmp/p/.env", "GH", {"a": "1"})
    ]
    assert records.links.git_hosts() == [("github.com", "github", "octocat")]


def test_a_delete_is_not_undone_over_a_new_credential_of_that_name(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    change = undo.delete(vault.records, "github")
    with other_process(vault) as other:
        other.records.add_static("github", provider="api-key", token="ghp_someone-elses")
    with pytest.raises(UndoRefused, match="exists again"):
        undo.undo(vault.records, change)
    assert token_of(vault, "github") == "ghp_someone-elses"  # the new one stays, untouched


def test_a_rename_is_renamed_back(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    change = undo.rename(vault.records, "github", "gh")
    assert undo.undo(vault.records, change) == "gh is github again."
    assert vault.records.exists("github") and not vault.records.exists("gh")


def test_a_rename_is_not_undone_when_the_old_name_was_taken_back(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    change = undo.rename(vault.records, "github", "gh")
    with other_process(vault) as other:
        other.records.add_static("github", provider="api-key", token="ghp_new-one")
    with pytest.raises(UndoRefused, match="taken again"):
        undo.undo(vault.records, change)
    assert token_of(vault, "github") == "ghp_new-one"
    assert token_of(vault, "gh") == "ghp_test2"


def test_a_token_replace_puts_the_old_value_back(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    before = vault.get("github")
    rotate(vault.records, "github", "ghp_rotated")
    change = undo.replaced(vault.records, before)
    assert undo.undo(vault.records, change) == "github holds its previous token again."
    assert token_of(vault, "github") == "ghp_test2"
    assert vault.get("github").expires_at == before.expires_at


def test_a_token_replace_is_not_undone_after_another_process_changed_it(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    before = vault.get("github")
    rotate(vault.records, "github", "ghp_rotated")
    change = undo.replaced(vault.records, before)
    with other_process(vault) as other:
        rotate(other.records, "github", "ghp_rotated-elsewhere")
    with pytest.raises(UndoRefused, match="changed since; nothing was undone"):
        undo.undo(vault.records, change)
    assert token_of(vault, "github") == "ghp_rotated-elsewhere"  # nothing overwritten


def test_a_read_elsewhere_does_not_block_the_undo(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    before = vault.get("github")
    rotate(vault.records, "github", "ghp_rotated")
    change = undo.replaced(vault.records, before)
    with other_process(vault) as other:
        other.records.touch(other.get("github"), clock.now() + 120)  # `tokendeck token github` stamps a read
    undo.undo(vault.records, change)
    assert token_of(vault, "github") == "ghp_test2"


def test_the_token_an_undo_replaced_leaves_no_old_copy_behind(samples: tuple[Vault, FrozenClock]) -> None:
    vault, _ = samples
    before = vault.get("github")
    rotate(vault.records, "github", "ghp_rotated")
    undo.undo(vault.records, undo.replaced(vault.records, before))
    assert not vault.records._old_copies  # noqa: SLF001 - nothing owed to settle(): the WAL was checkpointed
