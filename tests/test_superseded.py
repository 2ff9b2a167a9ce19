"""The secrets a change replaced are kept only as keyed hashes (``vault.core.superseded``):
every path that replaces or deletes a token or a client secret records one, the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.tui import new_vault
from vault.core.model import ClientRegistration, Credential
from vault.core.secret import Secret
from vault.core.superseded import digest
from vault.services.tokens import Vault

START = 1_800_000_000.0


@pytest.fixture
def vault() -> Iterator[Vault]:
    opened, _clock = new_vault(START)
    with opened:
        yield opened


def oauth(access: str, refresh: str, name: str = "github") -> Credential:
    return Credential(
        name=name,
        provider="github",
        kind="oauth",
        access_token=Secret(access),
        refresh_token=Secret(refresh),
        token_type="Bearer",
        scopes=("repo",),
        expires_at=START + 3600,
        created_at=START,
        updated_at=START,
    )


def kept(vault: Vault) -> list[tuple[str, str, int, bytes]]:
    return [(e.credential, e.kind, e.length, e.digest) for e in vault.records.superseded.entries()]


def hashed(vault: Vault, value: str) -> bytes:
    return digest(vault.records.superseded.scan_key(), value)


def test_a_replaced_static_token_is_kept_as_its_keyed_hash_only(vault: Vault) -> None:
    vault.records.add_static("openai", provider="api-key", token="sk-old-value-123")
    assert kept(vault) == []
    vault.records.add_static("openai", provider="api-key", token="sk-new-value-456", replace=True)
    assert kept(vault) == [("openai", "static token", 16, hashed(vault, "sk-old-value-123"))]
    vault.records.add_static("openai", provider="api-key", token="sk-new-value-456", replace=True)
    assert len(kept(vault)) == 1, "storing the same value again replaces nothing"


def test_a_refresh_a_new_sign_in_a_revoke_and_a_delete_each_keep_what_they_replaced(vault: Vault) -> None:
    records = vault.records
    records.save(oauth("at-1-aaaaaaaa", "rt-1-bbbbbbbb"))
    records.save_refreshed(oauth("at-2-cccccccc", "rt-2-dddddddd"), sent_refresh_token="rt-1-bbbbbbbb", detail="")
    records.save(oauth("at-3-eeeeeeee", "rt-3-ffffffff"), action="login")  # signed in again
    records.erase_secrets("github")  # revoked
    records.rename("github", "gh")
    records.save(oauth("at-4-gggggggg", "rt-4-hhhhhhhh", name="gh"))  # its old copies moved with the name
    records.remove("gh")
    access = ("at-1-aaaaaaaa", "at-2-cccccccc", "at-3-eeeeeeee", "at-4-gggggggg")
    refresh = ("rt-1-bbbbbbbb", "rt-2-dddddddd", "rt-3-ffffffff", "rt-4-hhhhhhhh")
    expected = {("gh", "access token", hashed(vault, v)) for v in access}
    expected |= {("gh", "refresh token", hashed(vault, v)) for v in refresh}
    assert {(c, k, d) for c, k, _n, d in kept(vault)} == expected


def test_a_replaced_client_secret_is_kept(vault: Vault) -> None:
    def client(secret: str) -> ClientRegistration:
        return ClientRegistration(provider="acme", base="oidc", client_id="id-1", client_secret=Secret(secret))

    vault.records.set_client(client("cs-old-111111"))
    vault.records.set_client(client("cs-new-222222"))
    vault.records.remove_client("acme")
    assert {(c, k, d) for c, k, _n, d in kept(vault)} == {
        ("client of acme", "client secret", hashed(vault, "cs-old-111111")),
        ("client of acme", "client secret", hashed(vault, "cs-new-222222")),
    }


def test_the_vault_file_holds_no_replaced_value_in_any_column(vault: Vault) -> None:
    vault.records.add_static("openai", provider="api-key", token="sk-old-value-123")
    vault.records.add_static("openai", provider="api-key", token="sk-new-value-456", replace=True)
    rows = vault.records._store.query("SELECT * FROM superseded")  # noqa: SLF001 - the table itself
    assert rows and all("sk-old" not in repr(tuple(row)) for row in rows)
    key = vault.records.superseded.scan_key()
    assert len(key) == 32 and repr(key) == "Secret('***')"


def test_hashes_older_than_90_days_are_dropped_at_the_next_replacement(vault: Vault) -> None:
    import time

    store = vault.records._store  # noqa: SLF001 - the table itself
    with store.transaction() as conn:
        for days in (91, 89):
            conn.execute(
                "INSERT INTO superseded (credential, kind, length, digest, at) VALUES ('gone', 'static', 9, ?, ?)",
                (bytes(32), time.time() - days * 86400),
            )
    vault.records.add_static("openai", provider="api-key", token="sk-old-value-123")
    vault.records.add_static("openai", provider="api-key", token="sk-new-value-456", replace=True)
    kept_now = [(e.credential, round((time.time() - e.at) / 86400)) for e in vault.records.superseded.entries()]
    assert kept_now == [("openai", 0), ("gone", 89)]
