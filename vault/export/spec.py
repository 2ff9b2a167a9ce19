"""What an export is: the targets, where each MCP client keeps its servers, and one export's :class:`Spec`.

Data only; :mod:`vault.export.mcp` merges a server entry and
:mod:`vault.export.targets` renders each file format from it.  Facts per tool:
PROVIDERS.md, Part B.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class McpFormat:
    """How one tool keeps MCP servers: ``{top: {server: {...}}}``."""

    top: str
    """The key holding the servers (``mcpServers``, VS Code's ``servers``, Zed's ``context_servers``)."""
    default_file: str
    fixed: tuple[tuple[str, str], ...] = ()
    """Keys a new stdio entry starts with (Zed's ``source = "custom"``, VS Code's ``type = "stdio"``)."""
    url_keys: tuple[str, ...] = ()
    """Keys holding a remote server's URL, the one a new entry gets first; empty: no remote servers."""
    keep_url_key: bool = True
    """An entry keeps the URL key it has (Gemini: ``url`` is SSE, ``httpUrl`` streamable HTTP);
    if false, it moves to the first (Windsurf connects with ``serverUrl`` only)."""
    remote_fixed: tuple[tuple[str, str], ...] = ()
    """Keys a new remote entry starts with (``type = "http"``)."""
    reference: str = ""
    """A header value's reference to the token, formatted with ``var`` and ``input``."""
    client: str = "<client>"
    """The command that starts the tool, for the notice on how to give it the variable."""
    folders: tuple[str, ...] = ()
    """Folders the tool itself creates, so an export may too when they are missing: a user folder
    (``~/.cursor``, made with its missing parents under the home directory) or a project folder's
    name (``.vscode``, made only inside a folder that exists).  PROVIDERS.md, Part B."""


JSON_MCP: dict[str, McpFormat] = {
    "claude-code": McpFormat(
        "mcpServers", ".mcp.json", url_keys=("url",), remote_fixed=(("type", "http"),), reference="${{{var}}}",
        client="claude",
    ),
    "claude-desktop": McpFormat(
        "mcpServers", "~/.config/Claude/claude_desktop_config.json",
        folders=("~/.config/Claude", "~/Library/Application Support/Claude"),
    ),
    "cursor": McpFormat(
        "mcpServers", "~/.cursor/mcp.json", url_keys=("url",), reference="${{env:{var}}}", client="cursor",
        folders=("~/.cursor", ".cursor"),
    ),
    "windsurf": McpFormat(
        "mcpServers", "~/.codeium/windsurf/mcp_config.json", url_keys=("serverUrl", "url"), keep_url_key=False,
        reference="${{env:{var}}}", client="windsurf", folders=("~/.codeium/windsurf",),
    ),
    "gemini": McpFormat(
        "mcpServers", "~/.gemini/settings.json", url_keys=("httpUrl", "url"), reference="${{{var}}}", client="gemini",
        folders=("~/.gemini", ".gemini"),
    ),
    "vscode": McpFormat(
        "servers", ".vscode/mcp.json", (("type", "stdio"),), url_keys=("url",), remote_fixed=(("type", "http"),),
        reference="${{input:{input}}}", client="", folders=(".vscode",),
    ),
    "zed": McpFormat(
        "context_servers", "~/.config/zed/settings.json", (("source", "custom"),), folders=("~/.config/zed", ".zed")
    ),
}  # fmt: skip
CODEX = McpFormat(
    "mcp_servers", "~/.codex/config.toml", url_keys=("url",), client="codex", folders=("~/.codex", ".codex")
)
"""Codex: remote servers, but the token goes in its own keys (:func:`_codex_header`), not ``${}``."""
MCP_FORMATS: dict[str, McpFormat] = {**JSON_MCP, "codex": CODEX}

ANY_URL_KEYS = ("url", "serverUrl", "httpUrl")
"""What marks a remote entry in a tool whose file has no remote servers (so it is refused)."""
REMOTE_TYPES = ("http", "sse")

