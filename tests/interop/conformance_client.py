#!/usr/bin/env python3
"""tokendeck as the MCP client under the MCP conformance suite's client scenarios.

``conformance client --command "PYTHON tests/interop/conformance_client.py" --scenario S``
starts the scenario's scripted MCP server (and authorization server), then runs this script
with the server's URL as its last argument, ``MCP_CONFORMANCE_SCENARIO`` naming the scenario
and, for some, ``MCP_CONFORMANCE_CONTEXT`` holding data such as a pre-registered client.

It does what a user does, with the real ``tokendeck`` command of this interpreter's
environment, in a vault of its own (a passphrase vault at the product's real KDF cost, no
keyring, no agent):

1. ``tokendeck init --passphrase``;
2. ``tokendeck login --mcp URL --name conformance``, with the browser played by
   ``tests/support/fake_browser.py`` (the scenarios' authorization endpoints redirect at
   once) and ``--client-metadata`` naming the suite's client ID metadata document URL, as
   the suite's own example client is configured; a pre-registered client's id comes as
   ``--client-id`` and its secret on standard input (``--with-secret``), never in argv;
3. the official ``mcp`` SDK's stdio client starts ``tokendeck mcp-bridge conformance`` as an
   MCP client application would, then initializes, lists the tools and calls each one.

Exit 0 when all of that worked; 1 (with the reason on stderr) when anything failed, which
is the expected outcome in scenarios that must refuse to sign in (``auth/resource-mismatch``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_BROWSER = HERE.parent / "support" / "fake_browser.py"
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
"""The client ID metadata document URL the suite's scenarios expect a client to use."""
NAME = "conformance"
PASSPHRASE = "conformance suite passphrase"  # noqa: S105 - a throwaway vault in a temporary directory


def tokendeck() -> str:
    """The ``tokendeck`` command installed beside this interpreter."""
    found = Path(sys.executable).with_name("tokendeck")
    if not found.exists():
        raise SystemExit(f"conformance_client: no tokendeck beside {sys.executable}")
    return str(found)


def environment(home: Path) -> dict[str, str]:
    """What every tokendeck process of this run sees: its own home and browser, no keyring."""
    return {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASSPHRASE,
        "TOKENDECK_NO_AGENT": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "BROWSER": f"{sys.executable} {FAKE_BROWSER} %s",
    }


def run(env: dict[str, str], *argv: str, stdin: str = "") -> None:
    """Run ``tokendeck ARGV``; raise with its stderr when it fails."""
    done = subprocess.run(  # noqa: S603 - our own command, no shell
        [tokendeck(), *argv], input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"conformance_client: tokendeck {argv[0]} exited {done.returncode}")


async def use_the_server(env: dict[str, str]) -> None:
    """Through the bridge, as an MCP client application: initialize, list tools, call each."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=tokendeck(), args=["mcp-bridge", NAME], env=env)
    async with stdio_client(params, errlog=sys.stderr) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        for tool in tools.tools:
            answer = await session.call_tool(tool.name, {})
            if answer.is_error:
                raise SystemExit(f"conformance_client: {tool.name} answered with an error")


def main(argv: list[str]) -> int:
    import anyio

    if not argv:
        print("usage: conformance_client.py SERVER_URL", file=sys.stderr)
        return 2
    url = argv[-1]
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    with tempfile.TemporaryDirectory(prefix="tokendeck-conformance-") as tmp:
        env = environment(Path(tmp) / "home")
        run(env, "init", "--passphrase")
        login = ["login", "--mcp", url, "--name", NAME]
        if context.get("client_id"):
            login += [f"--client-id={context['client_id']}"]  # one joined argument: an id may start with "-"
            secret = context.get("client_secret")
            if secret:
                login.append("--with-secret")
            run(env, *login, stdin=f"{secret}\n" if secret else "")
        else:
            run(env, *login, "--client-metadata", CLIENT_METADATA_URL)
        try:
            anyio.run(use_the_server, env)
        except Exception as error:  # noqa: BLE001 - the reason, in one line, for the suite's log
            reason: BaseException = error
            while isinstance(reason, BaseExceptionGroup) and reason.exceptions:
                reason = reason.exceptions[0]
            print(f"conformance_client: the MCP session failed: {type(reason).__name__}: {reason}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
