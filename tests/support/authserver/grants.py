"""The Authlib grant, endpoint and extension subclasses the test authorization server runs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Literal, cast
from urllib.parse import unquote_plus

import flask
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
)
from authlib.oauth2.rfc9207 import IssuerParameter

from tests.support.authserver.models import AuthorizationCode, Client, DeviceCredential, RevocationRecord, Token
from tests.support.authserver.settings import AUTH_METHODS, DEFAULT_SCOPE, Settings, User
from tests.support.authserver.store import _Store


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