MCP_TARGETS = (*JSON_MCP, "codex")
"""Targets that hold MCP servers: --server, --var, and --command (stdio) or --url (remote) for a new server."""

TARGETS = ("dotenv", "shell", "netrc", *MCP_TARGETS)
FILE_TARGETS = ("dotenv", "netrc", *MCP_TARGETS)
PLAINTEXT_ONLY = ("dotenv", "netrc")
"""Formats with no way to refer to a secret kept elsewhere: they hold the token or nothing."""

DEFAULT_FILES = {
    "dotenv": ".env",
    "netrc": "~/.netrc",
    **{target: fmt.default_file for target, fmt in MCP_FORMATS.items()},
}


def target_path(target: str, given: str | None) -> Path:
    """The file an export of ``target`` writes: ``given`` (``--file``), else the target's usual
    place, with ``~`` expanded, made absolute against the current directory."""
    return Path(os.path.abspath(os.path.expanduser(given or DEFAULT_FILES[target])))


def consumer_folders(target: str, folder: Path) -> list[Path]:
    """The missing folders, outermost first, that ``target``'s tool would create itself to
    hold a file in ``folder`` (its own folder, :attr:`McpFormat.folders`); empty when ``folder``
    exists or is not the tool's own (a typo'd project path stays refused)."""
    fmt = MCP_FORMATS.get(target)
    if fmt is None or folder.is_dir():
        return []
    home = Path(os.path.expanduser("~"))
    for own in fmt.folders:
        if own.startswith("~/"):
            if folder != Path(os.path.abspath(os.path.expanduser(own))) or not home.is_dir():
                continue
            missing = [folder]
            while not missing[-1].parent.is_dir() and missing[-1].parent != home:
                missing.append(missing[-1].parent)
            return missing[::-1] if missing[-1].parent.is_dir() else []
        if folder.name == own and folder.parent.is_dir():
            return [folder]
    return []


VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Spec:
    """What to export where (never secret: it is stored as the binding's options)."""

    target: str
    name: str
    var: str | None = None
    server: str | None = None
    host: str | None = None
    login: str | None = None
    command: tuple[str, ...] = ()
    plaintext: bool = False
    url: str | None = None
    """A remote MCP server's URL (``--url``, or the entry's own once the file is read); None: stdio."""
    header: str | None = None
    """The HTTP header a remote server gets the token in (``--header``; None: ``Authorization``)."""
    bridge: bool = False
    """A stdio entry that runs ``tokendeck mcp-bridge NAME`` (an MCP credential's remote server,
    for any client, with nothing secret in the file)."""
    home: str | None = None
    """The vault home a bridge entry names (``mcp-bridge --home HOME NAME``): the entry says
    which vault it reads instead of leaving it to ``$TOKENDECK_HOME``, which some clients do
    not pass on.  Set by :func:`vault.services.exports.plan_export` from the open vault."""
    launcher: str | None = None
    """How a ``tokendeck exec``/``mcp-bridge`` entry names tokendeck: set by
    :func:`vault.export.plan` from the file's scope (:func:`vault.export.mcp.tokendeck_command`)."""

    @property
    def header_name(self) -> str:
        return self.header or "Authorization"

    @property
    def key(self) -> str:
        """The binding's key: which entry of the file holds the token."""
        if self.target == "netrc":
            return f"machine {self.host}"
        if self.target in MCP_FORMATS:
            top = MCP_FORMATS[self.target].top
            if self.url is not None:
                headers = "http_headers" if self.target == "codex" else "headers"
                return f"{top}.{self.server}.{headers}.{self.header_name}"
            return f"{top}.{self.server}.env.{self.var}"
        return str(self.var)

    def options(self) -> dict[str, Any]:
        """What :func:`vault.services.exports.reexport` needs to build the Spec again (no secret)."""
        options: dict[str, Any] = {"var": self.var, "server": self.server, "host": self.host, "login": self.login}
        if self.url is not None:
            options |= {"url": self.url, "header": self.header_name}
        return options
