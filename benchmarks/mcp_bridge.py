"""The latency ``tokendeck mcp-bridge`` adds to an MCP ``tools/call``.

Run from the repository root::

    .venv/bin/python benchmarks/mcp_bridge.py [--calls 200]

It starts the loopback Authlib authorization server (RFC 7591 registration and RFC 8707
resource checks on) and a real MCP server built with the official SDK
(``tests/support/mcp_server.py``: streamable HTTP, each token checked at the
authorization server), signs a throw-away passphrase vault in to it with ``tokendeck login
--mcp`` (through the fake browser), and starts the agent.  Then two sessions of the SDK's
own client stay open side by side:

- direct: the SDK client speaking streamable HTTP to the server, with the same bearer token
  in a fixed header (the anchor: what any client pays);
- bridged: the SDK's stdio client talking to ``tokendeck mcp-bridge`` (a fresh token from
  the agent on every request, then the same HTTP to the same server).

The calls alternate between the two (``echo``, after a warm-up), so machine noise falls on
both alike.  It prints each side's p50 and p90, and the bridge's cost per call: the
median of the paired differences.  Target: at most 5 ms at p50.  Nothing here asserts a
time; it prints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import child_env, scratch_dir, tokendeck_command  # noqa: E402

WARMUP = 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per side (default 200)")
    args = parser.parse_args()

    import anyio

    from tests.support.authserver import running_auth_server
    from tests.support.fake_browser import browser_command
    from tests.support.mcp_server import running_mcp_server

    tokendeck = tokendeck_command()
    with scratch_dir("mcp-bridge") as scratch, running_auth_server() as auth:
        (scratch / "run").mkdir(mode=0o700)
        env = child_env(scratch / "home", scratch)
        env.update(
            XDG_RUNTIME_DIR=str(scratch / "run"),
            BROWSER=browser_command(),
            FAKE_BROWSER_MODE="approve",
            FAKE_BROWSER_LOG=str(scratch / "browser.jsonl"),
            FAKE_BROWSER_TIMEOUT="5",
        )
        with running_mcp_server(auth.issuer) as (url, _seen):
            auth.settings.dynamic_registration = True
            auth.settings.resource_indicators = (url,)
            for argv in (["init", "--passphrase"], ["login", "--mcp", url, "--name", "tools"], ["agent", "start"]):
                subprocess.run([*tokendeck, *argv], env=env, check=True, capture_output=True, timeout=120)
            token = subprocess.run(
                [*tokendeck, "token", "tools"], env=env, check=True, capture_output=True, text=True, timeout=60
            ).stdout.strip()
            bridge_env = {k: v for k, v in env.items() if k != "TOKENDECK_PASSPHRASE"}  # the agent has the key
            try:
                direct, bridged = anyio.run(_measure, url, token, tokendeck, bridge_env, args.calls)
            finally:
                subprocess.run([*tokendeck, "agent", "stop"], env=env, capture_output=True, timeout=60)

    def pct(values: list[float], p: float) -> float:
        return sorted(values)[min(len(values) - 1, int(p * len(values)))] * 1000

    added = statistics.median(b - d for d, b in zip(direct, bridged, strict=True)) * 1000
    print(f"tokendeck mcp-bridge: {args.calls} tools/call per side (+{WARMUP} warm-up), alternating, one session each")
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}); {os.cpu_count()} CPUs")
    print("milliseconds are this machine's and noisy; compare the sides, measured in the same run\n")
    rows = [("direct: SDK client over streamable HTTP (the anchor)", direct)]
    rows.append(("bridged: SDK stdio client -> tokendeck mcp-bridge", bridged))
    print(f"{'side':<58} {'p50 ms':>8} {'p90 ms':>8}")
    for label, values in rows:
        print(f"{label:<58} {pct(values, 0.5):>8.2f} {pct(values, 0.9):>8.2f}")
    print(f"\nthe bridge adds {added:.2f} ms per tools/call at p50 (median of paired differences; target <= 5 ms)")
    print(f"bridged / direct at p50: {pct(bridged, 0.5) / pct(direct, 0.5):.2f}x")
    return 0


async def _measure(
    url: str, token: str, tokendeck: list[str], env: dict[str, str], calls: int
) -> tuple[list[float], list[float]]:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    params = StdioServerParameters(command=tokendeck[0], args=[*tokendeck[1:], "mcp-bridge", "tools"], env=env)
    direct: list[float] = []
    bridged: list[float] = []
    with open(os.devnull, "w") as quiet:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as plain,
            stdio_client(params, errlog=quiet) as (bread, bwrite),
            ClientSession(bread, bwrite) as via,
        ):
            await plain.initialize()
            await via.initialize()
            for i in range(WARMUP + calls):
                for session, into in ((plain, direct), (via, bridged)) if i % 2 else ((via, bridged), (plain, direct)):
                    start = time.perf_counter()
                    answer = await session.call_tool("echo", {"text": f"call {i}"})
                    elapsed = time.perf_counter() - start
                    if answer.is_error:
                        raise SystemExit(f"benchmark failed: a call was refused: {answer.content}")
                    if i >= WARMUP:
                        into.append(elapsed)
    return direct, bridged


if __name__ == "__main__":
    sys.exit(main())
