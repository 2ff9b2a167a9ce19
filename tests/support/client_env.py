"""The environment each coding-agent CLI gives a stdio MCP server it starts, built from the
environment the CLI itself runs in, by the same rule as the CLI's source (ported, not
guessed; docs/mcp-client-environments.md gives the sources and what each one means).

- Codex CLI: clears the environment, then passes a fixed list of variables (those that are
  set), the entry's ``env_vars`` names, and the entry's own ``env`` table.
- Gemini CLI: the whole environment through its secret redaction, which MCP servers always
  get (names matching TOKEN, SECRET, KEY, AUTH... in any case, a few fixed names, and values
  that look like secrets are dropped), plus ``GEMINI_CLI=1`` and the entry's ``env``; the
  TypeScript SDK's stdio transport then lays that over its own default variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CODEX_SOURCE = "openai/codex codex-rs/rmcp-client/src/utils.rs (create_env_for_mcp_server, DEFAULT_ENV_VARS)"
CODEX_DEFAULT_ENV_VARS = (
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "__CF_USER_TEXT_ENCODING", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ",
)  # fmt: skip
"""What Codex passes on Unix today (``DEFAULT_ENV_VARS``, ``#[cfg(unix)]``)."""
ISSUE_29_CODEX = ("HOME", "LANG", "PATH", "SHELL", "TERM")
"""The five variables issue 29 saw Codex pass: fewer than its list, so the stricter test."""


def codex_env(
    parent: Mapping[str, str],
    entry_env: Mapping[str, str] | None = None,
    *,
    env_vars: tuple[str, ...] = (),
    defaults: tuple[str, ...] = CODEX_DEFAULT_ENV_VARS,
) -> dict[str, str]:
    """Codex's ``create_env_for_mcp_server``: ``defaults`` and ``env_vars`` taken from
    ``parent`` where set, then the entry's ``env`` (the launcher's ``env_clear()`` drops the rest)."""
    env = {name: parent[name] for name in (*defaults, *env_vars) if name in parent}
    env.update(entry_env or {})
    return env


GEMINI_SOURCE = (
    "google-gemini/gemini-cli packages/core/src/services/environmentSanitization.ts (sanitizeEnvironment) and "
    "packages/core/src/tools/mcp-client.ts (stdio transport: redaction forced on)"
)
GEMINI_ALWAYS_ALLOWED = frozenset({
    "PATH", "SYSTEMROOT", "COMSPEC", "PATHEXT", "WINDIR", "TEMP", "TMP", "USERPROFILE", "SYSTEMDRIVE", "HOME",
    "LANG", "SHELL", "TMPDIR", "USER", "LOGNAME", "TERM", "COLORTERM", "ADDITIONAL_CONTEXT", "AVAILABLE_LABELS",
    "BRANCH_NAME", "DESCRIPTION", "EVENT_NAME", "GITHUB_ENV", "IS_PULL_REQUEST", "ISSUES_TO_TRIAGE", "ISSUE_BODY",
    "ISSUE_NUMBER", "ISSUE_TITLE", "PULL_REQUEST_NUMBER", "REPOSITORY", "TITLE", "TRIGGERING_ACTOR",
})  # fmt: skip
GEMINI_NEVER_ALLOWED = frozenset({
    "CLIENT_ID", "DB_URI", "CONNECTION_STRING", "AWS_DEFAULT_REGION", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
    "SLACK_WEBHOOK_URL", "TWILIO_ACCOUNT_SID", "DATABASE_URL", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_ACCOUNT",
    "FIREBASE_PROJECT_ID",
})  # fmt: skip
GEMINI_NAME_PATTERNS = tuple(
    re.compile(p, re.I)
    for p in ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "AUTH", "CREDENTIAL", "CREDS", "PRIVATE", "CERT")
)
GEMINI_VALUE_PATTERNS = tuple(
    re.compile(p, re.I)
    for p in (
        r"-----BEGIN (RSA|OPENSSH|EC|PGP) PRIVATE KEY-----",
        r"-----BEGIN CERTIFICATE-----",
        r"(https?|ftp|smtp)://[^:\s]{1,1024}:[^@\s]{1,1024}@",
        r"(ghp|gho|ghu|ghs|ghr|github_pat)_[a-zA-Z0-9_]{36,}",
        r"AIzaSy[a-zA-Z0-9_\\-]{33}",
        r"AKIA[A-Z0-9]{16}",
        r"eyJ[a-zA-Z0-9_-]{0,10240}\.[a-zA-Z0-9_-]{0,10240}\.[a-zA-Z0-9_-]{0,10240}",
        r"(s|r)k_(live|test)_[0-9a-zA-Z]{24}",
        r"xox[abpr]-[a-zA-Z0-9-]+",
    )
)
TS_SDK_DEFAULT_ENV_VARS = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
"""``DEFAULT_INHERITED_ENV_VARS`` of the TypeScript SDK's stdio client transport (Unix):
modelcontextprotocol/typescript-sdk src/client/stdio.ts; what an SDK-built client such as the
MCP Inspector passes when it gives no environment of its own."""


def gemini_redacts(name: str, value: str, *, allowed: frozenset[str] = frozenset(), strict: bool = False) -> bool:
    """``shouldRedactEnvironmentVariable``, in its order."""
    key, upper = name.upper(), value.upper()
    if key.startswith("GEMINI_CLI_"):
        return False
    if any(p.search(upper) for p in GEMINI_VALUE_PATTERNS):
        return True
    if key.startswith("GIT_CONFIG_") or key in allowed:
        return False
    if key in GEMINI_ALWAYS_ALLOWED:
        return False
    if key in GEMINI_NEVER_ALLOWED or strict:
        return True
    return any(p.search(key) for p in GEMINI_NAME_PATTERNS)


def gemini_env(parent: Mapping[str, str], entry_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What Gemini CLI starts a stdio MCP server with: ``GEMINI_CLI=1``, ``parent`` redacted
    (strict, everything but the always-allowed names, in a GitHub Action), the entry's ``env``
    (tokendeck writes none; ``${VAR}`` expansion is not ported), all over the TypeScript SDK's
    default variables."""
    strict = bool(parent.get("GITHUB_SHA")) or parent.get("SURFACE") == "Github"
    final = {"GEMINI_CLI": "1"}
    final.update({k: v for k, v in parent.items() if not gemini_redacts(k, v, strict=strict)})
    final.update(entry_env or {})
    defaults = {k: parent[k] for k in TS_SDK_DEFAULT_ENV_VARS if k in parent and not parent[k].startswith("()")}
    return {**defaults, **final}
