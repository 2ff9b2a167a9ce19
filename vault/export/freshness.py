"""Whether an exported token stays fresh: the one rule every front end's export shows.

An OAuth access token with an expiry runs out while a tool that read it once still holds
it.  :func:`freshness` says so, naming the token's lifetime and the fresh way where there
is one, for each kind of entry:

- a ``tokendeck mcp-bridge`` entry fetches a fresh token for every request: said so;
- a plaintext file (``.env``, ``.netrc``, ``--plaintext``) is re-written after every
  refresh (:func:`vault.services.exports.reexport`): kept fresh while the agent runs, but
  a program reads it when it starts;
- everything else reads the token once (a stdio entry under ``tokendeck exec`` when its
  server starts, a ``${VAR}`` header when the client starts, VS Code's input when it is
  pasted, a shell line when it runs): a warning, with ``--bridge`` for an MCP server's
  credential and Claude Code's own per-request ``headersHelper`` for its remote entries.

Static tokens and OAuth tokens with no expiry (a GitHub OAuth App's) get nothing.
"""

from __future__ import annotations

from vault.core.model import MCP_URL_EXTRA, Credential
from vault.core.timefmt import duration_text
from vault.export.spec import Spec

__all__ = ["CLIENT_NAMES", "freshness"]

CLIENT_NAMES = {
    "claude-code": "Claude Code",
    "claude-desktop": "Claude Desktop",
    "cursor": "Cursor",
    "windsurf": "Windsurf",
    "gemini": "Gemini CLI",
    "vscode": "VS Code",
    "zed": "Zed",
    "codex": "Codex",
}
"""Each MCP target's tool, as a sentence names it."""

BRIDGE = "export with --bridge instead: tokendeck mcp-bridge fetches a fresh token for every request"
HEADERS_HELPER = (
    "Claude Code can also run a command for each request's headers (its headersHelper setting, "
    "which tokendeck does not write)"
)


def _about(seconds: float) -> str:
    """A lifetime rounded for a sentence: ``about 1h``, ``about 5m``, ``about 45s``."""
    if seconds >= 3600:
        return f"about {duration_text(round(seconds / 3600) * 3600)}"
    if seconds >= 120:
        return f"about {duration_text(round(seconds / 60) * 60)}"
    return f"about {duration_text(seconds)}"


def freshness(credential: Credential, spec: Spec) -> str | None:
    """What to tell the user about how long the exported token stays good; None: nothing to say.

    Args:
        credential: the credential exported (as stored after the export read its token).
        spec: the export, resolved against its file (:attr:`Spec.url` set for a remote entry).
    """
    if credential.kind != "oauth" or credential.expires_at is None:
        return None  # a static token, or an OAuth token that does not expire: good until revoked
    life = credential.lifetime()
    lasts = f"lasts {_about(life)}" if life else "expires"
    head = f"{spec.name}'s access token {lasts}"
    if not credential.renewable:
        return f"{head} and cannot be renewed (no refresh token): sign in again when it runs out"
    if spec.bridge:
        return f"{head}; tokendeck mcp-bridge fetches a fresh one for every request"
    if spec.plaintext and spec.target != "shell":
        return (
            f"{head}; every refresh re-writes the file, so it is kept fresh while the agent runs; "
            "a program reads it when it starts"
        )
    mcp = bool(credential.extras.get(MCP_URL_EXTRA))
    client = CLIENT_NAMES.get(spec.target, spec.target)
    if spec.target == "shell":
        return (
            f"{head}: the shell keeps the one it got when the line ran; run the line again when it runs out, "
            "or run each command under tokendeck exec, or tokendeck proxy run (a fresh token per request)"
        )
    if spec.url is None:  # a stdio entry under tokendeck exec
        why = f"{client} starts the server with one token, which it keeps while it runs"
        fresh = BRIDGE if mcp else "restart the server when it runs out"
        return f"{head}: {why}; {fresh}"
    if spec.target == "vscode":
        why = "VS Code keeps the input you paste after the token runs out"
    else:
        why = f"{client} reads ${spec.var} once, when it starts" if spec.var else f"{client} reads it once"
    ways = [BRIDGE if mcp else "restart it with a fresh token when it runs out"]
    if spec.target == "claude-code":
        ways.append(HEADERS_HELPER)
    return f"{head}: {why}; {'; or '.join(ways)}"
