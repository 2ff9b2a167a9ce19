"""The latency ``tokendeck mcp-bridge`` adds to an MCP ``tools/call``, with the agent running
and without one.

Run from the repository root::

    .venv/bin/python benchmarks/mcp_bridge.py [--calls 200]

It starts the loopback Authlib authorization server (RFC 7591 registration and RFC 8707
resource checks on) and a real MCP server built with the official SDK
(``tests/support/mcp_server.py``: streamable HTTP, each token checked at the authorization
server), both in a process of their own (so the clients measured here share no interpreter
with them), signs a throw-away passphrase vault in to it with ``tokendeck login
--mcp`` (through the fake browser; ``tokendeck init`` as a process, so the vault has
SQLCipher's default KDF cost, the product's), and starts the agent.  Then three sessions of
the SDK's own client stay open side by side:

- direct: the SDK client speaking streamable HTTP to the server, with the same bearer token
  in a fixed header (the anchor: what any client pays);
- agent: the SDK's stdio client talking to ``tokendeck mcp-bridge``, which asks the agent
  for a fresh token on every request (no passphrase in its environment);
- no agent: the same, with ``TOKENDECK_NO_AGENT=1`` and the passphrase in its environment:
  the bridge unlocks the vault once for its session and reads a fresh token from it for
  every request.

The calls rotate between the three (``echo``, after a warm-up), so machine noise falls on
all alike.  It prints each side's p50 and p90, each bridge's cost per call (the median of
its paired differences with the anchor) and its ratio to the anchor at p50, and how long each
session took to start (once: the no-agent bridge pays its unlock there).  Targets: the bridge
adds at most 5 ms at p50 through the agent; without it, it stays within the same few ms (the
KDF once per session, not once per call).  Nothing here asserts a time; it prints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import child_env, scratch_dir, tokendeck_command  # noqa: E402

WARMUP = 20
SIDES = ("direct", "agent", "no agent")
LABELS = {
    "direct": "direct: SDK client over streamable HTTP (the anchor)",
    "agent": "bridged, agent running: SDK stdio client -> mcp-bridge",
    "no agent": "bridged, no agent: vault unlocked once by the bridge",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per side (default 200)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the servers' own process
    args = parser.parse_args()
    if args.serve:
        return serve()

    import anyio

    from tests.support.fake_browser import browser_command
    from vault.core import keys

    tokendeck = tokendeck_command()
    with scratch_dir("mcp-bridge") as scratch, servers() as url:
        env = child_env(scratch / "home", scratch)
        env.update(
            TOKENDECK_RUNTIME_DIR=str(scratch / "run" / "tokendeck"),  # never the developer's agent
            BROWSER=browser_command(),
            FAKE_BROWSER_MODE="approve",
            FAKE_BROWSER_LOG=str(scratch / "browser.jsonl"),
            FAKE_BROWSER_TIMEOUT="5",
        )
        for argv in (["init", "--passphrase"], ["login", "--mcp", url, "--name", "tools"], ["agent", "start"]):
            subprocess.run([*tokendeck, *argv], env=env, check=True, capture_output=True, timeout=120)
        token = subprocess.run(
            [*tokendeck, "token", "tools"], env=env, check=True, capture_output=True, text=True, timeout=60
        ).stdout.strip()
        envs = {
            "agent": {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"},  # the agent has the key
            "no agent": {**env, "TOKENDECK_NO_AGENT": "1"},
        }
        try:
            samples, started = anyio.run(_measure, url, token, tokendeck, envs, args.calls)
        finally:
            subprocess.run([*tokendeck, "agent", "stop"], env=env, capture_output=True, timeout=60)

    def pct(values: list[float], p: float) -> float:
        return sorted(values)[min(len(values) - 1, int(p * len(values)))] * 1000

    print(f"tokendeck mcp-bridge: {args.calls} tools/call per side (+{WARMUP} warm-up), rotating, one session each")
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}); {os.cpu_count()} CPUs")
    print(f"vault: passphrase, PBKDF2 {keys.SQLCIPHER_KDF_ITER} iterations (SQLCipher's default, as the product)")
    print("milliseconds are this machine's and noisy; compare the sides, measured in the same run\n")
    print(f"{'side':<58} {'p50 ms':>8} {'p90 ms':>8} {'x direct':>9} {'start ms':>9}")
    direct50 = pct(samples["direct"], 0.5)
    for side in SIDES:
        values = samples[side]
        ratio = pct(values, 0.5) / direct50
        print(f"{LABELS[side]:<58} {pct(values, 0.5):>8.2f} {pct(values, 0.9):>8.2f} {ratio:>8.2f}x "
              f"{started[side]:>9.1f}")  # fmt: skip
    print()
    for side in ("agent", "no agent"):
        added = statistics.median(b - d for d, b in zip(samples["direct"], samples[side], strict=True)) * 1000
        print(f"the bridge ({side}) adds {added:.2f} ms per tools/call at p50 (median of paired differences)")
    print("targets: <= 5 ms added through the agent; without it the same order (the unlock is in 'start ms', once)")
    return 0


def serve() -> int:
    """The authorization server and the MCP server, until stdin closes; the MCP server's URL on stdout."""
    from tests.support.authserver import running_auth_server
    from tests.support.mcp_server import running_mcp_server

    with running_auth_server() as auth, running_mcp_server(auth.issuer) as (url, _seen):
        auth.settings.dynamic_registration = True
        auth.settings.resource_indicators = (url,)
        print(url, flush=True)
        sys.stdin.read()
    return 0


@contextmanager
def servers() -> Iterator[str]:
    """:func:`serve` in a process of its own; the MCP server's URL."""
    child = subprocess.Popen(  # noqa: S603 - this script
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None  # noqa: S101 - both piped
    try:
        url = child.stdout.readline().strip()
        if not url:
            raise SystemExit("benchmark setup failed: the servers did not start")
        yield url
    finally:
        child.stdin.close()
        child.wait(60)


async def _measure(
    url: str, token: str, tokendeck: list[str], envs: dict[str, dict[str, str]], calls: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    samples: dict[str, list[float]] = {side: [] for side in SIDES}
    started: dict[str, float] = {}
    sessions: dict[str, ClientSession] = {}
    with open(os.devnull, "w") as quiet:
        async with AsyncExitStack() as stack:
            begin = time.perf_counter()
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
            )
            read, write = await stack.enter_async_context(streamable_http_client(url, http_client=http))
            sessions["direct"] = await stack.enter_async_context(ClientSession(read, write))
            await sessions["direct"].initialize()
            started["direct"] = (time.perf_counter() - begin) * 1000
            for side, env in envs.items():
                begin = time.perf_counter()
                params = StdioServerParameters(
                    command=tokendeck[0], args=[*tokendeck[1:], "mcp-bridge", "tools"], env=env
                )
                bread, bwrite = await stack.enter_async_context(stdio_client(params, errlog=quiet))
                sessions[side] = await stack.enter_async_context(ClientSession(bread, bwrite))
                await sessions[side].initialize()
                started[side] = (time.perf_counter() - begin) * 1000
            for i in range(WARMUP + calls):
                shift = i % len(SIDES)
                for side in SIDES[shift:] + SIDES[:shift]:
                    start = time.perf_counter()
                    answer = await sessions[side].call_tool("echo", {"text": f"call {i}"})
                    elapsed = time.perf_counter() - start
                    if answer.is_error:
                        raise SystemExit(f"benchmark failed: a call was refused ({side}): {answer.content}")
                    if i >= WARMUP:
                        samples[side].append(elapsed)
    return samples, started


if __name__ == "__main__":
    sys.exit(main())
