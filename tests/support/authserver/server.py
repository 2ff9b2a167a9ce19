"""The running server: :class:`AuthServer`, its configuration and observations, and how to start one."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal, cast

from authlib.oauth2 import rfc8414, rfc9207
from authlib.oauth2.rfc6749.util import scope_to_list
from werkzeug.serving import make_server

from tests.support.authserver.app import build_app
from tests.support.authserver.models import Client, RevocationRecord, TokenRequestRecord
from tests.support.authserver.settings import (
    AUTH_METHODS,
    DEFAULT_GRANT_TYPES,
    DEFAULT_REDIRECT_URIS,
    DEFAULT_SCOPE,
    Settings,
    User,
)
from tests.support.authserver.store import _Store
from tests.support.authserver.wsgi import TIMEOUT, _ConnectionTracker, _Handler, _TrackedServer


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
        app = build_app(self, self._store)
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

    # -- the metadata document ----------------------------------------------------------

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
