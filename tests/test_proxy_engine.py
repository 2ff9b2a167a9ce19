"""The placeholder proxy's engine (issue 35): real clients through it to loopback HTTPS stand-ins.

The proxy maps api.github.com and elsewhere.test to loopback servers with certificates from a test
CA (`upstream_cafile`); the clients trust the proxy's own CA. The servers record the headers they
got, so each test sees what really left the proxy.
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.proxy_servers import StandIn, StandInCA, bare_repository, make_ca, serve, write_bundle
from vault.core.secret import Secret
from vault.proxy.engine import ProxyEvent, Rule, RunningProxy, start_proxy
from vault.proxy.engine_certs import LeafCertificates

PLACEHOLDER = "ghp_tdPlaceholder0000000000000000000000"
TOKEN = "ghp_realTokenFromTheVault11111111111111"
USER, PASSWORD = "tokendeck", "run-secret-1"


@dataclass
class Run:
    proxy: RunningProxy
    github: StandIn
    elsewhere: StandIn
    events: list[ProxyEvent]
    client_bundle: str
    proxy_ca: StandInCA

    @property
    def url(self) -> str:
        return f"http://{USER}:{PASSWORD}@127.0.0.1:{self.proxy.port}"


def _start(
    tmp_path: Path,
    *,
    token_for: object = None,
    upstream_ca: StandInCA | None = None,
    hosts: frozenset[str] = frozenset({"api.github.com", "github.com"}),
) -> Iterator[Run]:
    upstream = make_ca("test upstream CA")
    proxy_ca = make_ca("tokendeck proxy CA (test)")
    github = serve(upstream, ["api.github.com", "github.com"], git_root=bare_repository(tmp_path / "git"))
    elsewhere = serve(upstream, ["elsewhere.test"])
    events: list[ProxyEvent] = []
    trusted = upstream_ca or upstream
    proxy = start_proxy(
        ca_cert_pem=proxy_ca.cert_pem,
        ca_key_pem=Secret(proxy_ca.key_pem.decode()),
        rules={PLACEHOLDER: Rule("gh", hosts)},
        token_for=token_for or (lambda name, host: TOKEN),  # type: ignore[arg-type]
        on_event=events.append,
        auth=(USER, PASSWORD),
        upstream_cafile=write_bundle(tmp_path / "upstream.pem", trusted.cert_pem),
        resolve={
            "api.github.com": ("127.0.0.1", github.port),
            "github.com": ("127.0.0.1", github.port),
            "elsewhere.test": ("127.0.0.1", elsewhere.port),
        },
    )
    bundle = write_bundle(tmp_path / "client.pem", proxy_ca.cert_pem)
    try:
        yield Run(proxy, github, elsewhere, events, bundle, proxy_ca)
    finally:
        proxy.stop()
        github.stop()
        elsewhere.stop()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    yield from _start(tmp_path)


def curl(run: Run, *args: str, proxy: str | None = None) -> subprocess.CompletedProcess[str]:
    command = ["curl", "-sS", "--max-time", "20", "--proxy", proxy or run.url, "--cacert", run.client_bundle, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_curl_bearer_reaches_the_server_as_the_token_on_every_keep_alive_request(run: Run) -> None:
    header = f"Authorization: Bearer {PLACEHOLDER}"
    first, second = "https://api.github.com/user?page=2", "https://api.github.com/user/repos"
    done = curl(run, "-H", header, "-w", " http=%{http_version} conns=%{num_connects}\n", first, second)

    assert done.returncode == 0, done.stderr
    assert [seen[2] for seen in run.github.seen] == [{"authorization": f"Bearer {TOKEN}"}] * 2
    assert TOKEN not in done.stdout + done.stderr
    assert "conns=0" in done.stdout  # the second request reused the first's connection
    assert [(e.kind, e.credential, e.host, e.method, e.path) for e in run.events] == [
        ("substituted", "gh", "api.github.com", "GET", "/user"),
        ("substituted", "gh", "api.github.com", "GET", "/user/repos"),
    ]


def test_a_client_asking_for_http2_falls_back_to_http11(run: Run) -> None:
    done = curl(run, "--http2", "-H", f"Authorization: token {PLACEHOLDER}", "-w", "%{http_version}", "-o", "/dev/null",
                "https://api.github.com/user")  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout == "1.1"
    assert run.github.seen[0][2] == {"authorization": f"token {TOKEN}"}


@pytest.mark.parametrize("header", ["PRIVATE-TOKEN", "X-API-Key"])
def test_a_named_header_holding_the_placeholder_gets_the_token(run: Run, header: str) -> None:
    done = curl(run, "-H", f"{header}: {PLACEHOLDER}", "https://api.github.com/user")

    assert done.returncode == 0, done.stderr
    assert run.github.seen[0][2] == {header.lower(): TOKEN}


def test_basic_auth_with_the_placeholder_as_password_is_decoded_swapped_and_re_encoded(run: Run) -> None:
    done = curl(run, "-u", f"x-access-token:{PLACEHOLDER}", "https://api.github.com/user")

    assert done.returncode == 0, done.stderr
    sent = run.github.seen[0][2]["authorization"]
    assert sent == "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def test_the_placeholder_to_a_host_it_is_not_for_is_refused_and_never_forwarded(run: Run) -> None:
    done = curl(
        run, "-H", f"Authorization: Bearer {PLACEHOLDER}", "-w", "\n%{http_code}", "https://elsewhere.test/x?q=1"
    )

    assert done.stdout.splitlines()[-1] == "403"
    assert "gh's token is not allowed for elsewhere.test" in done.stdout
    assert run.elsewhere.seen == []
    assert [(e.kind, e.credential, e.host, e.path, e.reason) for e in run.events] == [
        ("refused", "gh", "elsewhere.test", "/x", "host not allowed")
    ]


def test_a_wildcard_rule_allows_the_names_below_it_and_not_others(tmp_path: Path) -> None:
    for run in _start(tmp_path, hosts=frozenset({"*.github.com"})):
        below = curl(run, "-H", f"Authorization: Bearer {PLACEHOLDER}", "https://api.github.com/user")
        bare = curl(run, "-H", f"Authorization: Bearer {PLACEHOLDER}", "-w", "\n%{http_code}", "https://github.com/x")

        assert below.returncode == 0, below.stderr
        assert bare.stdout.splitlines()[-1] == "403"
        assert run.github.seen == [("GET", "/user", {"authorization": f"Bearer {TOKEN}"})]


def test_the_placeholder_over_plain_http_is_refused_even_to_an_allowed_host(run: Run) -> None:
    done = curl(run, "-H", f"Authorization: Bearer {PLACEHOLDER}", "-w", "\n%{http_code}", "http://api.github.com/user")

    assert done.stdout.splitlines()[-1] == "403"
    assert "never sent over plain http" in done.stdout
    assert run.github.seen == []
    assert [(e.kind, e.host, e.reason) for e in run.events] == [("refused", "api.github.com", "plain http")]


def test_a_request_without_a_placeholder_passes_through_untouched(run: Run) -> None:
    done = curl(run, "-H", "Authorization: Bearer someone-elses", "https://elsewhere.test/ok")

    assert done.returncode == 0, done.stderr
    assert run.elsewhere.seen == [("GET", "/ok", {"authorization": "Bearer someone-elses"})]
    assert run.events == []


@pytest.mark.parametrize("credentials", ["", "tokendeck:wrong@"])
def test_a_connection_without_the_runs_proxy_credentials_gets_407_and_an_event(run: Run, credentials: str) -> None:
    proxy = f"http://{credentials}127.0.0.1:{run.proxy.port}"
    done = curl(run, "-H", f"Authorization: Bearer {PLACEHOLDER}", "https://api.github.com/user", proxy=proxy)

    assert "407" in done.stderr
    assert run.github.seen == []
    assert [(e.kind, e.host) for e in run.events] == [("unauthenticated", "api.github.com")]


def test_proxy_credentials_are_read_as_basic_in_any_case(run: Run) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    header = f"Proxy-Authorization: basic  {auth}"
    done = curl(
        run, "--proxy-header", header, "https://api.github.com/user", proxy=f"http://127.0.0.1:{run.proxy.port}"
    )

    assert done.returncode == 0, done.stderr
    assert run.events == []


def test_an_upstream_whose_certificate_the_proxy_does_not_trust_is_not_reached(tmp_path: Path) -> None:
    for run in _start(tmp_path, upstream_ca=make_ca("some other CA")):
        done = curl(run, "-H", f"Authorization: Bearer {PLACEHOLDER}", "https://api.github.com/user")

        assert done.returncode != 0
        assert all(seen[2] == {} for seen in run.github.seen)


def test_no_token_to_be_had_refuses_the_request_and_the_run_goes_on(tmp_path: Path) -> None:
    def locked(name: str, host: str) -> str:
        raise RuntimeError("the vault is locked")

    for run in _start(tmp_path, token_for=locked):
        refused = curl(run, "-H", f"Authorization: Bearer {PLACEHOLDER}", "-w", "\n%{http_code}",
                       "https://api.github.com/user")  # fmt: skip
        passing = curl(run, "https://elsewhere.test/still-up")

        assert refused.stdout.splitlines()[-1] == "403"
        assert "no token for gh" in refused.stdout
        assert run.github.seen == []
        assert passing.returncode == 0, passing.stderr


def test_httpx_through_the_proxy_sends_the_token_and_sees_the_answer(run: Run) -> None:
    context = ssl.create_default_context(cafile=run.client_bundle)
    with httpx.Client(proxy=run.url, verify=context) as client:
        answers = [client.get("https://api.github.com/user", headers={"Authorization": f"Bearer {PLACEHOLDER}"})
                   for _ in range(3)]  # fmt: skip

    assert [a.status_code for a in answers] == [200] * 3
    assert [seen[2] for seen in run.github.seen] == [{"authorization": f"Bearer {TOKEN}"}] * 3
    assert all(TOKEN not in a.text for a in answers)


def test_requests_with_the_runs_environment_sends_the_token(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests as the child runs it: the proxy and the CA bundle from the environment (requests lets
    REQUESTS_CA_BUNDLE override a session's own `verify`, so the environment is what counts)."""
    import requests

    monkeypatch.setenv("HTTPS_PROXY", run.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", run.client_bundle)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with requests.Session() as session:
        answer = session.get("https://api.github.com/user", headers={"Authorization": f"token {PLACEHOLDER}"})

    assert answer.status_code == 200
    assert run.github.seen == [("GET", "/user", {"authorization": f"token {TOKEN}"})]


def test_git_ls_remote_and_clone_with_the_placeholder_as_password_send_the_token(run: Run, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "HTTPS_PROXY": run.url,
        "GIT_SSL_CAINFO": run.client_bundle,
    }
    url = f"https://x-access-token:{PLACEHOLDER}@github.com/octo/repo.git"
    listed = subprocess.run(["git", "ls-remote", url], capture_output=True, text=True, env=env, timeout=30, check=False)
    clone = tmp_path / "clone"
    cloned = subprocess.run(
        ["git", "clone", "-q", url, str(clone)], capture_output=True, text=True, env=env, timeout=60, check=False
    )

    basic = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert ("GET", "/octo/repo.git/info/refs?service=git-upload-pack", {"authorization": basic}) in run.github.seen
    assert "refs/heads/main" in listed.stdout, listed.stderr
    assert cloned.returncode == 0, cloned.stderr
    assert (clone / "README").read_text() == "hello\n"
    assert TOKEN not in listed.stdout + listed.stderr + cloned.stdout + cloned.stderr
    assert ("substituted", "github.com", "/octo/repo.git/info/refs") in [(e.kind, e.host, e.path) for e in run.events]


def _read_head(stream: ssl.SSLSocket | socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = stream.recv(1)
        if not chunk:
            break
        head += chunk
    return head


def _read_exactly(stream: ssl.SSLSocket, size: int) -> bytes:
    got = b""
    while len(got) < size and (chunk := stream.recv(size - len(got))):
        got += chunk
    return got


def test_a_websocket_upgrade_gets_the_token_and_then_carries_bytes_both_ways(run: Run) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    context = ssl.create_default_context(cafile=run.client_bundle)
    with socket.create_connection(("127.0.0.1", run.proxy.port)) as raw:
        raw.sendall(f"CONNECT api.github.com:443 HTTP/1.1\r\nProxy-Authorization: Basic {auth}\r\n\r\n".encode())
        assert _read_head(raw).startswith(b"HTTP/1.1 200")
        with context.wrap_socket(raw, server_hostname="api.github.com") as tls:
            tls.sendall(
                b"GET /socket HTTP/1.1\r\nHost: api.github.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + f"Authorization: Bearer {PLACEHOLDER}\r\n\r\n".encode()
            )
            switched = _read_head(tls)
            echoes = []
            for message in (b"\x81\x05hello", b"\x81\x05again"):
                tls.sendall(message)
                echoes.append(_read_exactly(tls, len(message)))

    assert switched.startswith(b"HTTP/1.1 101")
    assert echoes == [b"\x81\x05hello", b"\x81\x05again"]
    assert run.github.seen == [("GET", "/socket", {"authorization": f"Bearer {TOKEN}"})]


def test_stop_ends_an_open_tunnel_too(run: Run) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with socket.create_connection(("127.0.0.1", run.proxy.port)) as raw:
        raw.sendall(f"CONNECT api.github.com:443 HTTP/1.1\r\nProxy-Authorization: Basic {auth}\r\n\r\n".encode())
        assert _read_head(raw).startswith(b"HTTP/1.1 200")
        run.proxy.stop()

        assert raw.recv(1) == b""  # the proxy's end is closed: the child's connection ends with the run


def test_stop_ends_a_tunnel_whose_tls_the_proxy_already_took_over(run: Run) -> None:
    """Once the client's TLS is set up, proxy.py's connection has a new socket object for the same
    descriptor: stop must still reach it (it shut down the old, detached object, and the tunnel lived on)."""
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    context = ssl.create_default_context(cafile=run.client_bundle)
    with socket.create_connection(("127.0.0.1", run.proxy.port)) as raw:
        raw.sendall(f"CONNECT api.github.com:443 HTTP/1.1\r\nProxy-Authorization: Basic {auth}\r\n\r\n".encode())
        assert _read_head(raw).startswith(b"HTTP/1.1 200")
        with context.wrap_socket(raw, server_hostname="api.github.com") as tls:
            run.proxy.stop()
            tls.settimeout(30)  # a guard against hanging the suite, not a measurement

            assert tls.recv(1) == b""


def test_stop_closes_the_port(run: Run) -> None:
    run.proxy.stop()
    done = curl(run, "https://api.github.com/user")

    assert done.returncode != 0
    assert run.github.seen == []


def test_starting_writes_nothing_in_the_working_directory_or_proxy_pys_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import proxy.common.flag

    cwd, data = tmp_path / "cwd", tmp_path / "proxy-data"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(proxy.common.flag, "DEFAULT_DATA_DIRECTORY_PATH", str(data))
    ca = make_ca("tokendeck proxy CA (test)")
    started = start_proxy(
        ca_cert_pem=ca.cert_pem,
        ca_key_pem=Secret(ca.key_pem.decode()),
        rules={},
        token_for=lambda name, host: TOKEN,
        on_event=lambda event: None,
        auth=(USER, PASSWORD),
    )
    started.stop()

    assert list(cwd.iterdir()) == []
    assert not data.exists()


def test_the_leaf_key_and_certificates_live_in_memory_files_only() -> None:
    ca = make_ca("tokendeck proxy CA (test)")
    leaves = LeafCertificates(ca_cert_pem=ca.cert_pem, ca_key_pem=Secret(ca.key_pem.decode()))
    try:
        paths = [leaves.key_path, leaves.cert_path("api.github.com"), leaves.cert_path("api.github.com")]

        assert paths[1] == paths[2]  # one certificate per host per run
        assert all(os.readlink(p).startswith("/memfd:") for p in paths)
    finally:
        leaves.close()
    assert not os.path.exists(paths[0])
