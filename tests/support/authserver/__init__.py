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

from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

from tests.support.authserver.models import (
    Client,
    RevocationRecord,
    TokenRequestRecord,
    normalize_user_code,
    redirect_uri_matches,
)
from tests.support.authserver.server import AuthServer, running_auth_server, start_auth_server
from tests.support.authserver.settings import (
    ALICE,
    BOB,
    DEFAULT_SCOPE,
    Settings,
    User,
)

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
    "normalize_user_code",
    "redirect_uri_matches",
    "running_auth_server",
    "start_auth_server",
]
