"""A restore never replays a refresh token that may be spent (issue 33, item 2), against the
loopback Authlib server with rotating refresh tokens and RFC 9700 reuse detection
(``revoke_family_on_reuse``: a used refresh token coming back revokes the whole grant).

Backup, the vault refreshes (the grant rotates), restore: the restored OAuth credential is
held (status ``held_after_restore``, the reason in ``last_error``), nothing refreshes it by
itself (a read, the background refresher, ``refresh --due``), so the live grant survives;
only ``tokendeck refresh NAME`` sends the backup's token, the user's explicit choice, and the
message then says to sign in again.  The in-process CLI runs against the real server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from vault.core.restored import RESTORED_EXTRA
from vault.errors import HeldAfterRestore
from vault.oauth.discovery import discover
from vault.services.refresher import BackgroundRefresher
from vault.services.refreshing import refresh

CLIENT_ID = "tokendeck-restore"
NAME = "acme"


@pytest.fixture
def server(auth_server: AuthServer) -> AuthServer:
    auth_server.register_client(CLIENT_ID)
    assert auth_server.settings.rotate_refresh_tokens and auth_server.settings.revoke_family_on_reuse
    return auth_server


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str, home: Path, server: AuthServer) -> CliRunner:
    """A passphrase vault holding ``acme``, signed in to the server, its access token expired."""
    assert cli("init", "--passphrase").code == 0
    with vault.open_vault(home, passphrase_env) as v:
        v.records.set_client(
            vault.ClientRegistration(
                provider="acme", base="oidc", client_id=CLIENT_ID, overrides=discover("acme", server.issuer)
            )
        )
        sign_in(v, server, expired=True)
    return cli


def sign_in(v: vault.Vault, server: AuthServer, *, expired: bool) -> None:
    issued = server.issue_token(CLIENT_ID)
    now = time.time()
    v.records.save(
        vault.Credential(
            name=NAME, provider="acme", kind="oauth", account="alice@example.test",
            access_token=vault.Secret(issued["access_token"]), refresh_token=vault.Secret(issued["refresh_token"]),
            token_type="Bearer", scopes=tuple(issued["scope"].split()), expires_at=now + (-10 if expired else 3600),
            created_at=now, updated_at=now, last_refreshed_at=now - 3600,
        ),
        replace=True, action="login",
    )  # fmt: skip


def stored(home: Path, passphrase: str) -> vault.Credential:
    with vault.open_vault(home, passphrase) as v:
        return v.get(NAME)


def refresh_token_of(credential: vault.Credential) -> str:
    assert credential.refresh_token is not None
    return credential.refresh_token.reveal()


def test_a_restored_credential_is_held_and_the_live_grant_survives_until_the_user_says(
    ready: CliRunner, home: Path, tmp_path: Path, server: AuthServer, passphrase_env: str
) -> None:
    backup = tmp_path / "b.zip"
    assert ready("backup", str(backup)).code == 0
    backed_up = refresh_token_of(stored(home, passphrase_env))
    assert ready("token", NAME).code == 0  # the vault keeps working: the grant rotates
    live = refresh_token_of(stored(home, passphrase_env))
    assert live != backed_up and server.token_state(backed_up) == "revoked"
    refreshes = server.token_request_count("refresh_token")

    asked = ready("restore", str(backup))  # a script without --yes: the refusal says what would wait
    assert asked.code == 2 and "will wait" in asked.err and NAME in asked.err
    done = ready("restore", str(backup), "--yes")
    assert done.code == 0, done.err
    assert "1 OAuth credential(s) will wait" in done.err and f"refreshed {NAME} after the backup" in done.err

    held = stored(home, passphrase_env)
    assert held.held_after_restore and held.status_at(time.time()) == "held_after_restore"
    assert held.extras[RESTORED_EXTRA]["spent"] is True and "tokendeck refresh acme" in (held.last_error or "")
    # Nothing refreshes it by itself: a read, the background refresher, refresh --due.
    token = ready("token", NAME)
    assert token.code == 4 and "restored from a backup" in token.err and f"tokendeck refresh {NAME}" in token.err
    with vault.open_vault(home, passphrase_env) as v:
        with pytest.raises(HeldAfterRestore):
            v.token(NAME)
        assert BackgroundRefresher(v).due() == [] and BackgroundRefresher(v).run_once() == []
        assert BackgroundRefresher(v, window=86400).due() == []
        with pytest.raises(HeldAfterRestore):
            refresh(v, NAME, force=True)  # a 401 retry (httpx_auth, bearer) is not the user's word
    assert ready("refresh", "--due").code == 0
    assert server.token_request_count("refresh_token") == refreshes  # not one request with the spent token
    assert server.token_state(live) == "active"  # the live copy's grant is untouched

    listed = ready("list")
    assert "held_after_restore" in listed.out
    shown = ready("show", NAME)
    assert "restored from a backup" in shown.out + shown.err
    assert stored(home, passphrase_env).refresh_token == held.refresh_token  # reads changed nothing

    # The user's explicit choice: the backup's token is sent, the server refuses it (and, as
    # RFC 9700 says, revokes the family); the message says so and to sign in again.
    chosen = ready("refresh", NAME)
    assert chosen.code == 4
    assert "you chose to refresh the copy restored from a backup" in chosen.err and "tokendeck login" in chosen.err
    assert server.token_request_count("refresh_token") == refreshes + 1
    after = stored(home, passphrase_env)
    assert after.status_at(time.time()) == "needs_login" and after.refresh_token == held.refresh_token  # kept


def test_a_token_still_valid_is_handed_out_without_a_refresh(
    ready: CliRunner, home: Path, tmp_path: Path, server: AuthServer, passphrase_env: str
) -> None:
    with vault.open_vault(home, passphrase_env) as v:
        sign_in(v, server, expired=False)
    backup = tmp_path / "b.zip"
    assert ready("backup", str(backup)).code == 0
    ready.monkeypatch.setenv("TOKENDECK_HOME", str(tmp_path / "elsewhere"))  # another machine: nothing to compare
    assert ready("restore", str(backup)).code == 0
    elsewhere = stored(tmp_path / "elsewhere", passphrase_env)
    assert elsewhere.held_after_restore and elsewhere.extras[RESTORED_EXTRA]["spent"] is False
    again = ready("restore", str(backup), "--yes")  # over a vault that holds it too: the same token proves nothing
    assert again.code == 0 and "1 OAuth credential(s) will wait" in again.err
    assert stored(tmp_path / "elsewhere", passphrase_env).held_after_restore
    refreshes = server.token_request_count("refresh_token")
    got = ready("token", NAME)
    assert got.code == 0 and elsewhere.access_token is not None and got.out.strip() == elsewhere.access_token.reveal()
    assert server.token_request_count("refresh_token") == refreshes
    # Here the backup's token is the one in use: the user's word refreshes it and clears the mark.
    assert ready("refresh", NAME).code == 0
    renewed = stored(tmp_path / "elsewhere", passphrase_env)
    assert not renewed.held_after_restore and renewed.last_error is None
    assert renewed.status_at(time.time()) == "active" and renewed.renew_at() is not None


def test_a_credential_the_replaced_vault_holds_unchanged_is_not_held(
    ready: CliRunner, home: Path, tmp_path: Path, server: AuthServer, passphrase_env: str
) -> None:
    backup = tmp_path / "b.zip"
    assert ready("backup", str(backup)).code == 0
    done = ready("restore", str(backup), "--yes")
    assert done.code == 0 and "will wait" not in done.err
    assert not stored(home, passphrase_env).held_after_restore
    assert ready("token", NAME).code == 0  # refreshed on read as ever
    assert server.token_request_count("refresh_token") == 1
