"""The test authorization server's constants, its resource owners and its behaviour switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

DEFAULT_SCOPE = "openid email profile offline_access read write"
"""The scopes a client registered without ``scope=`` may ask for."""

DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token", DEVICE_CODE_GRANT_TYPE)
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1/callback",)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")

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
