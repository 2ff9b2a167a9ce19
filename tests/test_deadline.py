"""Issue 30: one deadline per provider exchange, from connecting to the last byte.  httpx2's
timeouts count each read on its own, so a token endpoint that drips its answer a byte at a
time used to hold ``tokendeck token`` for 205 s and then blame an "empty body".  A real
socket server here drips its status line and headers, or its body; every exchange ends at
the deadline with a reason that says so."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

import vault
from tests.support.cli import CliRunner
from vault.oauth import http
from vault.settings import PROVIDER_TIMEOUT


@contextmanager
def dripping(part: str, every: float = 0.2) -> Iterator[str]:
    """A loopback HTTP server that answers every request slowly: ``part`` is "headers" (its
    status line and headers a byte at a time) or "body" (whole headers, then the body a byte
    at a time).  Yields its base URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()
    body = b'{"access_token": "at", "token_type": "Bearer", "expires_in": 3600}' + b" " * 400
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                slow, fast = (head, b"") if part == "headers" else (body, head)
                conn.sendall(fast)
                for i in range(len(slow)):
                    if stop.wait(every):
                        return
                    conn.sendall(slow[i : i + 1])
                if part == "headers":
                    conn.sendall(body)
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_answer_ends_at_the_one_deadline(part: str) -> None:
    # The drip never pauses as long as the 20 s read timeout: only the one deadline can end it.
    with (
        dripping(part) as base,
        httpx2.Client(transport=http.CappedTransport(deadline=1.0), timeout=20) as client,
        pytest.raises(httpx2.TimeoutException) as late,
    ):
        client.post(f"{base}/token", content=b"grant_type=refresh_token")
    assert http.describe_failure(late.value) == f"no complete answer within {PROVIDER_TIMEOUT:g} s"


def test_the_deadline_reaches_the_pool_that_every_vault_uses() -> None:
    pool = http.connection_pool()
    assert isinstance(pool._pool._network_backend, http.DeadlineBackend)
    pool.close()


def test_a_dripping_token_endpoint_fails_the_refresh_with_the_reason_and_keeps_the_credential(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "PROVIDER_TIMEOUT", 1.0)
    monkeypatch.setattr("vault.services.refreshing.REFRESH_ATTEMPTS", 1)
    with dripping("body") as base:
        assert cli("init").code == 0
        added = cli(
            "provider", "add", "slow", "--client-id", "c", "--authorize-url", f"{base}/authorize",
            "--token-url", f"{base}/token",
        )  # fmt: skip
        assert added.code == 0, added.err
        with vault.open_vault(home) as v:
            v.records.save(
                vault.Credential(
                    name="slow", provider="slow", kind="oauth", access_token=vault.Secret("old-at"),
                    refresh_token=vault.Secret("old-rt"), expires_at=v.clock.now() - 10, created_at=1, updated_at=1,
                ),
                replace=False,
            )  # fmt: skip
            before = v.get("slow")
        r = cli("refresh", "slow")
    assert r.code == 1 and "no complete answer within 1 s" in r.err and "Traceback" not in r.err
    with vault.open_vault(home) as v:
        after = v.get("slow")
    assert after.refresh_token == before.refresh_token and after.access_token == before.access_token
