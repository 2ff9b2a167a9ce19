"""All the test authorization server's state, behind one lock."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token

from tests.support.authserver.models import (
    AuthorizationCode,
    Client,
    DeviceCredential,
    RevocationRecord,
    Token,
    TokenRequestRecord,
    _is_loopback_ip,
    normalize_user_code,
)
from tests.support.authserver.settings import ALICE, BOB, Settings, User


class _Store:
    """All server state, guarded by one re-entrant lock."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.lock = threading.RLock()
        self.device_created = threading.Condition(self.lock)
        self.issuer = ""
        self.users: dict[str, User] = {ALICE.username: ALICE, BOB.username: BOB}
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: list[Token] = []
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}
        self.devices: dict[str, DeviceCredential] = {}
        self.token_log: list[TokenRequestRecord] = []
        self.revocation_log: list[RevocationRecord] = []
        self.authorization_log: list[dict[str, str]] = []
        self.registrations: list[dict[str, Any]] = []
        """Client metadata of every RFC 7591 registration, oldest first."""
        self.client_documents: list[str] = []
        """Every client ID metadata document URL fetched, in order."""
        self.errors: list[str] = []

    def user(self, username: str) -> User | None:
        return self.users.get(username)

    def client(self, client_id: str) -> Client | None:
        """A registered client, or one made from its client ID metadata document."""
        with self.lock:
            known = self.clients.get(client_id)
        if known is not None or not self.settings.client_metadata_documents:
            return known
        parts = urlsplit(client_id)
        if not (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback_ip(parts.hostname))):
            return None
        with self.lock:
            self.client_documents.append(client_id)
        try:
            document = httpx.get(client_id, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None
        uris = document.get("redirect_uris") if isinstance(document, dict) else None
        if document.get("client_id") != client_id or not isinstance(uris, list) or not uris:
            return None
        if document.get("token_endpoint_auth_method", "none") != "none":
            return None  # a document cannot carry a secret: public clients only
        client = Client(client_id=client_id, redirect_uris=tuple(str(u) for u in uris))
        with self.lock:
            self.clients[client_id] = client
        return client

    def new_family(self) -> str:
        return secrets.token_hex(8)

    def revoke_family(self, family: str) -> None:
        for token in self.tokens:
            if token.family == family:
                token.access_revoked = True
                token.refresh_revoked = True

    def find_token(self, value: str, hint: str | None) -> tuple[Token | None, str | None]:
        """RFC 7009 §2.1: look where the hint says first, then everywhere else."""
        order = ["refresh_token", "access_token"] if hint == "refresh_token" else ["access_token", "refresh_token"]
        for kind in order:
            token = (self.by_access if kind == "access_token" else self.by_refresh).get(value)
            if token is not None:
                return token, kind
        return None, None

    def device_by_user_code(self, user_code: str) -> DeviceCredential | None:
        wanted = normalize_user_code(user_code)
        for credential in self.devices.values():
            if normalize_user_code(credential.user_code) == wanted:
                return credential
        return None

    def generate(self, client: Client, scope: str, include_refresh_token: bool) -> dict[str, Any]:
        """A fresh token response body (RFC 6749 §5.1), not yet stored."""
        settings = self.settings
        token: dict[str, Any] = {"access_token": generate_token(42), "token_type": "Bearer"}
        if settings.access_token_lifetime is not None:
            token["expires_in"] = settings.access_token_lifetime
        if include_refresh_token and settings.issue_refresh_token and client.check_grant_type("refresh_token"):
            token["refresh_token"] = generate_token(48)
        if scope:
            token["scope"] = scope
        return token

    def save(self, token: dict[str, Any], client: Client, user: User, family: str) -> Token:
        """Store an issued token response."""
        now = self.clock()
        lifetime = self.settings.refresh_token_lifetime
        record = Token(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            client_id=client.client_id,
            username=user.username,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_in=token.get("expires_in"),
            refresh_expires_at=None if lifetime is None else now + lifetime,
            family=family,
            clock=self.clock,
        )
        self.tokens.append(record)
        self.by_access[record.access_token] = record
        if record.refresh_token is not None:
            self.by_refresh[record.refresh_token] = record
        return record
