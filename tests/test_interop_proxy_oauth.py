"""Issue 35's "Must show": a 20-second rotating OAuth credential used through ``tokendeck proxy
run`` for two minutes of requests: no failed request, about one refresh per lifetime at the
authorization server, no refresh token replayed.

Everything is real: the authorization server is panva's certified ``oidc-provider``
(:mod:`tests.support.oidc_provider`: 20-second access tokens, refresh tokens rotated on every
use, a replayed one answered invalid_grant and the grant revoked), the credential is signed in
through its pages by the fake browser, and ``tokendeck proxy run`` (the installed command, as a
process) runs a Python client that asks a loopback HTTPS resource server every 0.5-1 s for
:data:`DURATION` seconds with the placeholder as its bearer token.  The resource server stands
in for ``api.resource.test`` (``TOKENDECK_PROXY_RESOLVE``, its certificate from a test CA the
proxy checks it against: ``TOKENDECK_PROXY_UPSTREAM_CA``) and introspects every bearer token it
gets at the provider, as a real API would.

How many refreshes: the proxy reads the token on each request (:meth:`Vault.token`), which
refreshes when the access token has less than its read margin left
(:meth:`Credential.refresh_margin`: min(60 s, lifetime / 8) = 2.5 s for 20 s), so each token
serves about 17.5 s, plus up to one request interval (1 s) before the next request finds it
due: 17.5-18.5 s a refresh, 120 / 18.5 = 6.5 to 120 / 17.5 = 6.9 in two minutes (6 seen here).
:data:`REFRESHES` allows 5 to 8: one fewer for the signed-in token's first stretch and a slow
machine's sparser requests, and at most 120 / 17.5 + 1; far from "every request" (about 160)
and from "never" (a token 20 s old is refused), so about one refresh per lifetime.

Run twice: without an agent, and with ``tokendeck agent start`` running on the same vault.
``proxy run`` does not ask the agent for tokens yet (it opens the vault itself), so with the agent
there are two refresh owners: the agent's background refresher renews 5 s ahead (lifetime / 4,
:data:`vault.settings.AHEAD_FRACTION`), about every 15 s (120 / 15 = 8; 7 seen here), and the
proxy's reads find its token fresh; the test shows the two never replay a refresh token.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bridge import TOKENDECK
from tests.support.cli import CliRunner
from tests.support.oidc_provider import OidcProvider
from tests.support.proxy_servers import StandInCA, _memfd_path, make_ca, write_bundle

pytestmark = [pytest.mark.slow]  # two minutes of wall clock, as the issue asks (interop: the oidc_provider fixture)

NAME = "certified"
HOST = "api.resource.test"
DURATION = 120.0
"""Seconds of requests (the issue's two minutes)."""
REFRESHES = range(5, 9)
"""Refreshes the provider may see in :data:`DURATION` seconds (see the module's docstring)."""

CLIENT = """
import json, os, random, sys, time
import httpx

token = os.environ["API_TOKEN"]
results = []
end = time.monotonic() + float(sys.argv[2])
with httpx.Client(timeout=20) as client:  # HTTPS_PROXY and SSL_CERT_FILE from the run's environment
    while time.monotonic() < end:
        try:
            answer = client.get("https://HOST/data", headers={"Authorization": "Bearer " + token})
            results.append(answer.status_code)
        except httpx.HTTPError as error:
            results.append(type(error).__name__)
        time.sleep(0.5 + random.random() / 2)
json.dump({"results": results, "placeholder": token}, open(sys.argv[1], "w"))
sys.exit(0 if results and all(r == 200 for r in results) else 1)
""".replace("HOST", HOST)


@dataclass
class ResourceServer:
    """What it saw: per request, the bearer token's hash and what introspection said of it."""

    port: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None


def resource_server(ca: StandInCA, provider: OidcProvider) -> ResourceServer:
    """HTTPS on 127.0.0.1 for :data:`HOST`: 200 for a bearer token the provider says is active, else 401."""
    found = ResourceServer()
    endpoint = provider.metadata["introspection_endpoint"]
    auth = (provider.resource_server_id, provider.resource_server_secret)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            header = self.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
            said = httpx.post(endpoint, data={"token": token}, auth=auth, timeout=10).json() if token else {}
            found.seen.append(
                {"sha": hashlib.sha256(token.encode()).hexdigest(), "active": said.get("active") is True,
                 "sub": said.get("sub"), "exp": said.get("exp")}
            )  # fmt: skip
            body = b'{"ok": true}' if said.get("active") is True else b'{"error": "invalid_token"}'
            self.send_response(200 if said.get("active") is True else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    cert_pem, key_pem = ca.leaf([HOST])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert_fd, cert_path = _memfd_path(cert_pem)
    key_fd, key_path = _memfd_path(key_pem)
    try:
        context.load_cert_chain(cert_path, key_path)
    finally:
        os.close(cert_fd)
        os.close(key_fd)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    found.port, found.server = server.server_address[1], server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return found


@pytest.fixture
def signed_in(
    cli: CliRunner, passphrase_env: str, oidc_provider: OidcProvider, browser_log: Path
) -> Iterator[CliRunner]:
    """A passphrase vault holding ``certified``, signed in through the provider's pages."""
    client = oidc_provider.register_native_client()
    assert cli("init").code == 0
    added = cli("provider", "add", NAME, "--issuer", oidc_provider.issuer, f"--client-id={client['client_id']}")
    assert added.code == 0, added.err
    login = cli("login", NAME)
    assert login.code == 0, login.err
    yield cli


@pytest.mark.parametrize("agent", [False, True], ids=["no-agent", "agent"])
def test_a_20_second_rotating_credential_through_the_proxy_for_two_minutes(
    signed_in: CliRunner, oidc_provider: OidcProvider, passphrase_env: str, home: Path, tmp_path: Path, agent: bool
) -> None:
    ca = make_ca("resource test CA")
    server = resource_server(ca, oidc_provider)
    script, out = tmp_path / "client.py", tmp_path / "client.json"
    script.write_text(CLIENT)
    env = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": passphrase_env,
        "TOKENDECK_PROXY_RESOLVE": f"{HOST}={server.port}",
        "TOKENDECK_PROXY_UPSTREAM_CA": write_bundle(tmp_path / "upstream-ca.pem", ca.cert_pem),
    }
    if agent:
        started = subprocess.run([TOKENDECK, "agent", "start"], env=env, capture_output=True, text=True, check=False)
        assert started.returncode == 0, started.stderr
    before = len(oidc_provider.requests("token", grant_type="refresh_token"))
    try:
        run = subprocess.run(  # noqa: S603 - the installed command, fixed arguments
            [TOKENDECK, "proxy", "run", "--allow", f"{NAME}={HOST}", "-e", f"API_TOKEN={NAME}", "--",
             sys.executable, str(script), str(out), str(DURATION)],
            env=env, capture_output=True, text=True, timeout=DURATION + 120, check=False,
        )  # fmt: skip
    finally:
        if agent:
            subprocess.run([TOKENDECK, "agent", "stop"], env=env, capture_output=True, check=False)
    told = json.loads(out.read_text())
    results: list[object] = told["results"]
    failed = [r for r in results if r != 200]
    assert run.returncode == 0 and not failed, (run.returncode, failed, run.stderr[-2000:])
    assert len(results) >= DURATION / 1.1 - 5  # a request every 0.5-1 s (plus its own time)

    assert len(server.seen) == len(results)
    assert all(seen["active"] and seen["sub"] == "alice" for seen in server.seen)  # only valid, real tokens
    placeholder = hashlib.sha256(told["placeholder"].encode()).hexdigest()
    assert not any(seen["sha"] == placeholder for seen in server.seen)  # never the placeholder

    refreshes = oidc_provider.requests("token", grant_type="refresh_token")[before:]
    assert all(r["status"] == 200 and r["issued_refresh_token"] for r in refreshes), refreshes
    assert len(refreshes) in REFRESHES, len(refreshes)
    distinct = len({seen["sha"] for seen in server.seen})
    assert distinct in (len(refreshes), len(refreshes) + 1)  # the signed-in token, then one per refresh
    assert oidc_provider.log()["revoked_grants"] == 0  # no refresh token was replayed (that revokes the grant)
    assert not [r for r in oidc_provider.requests("token") if r["status"] != 200]

    listed = signed_in("proxy", "runs", "--json")
    (ran,) = json.loads(listed.out)
    assert (ran["exit"], ran["substituted"], ran["refused"]) == (0, len(results), 0)
