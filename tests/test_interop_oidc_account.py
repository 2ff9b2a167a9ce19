"""Issue 33 against panva's ``oidc-provider`` (rotating refresh tokens, on loopback): signing
in again over a credential as another account is refused and changes nothing, unless
``--replace-account`` says so; the same account again replaces it without a question.  The
provider's own introspection and request log are the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.oidc_provider import OidcProvider

NAME = "staging-idp"


@pytest.fixture
def added(cli: CliRunner, oidc_provider: OidcProvider, browser_log: Path) -> tuple[CliRunner, dict[str, Any]]:
    """A keyring vault with the provider added by discovery as ``staging-idp``, and its client."""
    client = oidc_provider.register_native_client()
    assert cli("init").code == 0
    r = cli("provider", "add", NAME, "--issuer", oidc_provider.issuer, f"--client-id={client['client_id']}")
    assert r.code == 0, r.err
    return cli, client


def stored(home: Path) -> vault.Credential:
    with vault.open_vault(home) as v:
        (credential,) = v.credentials()
        return credential


def raw(credential: vault.Credential) -> tuple[object, ...]:
    """What must not change, byte for byte: the tokens revealed, the account, the subject."""
    tokens = (credential.access_token, credential.refresh_token, credential.id_token)
    return (*(t.reveal() if t is not None else None for t in tokens), credential.account, dict(credential.extras))


def audit(home: Path) -> list[tuple[str | None, str, str, str | None]]:
    with vault.open_vault(home) as v:
        return [(e.credential, e.action, e.outcome, e.detail) for e in v.records.audit_log()]


def test_another_account_is_refused_until_replace_account(
    added: tuple[CliRunner, dict[str, Any]], oidc_provider: OidcProvider, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, client = added
    monkeypatch.setenv("FAKE_BROWSER_USER", "alice")
    assert cli("login", NAME, "--name", NAME).code == 0
    alice = stored(home)
    assert alice.account == "alice@acceptance.test" and alice.extras["account_subject"] == "alice"
    audit_before = audit(home)

    monkeypatch.setenv("FAKE_BROWSER_USER", "bob")
    r = cli("login", NAME, "--name", NAME)
    assert r.code == 1  # Declined: documented as 1
    refusal = [line for line in r.err.splitlines() if line.startswith("tokendeck:")]
    assert refusal == [
        f"tokendeck: {NAME} holds alice@acceptance.test, but this sign-in is bob@acceptance.test: nothing was "
        "stored; --replace-account replaces it"
    ]
    assert "Traceback" not in r.err
    assert raw(stored(home)) == raw(alice) and stored(home) == alice  # the vault: exactly as it was
    assert audit(home) == audit_before
    assert oidc_provider.introspect(alice.refresh_token, "refresh_token")["active"] is True  # type: ignore[arg-type]
    # bob's unused tokens were revoked at the provider (refresh token first: it ends bob's grant)
    assert [(q["token_type_hint"], q["status"]) for q in oidc_provider.requests("revocation")] == [
        ("refresh_token", 200),
        ("access_token", 200),
    ]
    bob_code = oidc_provider.requests("token", grant_type="authorization_code")[-1]
    assert bob_code["status"] == 200

    r = cli("login", NAME, "--name", NAME, "--replace-account")
    assert r.code == 0, r.err
    bob = stored(home)
    assert bob.account == "bob@acceptance.test" and bob.extras["account_subject"] == "bob"
    assert bob.created_at == alice.created_at
    assert oidc_provider.introspect(bob.access_token)["sub"] == "bob"  # type: ignore[arg-type]
    assert audit(home)[-1] == (
        NAME,
        "login",
        "replaced",
        "account changed: alice@acceptance.test -> bob@acceptance.test",
    )
    for token in raw(bob)[:3]:
        assert token is None or str(token) not in str(audit(home))  # never a token in the audit

    r = cli("login", NAME)  # bob again: the same subject, replaced silently
    assert r.code == 0, r.err
    assert "holds" not in r.err and f"signed in to {NAME} as bob@acceptance.test; stored as {NAME}" in r.err
    again = stored(home)
    assert again.account == "bob@acceptance.test" and raw(again)[0] != raw(bob)[0]
    assert audit(home)[-1][1:] == ("login", "replaced", f"provider={NAME} kind=oauth")
    assert len(oidc_provider.requests("revocation")) == 2  # nothing revoked on a replacement
    oidc_provider.assert_no_server_errors()
