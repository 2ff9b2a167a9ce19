"""One authorization-code exchange, through the library that suits the provider.

Most providers go through Authlib; Google goes through google-auth-oauthlib (its
own client library, which hands back ``google.oauth2.credentials.Credentials``).
Both build the authorization URL (with state and the PKCE S256 challenge) and
redeem the code; :func:`vault.oauth.flows.browser_sign_in` does not care which.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any, Protocol

import httpx2

from vault.core.model import ClientRegistration
from vault.core.outside import Unparsable, check_depth
from vault.core.providers import Provider
from vault.errors import ProviderError
from vault.oauth.client import OAuthClient
from vault.settings import OAUTHLIB_INSECURE_ENV, OAUTHLIB_RELAX_SCOPE_ENV


class CodeSession(Protocol):
    def authorization_url(self, state: str, verifier: str | None) -> str: ...

    def exchange(self, code: str, verifier: str | None) -> dict[str, Any]:
        """Redeem the code; return the flattened token response."""

    def close(self) -> None: ...


class AuthlibSession:
    """Authlib's protocol helpers over tokendeck's httpx2 client (see :mod:`vault.oauth.client`)."""

    def __init__(
        self,
        provider: Provider,
        registration: ClientRegistration,
        redirect_uri: str,
        scopes: tuple[str, ...],
        transport: httpx2.BaseTransport | None,
    ) -> None:
        self._client = OAuthClient(provider, registration, transport)
        self._redirect_uri = redirect_uri
        self._scopes = scopes

    def authorization_url(self, state: str, verifier: str | None) -> str:
        return self._client.authorization_url(
            redirect_uri=self._redirect_uri, state=state, verifier=verifier, scopes=self._scopes
        )

    def exchange(self, code: str, verifier: str | None) -> dict[str, Any]:
        return self._client.exchange_code(code, redirect_uri=self._redirect_uri, verifier=verifier)

    def close(self) -> None:
        self._client.close()


_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _oauthlib_settings(url: str) -> Iterator[None]:
    """oauthlib's two process-wide switches, set only for the exchange.

    ``OAUTHLIB_RELAX_TOKEN_SCOPE``: Google answers with scopes spelled as URLs,
    which oauthlib would otherwise raise on.  ``OAUTHLIB_INSECURE_TRANSPORT``:
    only for a loopback ``http://`` URL (a local test server);
    :func:`vault.core.providers.check_endpoint` already refused any other http URL.
    """
    wanted = {OAUTHLIB_RELAX_SCOPE_ENV: "1"}
    if url.startswith("http://"):
        wanted[OAUTHLIB_INSECURE_ENV] = "1"
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in wanted}
        os.environ.update(wanted)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class GoogleSession:
    """google-auth-oauthlib's ``Flow``; after :meth:`exchange`, :attr:`credentials` is set."""

    def __init__(
        self, provider: Provider, registration: ClientRegistration, redirect_uri: str, scopes: tuple[str, ...]
    ) -> None:
        from google_auth_oauthlib.flow import Flow

        self._provider = provider
        self._secret = registration.client_secret.reveal() if registration.client_secret else ""
        config = {
            "installed": {
                "client_id": registration.client_id,
                "client_secret": registration.client_secret.reveal() if registration.client_secret else "",
                "auth_uri": provider.authorize_url,
                "token_uri": provider.token_url,
                "redirect_uris": [redirect_uri],
            }
        }
        self._flow = Flow.from_client_config(config, scopes=list(scopes), redirect_uri=redirect_uri)

    def authorization_url(self, state: str, verifier: str | None) -> str:
        self._flow.code_verifier = verifier
        self._flow.autogenerate_code_verifier = False
        with _oauthlib_settings(str(self._provider.authorize_url)):
            url, _ = self._flow.authorization_url(state=state, **self._provider.authorize_params)
        return str(url)

    def exchange(self, code: str, verifier: str | None) -> dict[str, Any]:
        import requests
        from oauthlib.oauth2 import OAuth2Error

        name = self._provider.key
        try:
            with _oauthlib_settings(str(self._provider.token_url)):
                # include_client_id: send id and secret in the body, as the catalog's
                # token_auth (client_secret_post) says, not requests-oauthlib's default Basic.
                token = self._flow.fetch_token(code=code, timeout=20, include_client_id=True)
        except OAuth2Error as exc:
            said = str(exc.error or "error")
            raise ProviderError(name, said, exc.description, secrets=(code, verifier or "", self._secret)) from None
        except requests.RequestException as exc:
            raise ProviderError(name, "network", f"token endpoint: {type(exc).__name__}") from None
        except (ValueError, RecursionError):  # oauthlib's own json.loads: it has no depth limit
            raise ProviderError(
                name, "bad_response", "the token endpoint did not answer a usable JSON object"
            ) from None
        try:
            return dict(check_depth(dict(token)))
        except Unparsable as exc:
            raise ProviderError(name, "bad_response", f"the token response {exc.reason}") from None

    def close(self) -> None:
        self._flow.oauth2session.close()


def open_session(
    provider: Provider,
    registration: ClientRegistration,
    redirect_uri: str,
    scopes: tuple[str, ...],
    transport: httpx2.BaseTransport | None,
) -> CodeSession:
    """The session for this provider's client library (the catalog's ``client_library``)."""
    if provider.client_library == "google-auth-oauthlib":
        return GoogleSession(provider, registration, redirect_uri, scopes)
    return AuthlibSession(provider, registration, redirect_uri, scopes, transport)
