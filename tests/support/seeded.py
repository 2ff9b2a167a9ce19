"""A vault holding an OAuth credential minted by the loopback authorization server,
for the refresh and revoke tests that are not about signing in."""

from __future__ import annotations

from pathlib import Path

import vault
from tests.support.authserver import AuthServer
from vault.core.model import ClientRegistration, Credential
from vault.core.secret import Secret
from vault.oauth.discovery import discover

CLIENT_ID = "lifecycle-client"


def seed(v: vault.Vault, server: AuthServer, name: str = "acme", *, expires_in: float = 3600) -> Credential:
    """Register ``acme`` (discovery) once, then store a fresh token pair as ``name``."""
    if not any(c.provider == "acme" for c in v.records.clients()):
        server.register_client(CLIENT_ID)
        v.records.set_client(
            ClientRegistration(
                provider="acme", base="oidc", client_id=CLIENT_ID, overrides=discover("acme", server.issuer)
            )
        )
    minted = server.issue_token(CLIENT_ID)
    now = v.clock.now()
    credential = Credential(
        name=name,
        provider="acme",
        kind="oauth",
        account="alice@example.test",
        access_token=Secret(minted["access_token"]),
        refresh_token=Secret(minted["refresh_token"]),
        token_type="Bearer",
        scopes=tuple(str(minted.get("scope", "")).split()),
        expires_at=now + expires_in,
        created_at=now,
        updated_at=now,
    )
    v.records.save(credential, action="seed")
    return v.get(name)


def open_seeded(home: Path, server: AuthServer, clock: vault.FrozenClock) -> vault.Vault:
    v = vault.init_vault(home, mode="keyring", clock=clock)
    seed(v, server)
    return v
