"""Authlib's model objects (client, authorization code, token, device credential) and the request records."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Literal
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc8628 import DeviceCredentialMixin

from tests.support.authserver.settings import DEFAULT_GRANT_TYPES, DEFAULT_REDIRECT_URIS, DEFAULT_SCOPE


def _is_loopback_ip(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """RFC 6749 §3.1.2 exact matching, relaxed only as RFC 8252 §7.3 requires.

    For an ``http`` redirect URI on a loopback IP literal (``127.0.0.1``, ``[::1]``) any
    port is accepted; scheme, host, path and query must still match exactly. Everything
    else, ``localhost`` included (RFC 8252 §8.3), is a simple string comparison.
    """
    if registered == requested:
        return True
    reg, req = urlsplit(registered), urlsplit(requested)
    if reg.scheme != "http" or not _is_loopback_ip(reg.hostname):
        return False
    try:
        req.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        req.scheme == "http"
        and req.hostname == reg.hostname
        and req.path == reg.path
        and req.query == reg.query
        and not req.fragment
        and req.username is None
        and req.password is None
    )


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    """A registered OAuth client (Authlib ``ClientMixin``)."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    scope: str = DEFAULT_SCOPE
    token_endpoint_auth_method: str = "none"
    grant_types: tuple[str, ...] = DEFAULT_GRANT_TYPES

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Always require redirect_uri: loopback URIs have no usable port to default to,
        # and OAuth 2.1 / OIDC make the parameter mandatory anyway.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope if all of it is allowed (``None`` -> invalid_scope);
        an omitted scope means the client's whole registered scope (RFC 6749 §3.3)."""
        if not scope:
            return self.scope
        allowed = set(scope_to_list(self.scope))
        requested = scope_to_list(scope)
        return scope if set(requested) <= allowed else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(uri, redirect_uri) for uri in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret is None:
            return False
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str = field(repr=False)
    client_id: str
    redirect_uri: str | None
    scope: str
    username: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    family: str
    used: bool = False

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    """One token response as stored; ``family`` groups everything issued from one grant."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    client_id: str
    username: str
    scope: str
    issued_at: float
    expires_in: int | None
    refresh_expires_at: float | None
    family: str
    clock: Callable[[], float] = field(repr=False, compare=False)
    access_revoked: bool = False
    refresh_revoked: bool = False
    rotated: bool = False

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in or 0

    def is_expired(self) -> bool:
        return self.expires_in is not None and self.clock() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked

    def refresh_usable(self) -> bool:
        if self.refresh_token is None or self.refresh_revoked:
            return False
        return self.refresh_expires_at is None or self.clock() < self.refresh_expires_at


@dataclass
class DeviceCredential(DeviceCredentialMixin):  # type: ignore[misc]
    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    interval: int
    clock: Callable[[], float] = field(repr=False, compare=False)
    decision: tuple[str, bool] | None = None
    polls: int = 0
    last_poll: float | None = None
    slowed_down: bool = False
    too_fast: bool = False

    def get_client_id(self) -> str:
        return self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_user_code(self) -> str:
        return self.user_code

    def is_expired(self) -> bool:
        return self.clock() >= self.expires_at


@dataclass(frozen=True)
class TokenRequestRecord:
    """What one ``POST /token`` looked like and how it was answered."""

    grant_type: str
    client_id: str | None
    auth_method: Literal["client_secret_basic", "client_secret_post", "none"]
    status: int
    error: str | None
    has_code_verifier: bool
    redirect_uri: str | None
    scope: str | None
    overridden: bool
    resource: str | None = None
    """RFC 8707 ``resource``, as sent."""


@dataclass(frozen=True)
class RevocationRecord:
    """One RFC 7009 request: the hint sent and what the token turned out to be."""

    token_type_hint: str | None
    known: bool
    matched: Literal["access_token", "refresh_token"] | None
    was_active: bool
    client_id: str | None
    status: int


def normalize_user_code(user_code: str) -> str:
    """RFC 8628 §6.1: compare user codes case-insensitively, ignoring punctuation."""
    return "".join(ch for ch in user_code.upper() if ch.isalnum())
