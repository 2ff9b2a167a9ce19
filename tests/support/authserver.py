"""A real OAuth 2.0 authorization server on loopback, for the sign-in integration tests.

Everything protocol-shaped is Authlib's authorization-server code, served by Flask on a
werkzeug threaded server bound to ``127.0.0.1`` on a random port:

* ``/authorize``: RFC 6749 §4.1 authorization code grant (Authlib ``AuthorizationCodeGrant``)
  with RFC 7636 PKCE (``CodeChallenge``, S256 only, required by default) and RFC 9207
  ``iss`` in every authorization response (``IssuerParameter``). GET shows a tiny
  consent page; POST ``confirm=yes`` approves (as ``alice`` unless ``username`` says
  otherwise), ``confirm=no`` denies.
* ``/token``: authorization_code, refresh_token (``RefreshTokenGrant``, rotating by
  default, RFC 9700 §4.14.2 reuse detection) and RFC 8628 device_code (``DeviceCodeGrant``).
* ``/revoke``: RFC 7009 (``RevocationEndpoint``).
* ``/device_authorization``: RFC 8628 §3.1/§3.2 (``DeviceAuthorizationEndpoint``), and
  ``/device``, the verification page a (fake) browser can use.
* ``/userinfo``: RFC 6750 bearer-protected (``ResourceProtector`` + ``BearerTokenValidator``).
* ``/.well-known/oauth-authorization-server`` and ``/.well-known/openid-configuration``:
  RFC 8414 metadata, validated with Authlib's ``AuthorizationServerMetadata`` classes.

Storage is plain Python objects behind one lock: every request is handled while holding it,
so a refresh-token rotation is atomic, exactly like a real server's transaction.

Use :func:`start_auth_server` or :func:`running_auth_server`; tune behaviour through
:attr:`AuthServer.settings` (a mutable :class:`Settings`), and assert on the observations
(:meth:`AuthServer.token_requests`, :meth:`AuthServer.revocations`,
:attr:`AuthServer.last_authorization_request`, ...).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import secrets
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import unquote_plus, urlsplit

import flask
import httpx
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error, rfc8414, rfc9207
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    TokenMixin,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialMixin,
)
from authlib.oauth2.rfc9207 import IssuerParameter
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.support.provider_quirks import with_quirks

__all__ = [
    "ALICE",
    "BOB",
    "DEFAULT_SCOPE",
    "DEVICE_CODE_GRANT_TYPE",
    "AuthServer",
    "Client",
    "RevocationRecord",
    "Settings",
    "TokenRequestRecord",
    "User",
    "running_auth_server",
    "start_auth_server",
]

DEFAULT_SCOPE = "openid email profile offline_access read write"
"""The scopes a client registered without ``scope=`` may ask for."""

DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token", DEVICE_CODE_GRANT_TYPE)
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1/callback",)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
TIMEOUT = 10.0
"""Seconds: idle keep-alive connections, and joining threads on close."""

Response = flask.Response
Override = tuple[int, str, bytes]
"""``(status, content-type, raw body)`` returned verbatim by an endpoint."""


@dataclass(frozen=True)
class User:
    """A resource owner the consent page can sign in as."""

    username: str
    sub: str
    email: str
    name: str

    def userinfo(self) -> dict[str, str]:
        """The OIDC-style claims ``/userinfo`` returns for this user."""
        return {"sub": self.sub, "email": self.email, "preferred_username": self.username, "name": self.name}


ALICE = User(username="alice", sub="user-0001-alice", email="alice@example.test", name="Alice")
BOB = User(username="bob", sub="user-0002-bob", email="bob@example.test", name="Bob")


@dataclass
class Settings:
    """Per-server behaviour; mutate it between (or during) requests.

    Attributes:
        access_token_lifetime: ``expires_in`` of access tokens; ``None`` omits it.
        refresh_token_lifetime: seconds a refresh token lives; ``None`` = forever.
        authorization_code_lifetime: seconds an authorization code lives.
        issue_refresh_token: issue refresh tokens at all (to clients allowed the grant).
        rotate_refresh_tokens: each refresh returns a new refresh token and invalidates the
            old one (RFC 9700 §4.14.2); ``False`` returns no new one and keeps the old valid.
        revoke_family_on_reuse: presenting an already-rotated refresh token revokes the whole
            grant, including the newest refresh token and its access tokens (RFC 9700 §4.14.2).
        require_pkce: authorization requests need an S256 ``code_challenge`` and token
            requests the matching ``code_verifier``. ``plain`` is never accepted.
        iss_parameter: add RFC 9207 ``iss`` to authorization responses and advertise
            ``authorization_response_iss_parameter_supported``.
        device_interval: RFC 8628 ``interval`` in the device authorization response.
        device_expires_in: RFC 8628 ``expires_in`` of device and user codes.
        device_slow_down_once: answer the first poll of each device code with ``slow_down``.
        device_enforce_interval: answer ``slow_down`` to polls sooner than the current
            interval (which then grows by 5 s, RFC 8628 §3.5).
        device_auto_approve_after: approve (as ``default_username``) after this many polls
            were answered as pending; ``None`` waits for :meth:`AuthServer.approve_device`.
        device_auto_deny_after: the same for denial.
        fixed_user_code: the user code to hand out instead of a random one, so a test can
            give it to the fake browser up front (an older device authorization holding
            the same code is forgotten: its device code then gets ``invalid_grant``).
        default_username: who the consent page and device approval sign in as.
        token_response_override: ``/token`` returns exactly this instead of processing.
        token_response_headers: headers added to that override's answer (``Retry-After``).
        revocation_response_override: ``/revoke`` returns exactly this.
        device_authorization_response_override: ``/device_authorization`` returns exactly this.
        userinfo_response_override: ``/userinfo`` returns exactly this.
        metadata_overrides: merged into both metadata documents after validation; a value
            of ``None`` deletes the key (for discovery bad-input tests).
        resource_indicators: RFC 8707: the resources tokens may be asked for; a token request
            (code or refresh) whose ``resource`` is not one of them gets ``invalid_target``.
            ``None``: ``resource`` is recorded but not checked.
        dynamic_registration: RFC 7591 at ``/register`` (Authlib's ``ClientRegistrationEndpoint``,
            open: no initial access token), advertised as ``registration_endpoint``.
        registration_refusal: ``/register`` answers 400 with this RFC 7591 §3.2.2 error.
        registration_auth_method: ``/register`` makes every client use this token endpoint
            authentication method, whatever it asked for (with a secret unless ``none``), and
            says so in its answer, as RFC 7591 §3.2.1 lets a server do.
        client_metadata_documents: an unknown client id that is an https (or loopback http) URL
            is fetched as a client ID metadata document (the MCP authorization spec): a JSON
            object whose ``client_id`` is that URL makes a public client with its
            ``redirect_uris``; advertised as ``client_id_metadata_document_supported``.
        revoke_whole_grant: revoking either token of a grant revokes the whole grant (Google).
        revoke_invalid_token_status: the status for revoking a token that is unknown or no
            longer valid: 200 per RFC 7009 §2.2, 400 ``invalid_token`` at Google.
        json_bodies: ``/token`` and ``/revoke`` read a JSON body as the same fields (Notion).
        token_fields: with ``json_bodies``, the only body fields ``/token`` takes; any other one
            gets 400 ``invalid_request`` (Notion documents no PKCE, so no ``code_verifier``).
        required_headers: headers ``/token`` and ``/revoke`` calls must carry, with these exact
            values (Notion's ``Notion-Version``), else 400.
    """

    access_token_lifetime: int | None = 3600
    refresh_token_lifetime: int | None = None
    authorization_code_lifetime: int = 600
    issue_refresh_token: bool = True
    rotate_refresh_tokens: bool = True
    revoke_family_on_reuse: bool = True
    require_pkce: bool = True
    iss_parameter: bool = True
    device_interval: int = 1
    device_expires_in: int = 600
    device_slow_down_once: bool = False
    device_enforce_interval: bool = False
    device_auto_approve_after: int | None = None
    device_auto_deny_after: int | None = None
    fixed_user_code: str | None = None
    default_username: str = "alice"
    token_response_override: Override | None = None
    token_response_headers: dict[str, str] = field(default_factory=dict)
    revocation_response_override: Override | None = None
    device_authorization_response_override: Override | None = None
    userinfo_response_override: Override | None = None
    metadata_overrides: dict[str, Any] = field(default_factory=dict)
    resource_indicators: tuple[str, ...] | None = None
    dynamic_registration: bool = False
    registration_refusal: str | None = None
    registration_auth_method: str | None = None
    client_metadata_documents: bool = False
    revoke_whole_grant: bool = False
    revoke_invalid_token_status: int = 200
    json_bodies: bool = False
    token_fields: frozenset[str] | None = None
    required_headers: dict[str, str] = field(default_factory=dict)


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


def _store_of(grant_or_endpoint: Any) -> _Store:
    return cast(_FlaskAuthorizationServer, grant_or_endpoint.server).store


class _FlaskAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's Flask server, holding the store and minting tokens with the settings."""

    def __init__(self, app: flask.Flask, store: _Store) -> None:
        self.store = store
        super().__init__(app, query_client=store.client, save_token=self._save_token)
        self.register_token_generator("default", self._generate)
        self.register_client_auth_method("client_secret_basic", _authenticate_client_secret_basic)

    def _generate(
        self,
        grant_type: str,
        client: Client,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return self.store.generate(client, scope or "", include_refresh_token)

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        if request.refresh_token is not None:
            family = request.refresh_token.family
        elif request.authorization_code is not None:
            family = request.authorization_code.family
        else:
            family = self.store.new_family()
        self.store.save(token, request.client, request.user, family)


def _authenticate_client_secret_basic(query_client: Callable[[str], Client | None], request: Any) -> Client | None:
    """RFC 6749 §2.3.1: the id and secret are form-urlencoded *before* Base64.

    Authlib's built-in decoder uses ``unquote`` (so a ``+`` stays a ``+``); a form-encoded
    space is ``+``, so decode with ``unquote_plus`` as the RFC says.
    """
    header = request.headers.get("Authorization") or ""
    kind, _, value = header.partition(" ")
    if kind.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        return None
    client = query_client(unquote_plus(raw_id))
    if client is None:
        raise InvalidClientError(status_code=401, description="The client does not exist on this server.")
    return client if client.check_client_secret(unquote_plus(raw_secret)) else None


class _S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """RFC 7636 with S256 only, required for every client when ``require_pkce`` is on."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def __init__(self, settings: Settings) -> None:
        super().__init__(required=True)
        self.settings = settings

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if self.settings.require_pkce and not challenge:
            raise InvalidRequestError("Missing 'code_challenge': this server requires PKCE (S256).")
        if challenge and data.get("code_challenge_method") != "S256":
            # An absent method means 'plain' (RFC 7636 §4.3), which is not supported.
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is allowed.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if self.settings.require_pkce and not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


class _AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def save_authorization_code(self, code: str, request: Any) -> None:
        store = _store_of(self)
        data = request.payload.data
        store.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "",
            username=request.user.username,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            expires_at=store.clock() + store.settings.authorization_code_lifetime,
            family=store.new_family(),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        store = _store_of(self)
        item = store.codes.get(code)
        if item is None or item.client_id != client.client_id:
            return None
        if item.used:
            # RFC 6749 §4.1.2: deny, and revoke what was issued from this code.
            store.revoke_family(item.family)
            return None
        if store.clock() >= item.expires_at:
            return None
        return item

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        authorization_code.used = True

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        return _store_of(self).user(authorization_code.username)


class _RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        store = _store_of(self)
        token = store.by_refresh.get(refresh_token)
        if token is None:
            return None
        if token.rotated and store.settings.revoke_family_on_reuse:
            store.revoke_family(token.family)
        return token if token.refresh_usable() else None

    def authenticate_user(self, refresh_token: Token) -> User | None:
        return _store_of(self).user(refresh_token.username)

    def issue_token(self, user: User, refresh_token: Token) -> dict[str, Any]:
        scope = self.request.payload.scope or refresh_token.get_scope()
        rotate = _store_of(self).settings.rotate_refresh_tokens
        return cast(dict[str, Any], self.generate_token(user=user, scope=scope, include_refresh_token=rotate))

    def revoke_old_credential(self, refresh_token: Token) -> None:
        if _store_of(self).settings.rotate_refresh_tokens:
            refresh_token.refresh_revoked = True
            refresh_token.rotated = True


class _DeviceCodeGrant(DeviceCodeGrant):  # type: ignore[misc]
    def query_device_credential(self, device_code: str) -> DeviceCredential:
        credential = _store_of(self).devices.get(device_code)
        if credential is None:
            # Unknown, or already redeemed: RFC 6749 §5.2 invalid_grant.
            raise InvalidGrantError("Invalid 'device_code'")
        return credential

    def validate_device_credential(self, credential: DeviceCredential) -> User:
        store = _store_of(self)
        settings = store.settings
        now = store.clock()
        credential.too_fast = (
            settings.device_enforce_interval
            and credential.last_poll is not None
            and now - credential.last_poll < credential.interval - 0.05
        )
        credential.last_poll = now
        credential.polls += 1
        if credential.decision is None and not credential.is_expired():
            if settings.device_auto_approve_after is not None and credential.polls > settings.device_auto_approve_after:
                credential.decision = (settings.default_username, True)
            elif settings.device_auto_deny_after is not None and credential.polls > settings.device_auto_deny_after:
                credential.decision = (settings.default_username, False)
        return cast(User, super().validate_device_credential(credential))

    def query_user_grant(self, user_code: str) -> tuple[User, bool] | None:
        store = _store_of(self)
        credential = store.device_by_user_code(user_code)
        if credential is None or credential.decision is None:
            return None
        username, approved = credential.decision
        user = store.user(username)
        if user is None:
            raise AccessDeniedError()
        return user, approved

    def should_slow_down(self, credential: DeviceCredential) -> bool:
        settings = _store_of(self).settings
        slow = credential.too_fast or (settings.device_slow_down_once and not credential.slowed_down)
        if slow:
            credential.slowed_down = True
            credential.interval += 5  # RFC 8628 §3.5, for this and all later polls
        return bool(slow)

    def create_token_response(self) -> tuple[int, Any, Any]:
        result = super().create_token_response()
        # A device code is redeemed once.
        _store_of(self).devices.pop(self.request.credential.device_code, None)
        return cast(tuple[int, Any, Any], result)


class _DeviceAuthorizationEndpoint(DeviceAuthorizationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def create_endpoint_response(self, request: Any) -> tuple[int, Any, Any]:
        store = _store_of(self)
        settings = store.settings
        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("The client is not allowed to use the device grant.")
        scope = client.get_allowed_scope(request.payload.scope)
        if scope is None:
            raise InvalidScopeError()
        user_code = settings.fixed_user_code or self.generate_user_code()
        while (older := store.device_by_user_code(user_code)) is not None:
            del store.devices[older.device_code]
        verification_uri = store.issuer + "/device"
        data = {
            "device_code": self.generate_device_code(),
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={user_code}",
            "expires_in": settings.device_expires_in,
            "interval": settings.device_interval,
        }
        store.devices[data["device_code"]] = DeviceCredential(
            device_code=data["device_code"],
            user_code=user_code,
            client_id=client.client_id,
            scope=scope,
            expires_at=store.clock() + settings.device_expires_in,
            interval=settings.device_interval,
            clock=store.clock,
        )
        store.device_created.notify_all()
        return 200, data, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


class _RegistrationEndpoint(ClientRegistrationEndpoint):  # type: ignore[misc]
    """RFC 7591 dynamic registration, open to anyone (as MCP servers run it); a public client
    (``token_endpoint_auth_method=none``) gets no secret."""

    def __init__(self, server: Any, settings: Settings, metadata: Callable[[], dict[str, Any]]) -> None:
        super().__init__(server)
        self._settings, self._metadata = settings, metadata

    def authenticate_token(self, request: Any) -> str:
        return "anonymous"

    def get_server_metadata(self) -> dict[str, Any]:
        return self._metadata()

    def _method(self, asked: dict[str, Any]) -> str:
        return self._settings.registration_auth_method or asked.get("token_endpoint_auth_method", "client_secret_basic")

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        if self._settings.registration_auth_method is not None:
            metadata["token_endpoint_auth_method"] = self._settings.registration_auth_method
        return metadata

    def generate_client_secret(self, request: Any) -> str | None:
        return None if self._method(request.payload.data or {}) == "none" else generate_token(32)

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any) -> Client:
        method = self._method(client_metadata)
        client = Client(
            client_id=client_info["client_id"],
            client_secret=client_info.get("client_secret"),
            redirect_uris=tuple(client_metadata.get("redirect_uris", ())),
            scope=client_metadata.get("scope") or DEFAULT_SCOPE,
            token_endpoint_auth_method=method,
            grant_types=tuple(client_metadata.get("grant_types") or ("authorization_code",)),
        )
        store = _store_of(self)
        store.clients[client.client_id] = client
        store.registrations.append(dict(request.payload.data or {}))  # what the client asked for
        return client


class _RevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def authenticate_token(self, request: Any, client: Client) -> Token | None:
        self.check_params(request, client)
        store = _store_of(self)
        value = request.form["token"]
        hint = request.form.get("token_type_hint")
        token, kind = store.find_token(value, hint)
        request.revocation_kind = kind
        flask.g.revocation_record = RevocationRecord(
            token_type_hint=hint,
            known=token is not None,
            matched=cast(Literal["access_token", "refresh_token"] | None, kind),
            was_active=token is not None
            and (token.refresh_usable() if kind == "refresh_token" else not (token.is_revoked() or token.is_expired())),
            client_id=client.client_id,
            status=200,
        )
        if token is not None and not token.check_client(client):
            raise InvalidGrantError("The token was issued to another client.")
        return token

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return _store_of(self).find_token(token_string, token_type_hint)[0]

    def revoke_token(self, token: Token, request: Any) -> None:
        if request.revocation_kind == "refresh_token" or _store_of(self).settings.revoke_whole_grant:
            # RFC 7009 §2.1: revoking a refresh token also revokes its access tokens.
            _store_of(self).revoke_family(token.family)
        else:
            token.access_revoked = True


class _BearerTokenValidator(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, store: _Store) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.store.by_access.get(token_string)


class _IssuerParameter(IssuerParameter):  # type: ignore[misc]
    def __init__(self, store: _Store) -> None:
        self.store = store

    def get_issuer(self) -> str | None:
        return self.store.issuer if self.store.settings.iss_parameter else None


class _Handler(WSGIRequestHandler):
    """werkzeug's handler, quiet, with bounded idle time and tracked connections."""

    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def setup(self) -> None:
        super().setup()
        cast(_TrackedServer, self.server).tracker.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_TrackedServer, self.server).tracker.discard(self.connection)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Request lines carry codes and tokens: never log them."""


class _ConnectionTracker:
    """Open client connections, so close() can end idle keep-alive handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False

    def add(self, connection: socket.socket) -> None:
        with self._lock:
            if self._closing:
                _shutdown(connection)
            self._open.add(connection)

    def discard(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def close_all(self) -> None:
        with self._lock:
            self._closing = True
            for connection in self._open:
                _shutdown(connection)


def _shutdown(connection: socket.socket) -> None:
    with suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class _TrackedServer(BaseWSGIServer):
    tracker: _ConnectionTracker


def _html_page(title: str, body: str, status: int = 200) -> Response:
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def _override_response(override: Override) -> Response:
    status, content_type, body = override
    return Response(body, status=status, content_type=content_type)


class AuthServer:
    """A running Authlib authorization server on ``http://127.0.0.1:<random port>``.

    Args:
        settings: behaviour switches; a fresh :class:`Settings` by default.
        clock: seconds since the epoch, used for every expiry (inject a fake one to
            expire codes and tokens without sleeping).
    """

    def __init__(self, settings: Settings | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings if settings is not None else Settings()
        self._store = _Store(self.settings, clock)
        self._closed = False
        app = self._build_app()
        self._httpd = cast(_TrackedServer, make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Handler))
        try:
            self._httpd.tracker = _ConnectionTracker()
            self.port: int = self._httpd.port
            self.issuer: str = f"http://127.0.0.1:{self.port}"
            self._store.issuer = self.issuer
            self._base_metadata = self._validated_metadata()
        except BaseException:
            self._httpd.server_close()
            raise
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"authserver-{self.port}",
            daemon=True,
        )
        self._thread.start()

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Stop serving, end open connections, and join every server thread."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()  # serve_forever returns, then werkzeug calls server_close()
        self._httpd.tracker.close_all()  # ...whose join of handler threads needs this
        self._thread.join(TIMEOUT)
        if self._thread.is_alive():
            raise RuntimeError(f"auth server on port {self.port} did not stop within {TIMEOUT} s")

    def __enter__(self) -> AuthServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AuthServer {self.issuer}{' closed' if self._closed else ''}>"

    # -- configuration -----------------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL on this server, e.g. ``url("/token")``."""
        return self.issuer + ("" if path.startswith("/") else "/") + path

    def register_client(
        self,
        client_id: str,
        client_secret: str | None = None,
        redirect_uris: tuple[str, ...] | list[str] = DEFAULT_REDIRECT_URIS,
        scope: str = DEFAULT_SCOPE,
        token_endpoint_auth_method: Literal["none", "client_secret_basic", "client_secret_post"] = "none",  # noqa: S107
        grant_types: tuple[str, ...] | list[str] = DEFAULT_GRANT_TYPES,
    ) -> Client:
        """Register (or replace) a client. A public client uses ``"none"``; a confidential
        one must pass ``client_secret`` and one of the two secret methods."""
        if (token_endpoint_auth_method == "none") != (client_secret is None):
            raise ValueError("a client secret goes with client_secret_basic/_post, and only with them")
        client = Client(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=tuple(redirect_uris),
            scope=scope,
            token_endpoint_auth_method=token_endpoint_auth_method,
            grant_types=tuple(grant_types),
        )
        with self._store.lock:
            self._store.clients[client_id] = client
        return client

    def add_user(self, user: User) -> User:
        """Make another resource owner available (``alice`` and ``bob`` exist already)."""
        with self._store.lock:
            self._store.users[user.username] = user
        return user

    def metadata(self) -> dict[str, Any]:
        """The RFC 8414 document as currently served (overrides applied)."""
        document = dict(self._base_metadata)
        if self.settings.dynamic_registration:
            document["registration_endpoint"] = self.url("/register")  # after validation: loopback http
        if self.settings.client_metadata_documents:
            document["client_id_metadata_document_supported"] = True
        if not self.settings.iss_parameter:
            document.pop("authorization_response_iss_parameter_supported", None)
        for key, value in self.settings.metadata_overrides.items():
            if value is None:
                document.pop(key, None)
            else:
                document[key] = value
        return document

    def issue_token(self, client_id: str, *, scope: str | None = None, username: str | None = None) -> dict[str, Any]:
        """Mint a token response directly, as if a sign-in had happened (for seeding a
        vault in refresh/revoke tests that are not about signing in)."""
        with self._store.lock:
            client = self._store.clients[client_id]
            user = self._store.users[username or self.settings.default_username]
            granted = client.get_allowed_scope(scope)
            if granted is None:
                raise ValueError(f"scope {scope!r} is not allowed for {client_id}")
            token = self._store.generate(client, granted, include_refresh_token=True)
            self._store.save(token, client, user, self._store.new_family())
            return token

    # -- device flow -------------------------------------------------------------------

    def pending_user_codes(self) -> list[str]:
        """User codes of device authorizations nobody has approved or denied yet."""
        with self._store.lock:
            return [c.user_code for c in self._store.devices.values() if c.decision is None and not c.is_expired()]

    def wait_for_device_authorization(self, timeout: float = TIMEOUT) -> str:
        """Block until a device authorization is pending; return its user code."""
        deadline = time.monotonic() + timeout
        with self._store.device_created:
            while not (codes := self.pending_user_codes()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no device authorization request arrived")
                self._store.device_created.wait(remaining)
            return codes[0]

    def approve_device(self, user_code: str, username: str | None = None) -> None:
        """Approve a pending device authorization (safe from any thread)."""
        self._decide_device(user_code, username or self.settings.default_username, approved=True)

    def deny_device(self, user_code: str) -> None:
        """Deny a pending device authorization (``access_denied`` on the next poll)."""
        self._decide_device(user_code, self.settings.default_username, approved=False)

    def _decide_device(self, user_code: str, username: str, *, approved: bool) -> None:
        with self._store.lock:
            credential = self._store.device_by_user_code(user_code)
            if credential is None:
                raise KeyError(f"unknown user code {user_code!r}")
            if username not in self._store.users:
                raise KeyError(f"unknown user {username!r}")
            credential.decision = (username, approved)

    # -- observations ------------------------------------------------------------------

    def client_documents(self) -> list[str]:
        """Every client ID metadata document URL fetched so far, in order."""
        with self._store.lock:
            return list(self._store.client_documents)

    def registrations(self) -> list[dict[str, Any]]:
        """Client metadata of every RFC 7591 registration so far, oldest first."""
        with self._store.lock:
            return [dict(r) for r in self._store.registrations]

    def token_requests(self) -> list[TokenRequestRecord]:
        """Every ``POST /token`` so far, oldest first."""
        with self._store.lock:
            return list(self._store.token_log)

    def token_counts(self) -> Counter[str]:
        """Number of token requests by ``grant_type`` (failed ones included)."""
        with self._store.lock:
            return Counter(r.grant_type for r in self._store.token_log)

    def token_request_count(self, grant_type: str | None = None) -> int:
        """Token requests with this grant type (all of them if ``None``)."""
        counts = self.token_counts()
        return sum(counts.values()) if grant_type is None else counts[grant_type]

    def revocations(self) -> list[RevocationRecord]:
        """Every ``POST /revoke`` so far (one rejected before the token was looked up, e.g.
        for bad client authentication, shows as ``known=False, client_id=None``)."""
        with self._store.lock:
            return list(self._store.revocation_log)

    def authorization_requests(self) -> list[dict[str, str]]:
        """Query parameters of every ``GET /authorize``, oldest first."""
        with self._store.lock:
            return [dict(params) for params in self._store.authorization_log]

    @property
    def last_authorization_request(self) -> dict[str, str] | None:
        """Query parameters of the latest ``GET /authorize`` (``None`` before the first)."""
        with self._store.lock:
            log = self._store.authorization_log
            return dict(log[-1]) if log else None

    def token_state(self, value: str) -> Literal["active", "revoked", "expired", "unknown"]:
        """What the server thinks of an access or refresh token string."""
        with self._store.lock:
            token, kind = self._store.find_token(value, None)
            if token is None:
                return "unknown"
            if kind == "refresh_token":
                if token.refresh_revoked:
                    return "revoked"
                return "active" if token.refresh_usable() else "expired"
            if token.is_revoked():
                return "revoked"
            return "expired" if token.is_expired() else "active"

    def server_errors(self) -> list[str]:
        """Tracebacks of unexpected exceptions inside the server (each became a 500)."""
        with self._store.lock:
            return list(self._store.errors)

    def assert_no_server_errors(self) -> None:
        """Fail loudly if the fixture itself crashed while handling a request."""
        errors = self.server_errors()
        assert not errors, "the test authorization server crashed:\n" + "\n".join(errors)

    # -- the Flask application ---------------------------------------------------------

    def _validated_metadata(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "revocation_endpoint": self.url("/revoke"),
            "device_authorization_endpoint": self.url("/device_authorization"),
            "userinfo_endpoint": self.url("/userinfo"),
            "scopes_supported": scope_to_list(DEFAULT_SCOPE),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(DEFAULT_GRANT_TYPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "email", "preferred_username", "name"],
            "authorization_response_iss_parameter_supported": True,
        }
        rfc8414.AuthorizationServerMetadata(document).validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
        return document

    def _build_app(self) -> flask.Flask:
        store = self._store
        app = flask.Flask(__name__)
        server = _FlaskAuthorizationServer(app, store)
        server.register_grant(_AuthorizationCodeGrant, [_S256CodeChallenge(self.settings)])
        server.register_grant(_RefreshTokenGrant)
        server.register_grant(_DeviceCodeGrant)
        server.register_endpoint(_RevocationEndpoint)
        server.register_endpoint(_DeviceAuthorizationEndpoint(server))
        server.register_endpoint(_RegistrationEndpoint(server, self.settings, self.metadata))
        issuer_parameter = _IssuerParameter(store)
        server.register_extension(issuer_parameter)
        protector = ResourceProtector()
        protector.register_token_validator(_BearerTokenValidator(store))

        def authorization_error(error: OAuth2Error) -> Response:
            if error.redirect_uri:
                # RFC 6749 §4.1.2.1 redirect, with state and (RFC 9207) iss.
                response = server.handle_error_response(None, error)
                issuer_parameter.add_issuer_parameter(server, response)
                return cast(Response, response)
            # Unknown client or unregistered redirect_uri: never redirect (§4.1.2.1).
            body = f"<p id='error'>{html.escape(error.error or '')}</p><p>{html.escape(error.description or '')}</p>"
            return _html_page("Authorization error", body, status=error.status_code)

        @app.errorhandler(Exception)
        def crashed(error: Exception) -> Any:
            if isinstance(error, HTTPException):
                return error
            with store.lock:
                store.errors.append("".join(traceback.format_exception(error)))
            return Response("internal error in the test authorization server", status=500)

        @app.get("/authorize")
        def authorize_page() -> Response:
            with store.lock:
                store.authorization_log.append(dict(flask.request.args.items()))
                user = store.user(self.settings.default_username)
                try:
                    grant = server.get_consent_grant(end_user=user)
                except OAuth2Error as error:
                    return authorization_error(error)
                client: Client = grant.client
                action = html.escape(flask.request.full_path, quote=True)
                username = html.escape(user.username if user else "", quote=True)
                body = (
                    f"<p>The application <b>{html.escape(client.client_id)}</b> asks for "
                    f"<span id='scope'>{html.escape(grant.request.scope or '')}</span>.</p>\n"
                    f"<form method='post' action='{action}'>\n"
                    f"<input type='hidden' name='username' value='{username}'>\n"
                    "<button type='submit' name='confirm' value='yes'>Allow</button>\n"
                    "<button type='submit' name='confirm' value='no'>Deny</button>\n"
                    "</form>"
                )
                return _html_page(f"Authorize {client.client_id}", body)

        @app.post("/authorize")
        def authorize_decision() -> Response:
            with store.lock:
                confirm = flask.request.form.get("confirm")
                username = flask.request.form.get("username") or self.settings.default_username
                user = store.user(username)
                if confirm not in ("yes", "no") or user is None:
                    return _html_page("Bad consent form", "<p>confirm must be yes or no</p>", status=400)
                try:
                    grant = server.get_consent_grant(end_user=user)
                except OAuth2Error as error:
                    return authorization_error(error)
                return cast(
                    Response,
                    server.create_authorization_response(
                        request=grant.request, grant_user=user if confirm == "yes" else None, grant=grant
                    ),
                )

        @app.post("/token")
        def token() -> Response:
            with store.lock:
                override = self.settings.token_response_override
                allowed = self.settings.resource_indicators
                if override is None and allowed is not None and flask.request.form.get("resource") not in allowed:
                    override = (400, "application/json", b'{"error": "invalid_target"}')
                response = _override_response(override) if override is not None else server.create_token_response()
                if override is not None:
                    response.headers.update(self.settings.token_response_headers)
                store.token_log.append(_token_record(flask.request, response, overridden=override is not None))
                return cast(Response, response)

        @app.post("/revoke")
        def revoke() -> Response:
            with store.lock:
                override = self.settings.revocation_response_override
                response = (
                    _override_response(override)
                    if override is not None
                    else server.create_endpoint_response("revocation")
                )
                record = flask.g.pop("revocation_record", None)
                invalid_status = self.settings.revoke_invalid_token_status
                dead = record is None or not record.was_active
                if override is None and invalid_status != 200 and response.status_code == 200 and dead:
                    body = b'{"error": "invalid_token"}'  # Google's 400 for a token already dead
                    response = _override_response((invalid_status, "application/json", body))
                record = record or RevocationRecord(
                    token_type_hint=flask.request.form.get("token_type_hint"),
                    known=False,
                    matched=None,
                    was_active=False,
                    client_id=None,
                    status=0,
                )
                store.revocation_log.append(replace(record, status=response.status_code))
                return cast(Response, response)

        @app.post("/device_authorization")
        def device_authorization() -> Response:
            with store.lock:
                override = self.settings.device_authorization_response_override
                if override is not None:
                    return _override_response(override)
                return cast(Response, server.create_endpoint_response("device_authorization"))

        @app.get("/device")
        def device_page() -> Response:
            code = html.escape(flask.request.args.get("user_code", ""), quote=True)
            body = (
                "<form method='post' action='/device'>\n"
                f"<label>Code <input type='text' name='user_code' value='{code}'></label>\n"
                "<button type='submit' name='confirm' value='yes'>Allow</button>\n"
                "<button type='submit' name='confirm' value='no'>Deny</button>\n"
                "</form>"
            )
            return _html_page("Connect a device", body)

        @app.post("/device")
        def device_decision() -> Response:
            confirm = flask.request.form.get("confirm")
            user_code = flask.request.form.get("user_code", "")
            username = flask.request.form.get("username") or self.settings.default_username
            if confirm not in ("yes", "no"):
                return _html_page("Bad device form", "<p>confirm must be yes or no</p>", status=400)
            with store.lock:
                credential = store.device_by_user_code(user_code)
                if credential is None or credential.is_expired() or credential.decision is not None:
                    return _html_page("Unknown code", "<p id='result'>unknown or expired code</p>", status=400)
                if store.user(username) is None:
                    return _html_page("Unknown user", "<p>no such user</p>", status=400)
                credential.decision = (username, confirm == "yes")
            result = "approved" if confirm == "yes" else "denied"
            return _html_page(f"Device {result}", f"<p id='result'>{result}</p>")

        @app.get("/userinfo")
        def userinfo() -> Response:
            with store.lock:
                override = self.settings.userinfo_response_override
                if override is not None:
                    return _override_response(override)
                try:
                    bearer = protector.acquire_token()
                except OAuth2Error as error:
                    protector.raise_error_response(error)  # 401 + WWW-Authenticate (RFC 6750 §3)
                user = store.user(bearer.username)
                assert user is not None
                return flask.jsonify(user.userinfo())

        @app.post("/register")
        def register() -> Response:
            with store.lock:
                if not self.settings.dynamic_registration:
                    return Response("not found", status=404)
                refusal = self.settings.registration_refusal
                if refusal is not None:
                    body = {"error": refusal, "error_description": "registration refused by this server"}
                    return cast(Response, flask.jsonify(body)), 400  # type: ignore[return-value]
                return cast(Response, server.create_endpoint_response("client_registration"))

        @app.get("/.well-known/oauth-authorization-server")
        @app.get("/.well-known/openid-configuration")
        def metadata() -> Response:
            return flask.jsonify(self.metadata())

        app.wsgi_app = with_quirks(app.wsgi_app, self.settings)  # type: ignore[method-assign]
        return app


def _basic_client_id(header: str | None) -> str | None:
    kind, _, value = (header or "").partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(decoded.partition(":")[0])


def _token_record(request: flask.Request, response: Response, *, overridden: bool) -> TokenRequestRecord:
    form = request.form
    basic_id = _basic_client_id(request.headers.get("Authorization"))
    auth_method: Literal["client_secret_basic", "client_secret_post", "none"]
    if basic_id is not None:
        auth_method = "client_secret_basic"
    elif form.get("client_secret"):
        auth_method = "client_secret_post"
    else:
        auth_method = "none"
    error = None
    if response.status_code >= 400 and response.is_json:
        try:
            body = response.get_json(silent=True)
        except RecursionError:  # an override of nested JSON, sent on purpose
            body = None
        if isinstance(body, dict):
            error = body.get("error")
    return TokenRequestRecord(
        grant_type=form.get("grant_type", ""),
        client_id=basic_id or form.get("client_id"),
        auth_method=auth_method,
        status=response.status_code,
        error=error,
        has_code_verifier="code_verifier" in form,
        redirect_uri=form.get("redirect_uri"),
        scope=form.get("scope"),
        overridden=overridden,
        resource=form.get("resource"),
    )


def start_auth_server(settings: Settings | None = None, *, clock: Callable[[], float] = time.time) -> AuthServer:
    """Start a server; the caller must :meth:`AuthServer.close` it."""
    return AuthServer(settings, clock=clock)


@contextmanager
def running_auth_server(
    settings: Settings | None = None, *, clock: Callable[[], float] = time.time
) -> Iterator[AuthServer]:
    """``with running_auth_server() as server: ...``; closed (threads joined) on exit."""
    server = AuthServer(settings, clock=clock)
    try:
        yield server
    finally:
        server.close()
