"""MCP server entries in agent configs: one credential merged into one server entry.

Two kinds of server, decided per entry: a *stdio* server (``command``, ``args``,
``env``) gets the token in its environment, a *remote* server (a URL) gets it in
an HTTP header.  An entry is remote when ``--url`` is given or it already has one
of its tool's URL keys.  The same code edits JSON dicts (Claude Code/Desktop,
Cursor, Windsurf, Gemini CLI, VS Code, Zed) and tomlkit tables (Codex); what
differs per tool is data (:class:`McpFormat`), except where the token goes in a
remote Codex server (its own keys, no ``${}`` expansion).

Reference mode writes no secret: a stdio server runs under ``tokendeck exec``; a
remote server's header names a variable in the tool's own syntax (``${VAR}``,
``${env:VAR}``, VS Code's ``${input:ID}``, Codex's ``bearer_token_env_var``).
A secret that was in that env var or header before is dropped and reported, so
the preview can mask it.  Facts per tool: PROVIDERS.md, Part B.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vault.core.masking import echo
from vault.core.providers import is_loopback_host
from vault.errors import InvalidInput
from vault.export.launcher import tokendeck_command
from vault.export.spec import ANY_URL_KEYS, CODEX, MCP_FORMATS, REMOTE_TYPES, McpFormat, Spec

_TCHAR = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name: RFC 7230's ``token``."""


# ------------------------------------------------------------------ checks


def check_url(url: str) -> None:
    """An https URL, or http on a loopback host; no credentials, spaces or control characters in it.

    Raises:
        InvalidInput: anything else.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in url):  # urlsplit would quietly drop CR, LF and tab
        raise InvalidInput("--url must not contain spaces, line breaks or control characters")
    try:
        parts = urlsplit(url)
        host, _ = (parts.hostname or "").lower(), parts.port
    except ValueError:
        raise InvalidInput(f"--url {echo(url, limit=200)} is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("--url must not hold a user name or password; the token goes in a header")
    if not (parts.scheme == "https" and host) and not (parts.scheme == "http" and is_loopback_host(host)):
        raise InvalidInput(f"--url must be an https URL (http only on a loopback host): {echo(url, limit=200)}")


def check_header(name: str) -> None:
    """An HTTP header name (RFC 7230 ``tchar``s only).

    Raises:
        InvalidInput: anything else (a colon, a space, a line break, empty).
    """
    if not _TCHAR.fullmatch(name):
        raise InvalidInput(
            f"--header {echo(name, limit=100)} is not an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)"
        )


def needs_var(spec: Spec, remote: bool) -> bool:
    """Whether the export names an environment variable: every stdio server, and a remote
    one in reference mode except VS Code's (its ``${input:...}`` is prompted, not an env var)."""
    return not remote or (not spec.plaintext and spec.target != "vscode")


def _require_var(spec: Spec, remote: bool) -> None:
    if needs_var(spec, remote) and not spec.var:
        what = "the variable the header refers to" if remote else "the environment variable to set"
        raise InvalidInput(f"{spec.target} needs --var VAR ({what})")


def _header_value(value: str, label: str) -> None:
    if any(not ch.isprintable() for ch in value):
        raise InvalidInput(f"{label} holds a line break or control character; an HTTP header cannot carry it")


def _header_secret(header: str, value: object) -> str | None:
    """The secret in a header value: the credential after an ``Authorization`` scheme, or the
    whole value; None for a reference (``${...}``)."""
    if not isinstance(value, str) or not value.strip() or "${" in value:
        return None
    scheme, space, credentials = value.strip().partition(" ")
    if header.lower() == "authorization" and space and credentials.strip():
        return credentials.strip()
    return value


def input_id(spec: Spec) -> str:
    """VS Code's ``inputs`` id for the credential."""
    return f"tokendeck-{spec.name}"


def reference_note(spec: Spec) -> str:
    """What the user must do so the tool finds a remote server's token (reference mode)."""
    if spec.target == "vscode":
        return (
            f"VS Code asks once for input {input_id(spec)} and keeps it: paste what tokendeck token {spec.name} prints"
        )
    client = MCP_FORMATS[spec.target].client
    return (
        f"{client} reads ${spec.var} from its environment when it starts, so start it with: "
        f"tokendeck exec -e {spec.var}={spec.name} -- {client}"
    )


# ----------------------------------------------------------------- servers


@dataclass
class Merged:
    replaced: list[str]
    """Secrets the change overwrote or dropped."""
    url: str | None
    """The remote server's URL; None for a stdio server."""
    launched: bool = False
    """The entry runs tokendeck (``exec`` or ``mcp-bridge``): it names :attr:`Spec.launcher`."""


def _url_key(fmt: McpFormat, server: MutableMapping[str, Any]) -> str | None:
    return next((key for key in fmt.url_keys or ANY_URL_KEYS if key in server), None)


def merge_server(
    spec: Spec,
    fmt: McpFormat,
    servers: MutableMapping[str, Any],
    token: str | None,
    where: str,
    new_table: Callable[[], MutableMapping[str, Any]],
    new_inline: Callable[[], MutableMapping[str, Any]],
    *,
    refresh: bool = False,
) -> Merged:
    """Point ``servers[spec.server]`` at the credential.

    ``new_table`` makes a missing server entry and ``new_inline`` a missing ``env``
    or header table (dicts for JSON, tomlkit tables for Codex); ``where`` names the
    servers object in messages (``.mcp.json: mcpServers``).  With ``refresh`` (a
    plaintext binding re-written after a refresh) only the secret changes: the entry
    must still be there and of the kind it was (``spec.url`` set: remote).

    Raises:
        InvalidInput: a missing server without ``--command``/``--url``, an entry of
            another kind, a shape that is not the tool's, a token a header cannot hold.
    """
    name = str(spec.server)
    server = servers.get(name)
    if server is not None and not isinstance(server, MutableMapping):
        raise InvalidInput(f"{where}.{name} is not an object; not changed")
    has_url = server is not None and _url_key(fmt, server) is not None
    if spec.bridge:
        _merge_bridge(spec, fmt, servers, server, has_url, where, new_table)
        return Merged([], None, launched=True)
    if refresh:
        if server is None:
            raise InvalidInput(f"{where} has no server {echo(name)} any more; not re-created")
        if has_url != (spec.url is not None):
            kind = "remote" if spec.url is not None else "stdio"
            raise InvalidInput(f"{where}.{name} is no longer a {kind} server; not changed")
    remote = spec.url is not None or has_url
    if remote and not fmt.url_keys:
        raise InvalidInput(
            f"{spec.target}'s config has no remote (URL) MCP servers; {where}.{name} not changed "
            "(use a stdio server with --command, or another target)"
        )
    _require_var(spec, remote)
    if not remote:
        if spec.header is not None:
            raise InvalidInput(f"--header is for remote servers: {where}.{name} has no URL (give --url)")
        replaced = _merge_stdio(spec, fmt, servers, server, token, where, new_table, new_inline)
        return Merged(replaced, None, launched=not spec.plaintext)
    if spec.command:
        raise InvalidInput(f"{where}.{name} is a remote server (URL); --command does not apply")
    if server is None:
        entry = new_table()
        for key, value in fmt.remote_fixed:
            entry[key] = value
        servers[name] = entry
        server = servers[name]  # tomlkit hands back its own container
    elif "command" in server:
        raise InvalidInput(
            f"{where}.{name} is a stdio server (command); --url does not turn it into a remote one "
            "(remove it first, or pick another --server)"
        )
    url = _set_url(spec, fmt, server, where, refresh=refresh)
    if spec.plaintext:
        assert token is not None  # noqa: S101 - the caller fetched it
        _header_value(token, "the token")
    if fmt is CODEX:
        return Merged(_codex_header(spec, server, token, new_inline), url)
    return Merged(_json_header(spec, fmt, server, token, where, new_inline), url)


def _set_url(spec: Spec, fmt: McpFormat, server: MutableMapping[str, Any], where: str, *, refresh: bool) -> str:
    """The entry's URL, set from ``--url`` (or moved to the tool's right key) unless refreshing."""
    name = str(spec.server)
    for fixed, _ in fmt.remote_fixed:
        if fixed in server and server[fixed] not in REMOTE_TYPES:
            raise InvalidInput(
                f"{where}.{name} has {fixed} = {server[fixed]!r}, not one of {REMOTE_TYPES}; not changed"
            )
    key = _url_key(fmt, server)
    if key is not None and not isinstance(server[key], str):
        raise InvalidInput(f"{where}.{name}.{key} is not a string; not changed")
    current = str(server[key]) if key is not None else None
    url = spec.url if spec.url is not None and not refresh else current
    assert url is not None  # noqa: S101 - remote means --url or a URL key
    if refresh:
        return url
    right = key if key is not None and fmt.keep_url_key else fmt.url_keys[0]
    if key is not None and key != right:
        _rename(server, key, right)
    server[right] = url
    return url


def _rename(mapping: MutableMapping[str, Any], old: str, new: str) -> None:
    """Rename a key where it stands (JSON dicts only: key order is what a reader sees)."""
    items = [(new if k == old else k, v) for k, v in mapping.items() if k != new]
    mapping.clear()
    mapping.update(items)


def _launcher(spec: Spec) -> str:
    """The command an entry of ``spec`` runs tokendeck by (:attr:`Spec.launcher`, set from the
    file's scope by :func:`vault.export.plan`; a user's file's when rendered without it)."""
    return spec.launcher or tokendeck_command().command


def _merge_bridge(
    spec: Spec,
    fmt: McpFormat,
    servers: MutableMapping[str, Any],
    server: MutableMapping[str, Any] | None,
    has_url: bool,
    where: str,
    new_table: Callable[[], MutableMapping[str, Any]],
) -> None:
    """The entry runs ``tokendeck mcp-bridge --home HOME NAME`` (by absolute path): a stdio
    server, so it works in every client, and the token stays in the vault.  Everything the
    bridge needs is in the entry's arguments, nothing in the environment the client passes
    on (Codex passes a few variables, Gemini CLI drops every ``TOKENDECK_*`` one): the vault
    home here, the agent's socket from the user id (:func:`vault.agent.wire.runtime_dir`)."""
    name = str(spec.server)
    if has_url:
        raise InvalidInput(
            f"{where}.{name} is a remote server (URL); --bridge writes a stdio one: remove it first, or pick "
            "another --server"
        )
    if server is None:
        servers[name] = new_table()
        server = servers[name]  # tomlkit hands back its own container
        for key, value in fmt.fixed:
            server[key] = value
    for key, value in fmt.fixed:
        if key in server and server[key] != value:
            raise InvalidInput(f"{where}.{name} has {key} = {server[key]!r}, not {value!r}; not supported yet")
    server["command"], server["args"] = _launcher(spec), bridge_args(spec)


def bridge_args(spec: Spec) -> list[str]:
    """``mcp-bridge [--home HOME] NAME``: the arguments of a bridge entry."""
    return ["mcp-bridge", *(["--home", spec.home] if spec.home else []), spec.name]


def _unwrap(server: MutableMapping[str, Any]) -> tuple[list[str], list[str]]:
    """A server already wrapped by ``tokendeck exec``: its ``-e`` pairs and the real command."""
    args = [str(a) for a in server.get("args") or []]
    command = server.get("command")
    if isinstance(command, str) and os.path.basename(command) == "tokendeck" and args[:1] == ["exec"] and "--" in args:
        cut = args.index("--")
        pairs = [args[j + 1] for j in range(1, cut - 1) if args[j] == "-e"]
        return pairs, args[cut + 1 :]
    return [], [str(server["command"]), *args]


def _merge_stdio(
    spec: Spec,
    fmt: McpFormat,
    servers: MutableMapping[str, Any],
    server: MutableMapping[str, Any] | None,
    token: str | None,
    where: str,
    new_table: Callable[[], MutableMapping[str, Any]],
    new_inline: Callable[[], MutableMapping[str, Any]],
) -> list[str]:
    """The token in a stdio server's ``env`` (plaintext), or the server under ``tokendeck exec``."""
    name, var = str(spec.server), str(spec.var)
    if server is None:
        if not spec.command:
            raise InvalidInput(
                f"{where} has no server {echo(name)}: give its command last (--command npx -y PACKAGE) or its --url"
            )
        entry = new_table()
        for key, value in fmt.fixed:
            entry[key] = value
        entry["command"], entry["args"] = spec.command[0], list(spec.command[1:])
        servers[name] = entry
        server = servers[name]
    for key, value in fmt.fixed:
        if key in server and server[key] != value:
            raise InvalidInput(f"{where}.{name} has {key} = {server[key]!r}, not {value!r}; not supported yet")
    if spec.command:
        server["command"], server["args"] = spec.command[0], list(spec.command[1:])
    if not isinstance(server.get("command"), str) or not isinstance(server.get("args", []), list):
        raise InvalidInput(f"{where}.{name} is not a stdio server (command, args); not supported yet")
    env = server.get("env")
    if env is not None and not isinstance(env, MutableMapping):
        raise InvalidInput(f"{where}.{name}.env is not an object; not changed")
    replaced: list[str] = []
    if env is not None and isinstance(env.get(var), str) and "${" not in env[var]:
        replaced.append(str(env[var]))
    if spec.plaintext:
        assert token is not None  # noqa: S101 - the caller fetched it
        if env is None:
            server["env"] = new_inline()
            env = server["env"]
        env[var] = token
    else:
        pairs, real = _unwrap(server)
        pairs = [p for p in pairs if p.partition("=")[0] != var] + [f"{var}={spec.name}"]
        server["command"] = _launcher(spec)
        server["args"] = ["exec", *[a for p in pairs for a in ("-e", p)], "--", *real]
        if env is not None:
            env.pop(var, None)  # no secret stays behind
    return replaced


# ----------------------------------------------------------------- headers


def _table(
    server: MutableMapping[str, Any], key: str, where: str, new_inline: Callable[[], MutableMapping[str, Any]] | None
) -> MutableMapping[str, Any] | None:
    """``server[key]`` as a mapping; made (and returned) only if ``new_inline`` is given."""
    table = server.get(key)
    if table is None and new_inline is not None:
        server[key] = new_inline()
        table = server[key]
    if table is not None and not isinstance(table, MutableMapping):
        raise InvalidInput(f"{where}.{key} is not an object; not changed")
    return table


def _pop_header(table: MutableMapping[str, Any] | None, header: str) -> list[Any]:
    """Remove ``header`` from ``table`` whatever its case; returns the old values."""
    if table is None:
        return []
    return [table.pop(k) for k in [k for k in table if str(k).lower() == header.lower()]]


def _set_header(table: MutableMapping[str, Any], header: str, value: str) -> list[Any]:
    """Set ``header`` (whatever its case: an existing one keeps its spelling and place); returns the old values."""
    found = [k for k in table if str(k).lower() == header.lower()]
    old = [table[k] for k in found]
    for k in found[1:]:
        del table[k]
    table[found[0] if found else header] = value
    return old


def _secrets(header: str, values: list[Any], token: str | None) -> list[str]:
    return [s for v in values if (s := _header_secret(header, v)) and s != token]


def _json_header(
    spec: Spec,
    fmt: McpFormat,
    server: MutableMapping[str, Any],
    token: str | None,
    where: str,
    new_inline: Callable[[], MutableMapping[str, Any]],
) -> list[str]:
    header = spec.header_name
    reference = fmt.reference.format(var=spec.var, input=input_id(spec))
    value = ("Bearer " if header.lower() == "authorization" else "") + (str(token) if spec.plaintext else reference)
    headers = _table(server, "headers", f"{where}.{spec.server}", new_inline)
    assert headers is not None  # noqa: S101 - made above
    return _secrets(header, _set_header(headers, header, value), token)


def put_vscode_input(data: MutableMapping[str, Any], spec: Spec, what: str) -> None:
    """The ``inputs`` entry VS Code prompts for (replacing one with the same id, keeping the others).

    Raises:
        InvalidInput: ``inputs`` is not a list.
    """
    inputs = data.setdefault("inputs", [])
    if not isinstance(inputs, list):
        raise InvalidInput(f"{what}: inputs is not a JSON list; not changed")
    entry = {
        "type": "promptString",
        "id": input_id(spec),
        "description": f"{spec.name} token (tokendeck token {spec.name})",
        "password": True,
    }
    same = [i for i, item in enumerate(inputs) if isinstance(item, dict) and item.get("id") == entry["id"]]
    for i in reversed(same[1:]):
        del inputs[i]
    if same:
        inputs[same[0]] = entry
    else:
        inputs.append(entry)


def _codex_header(
    spec: Spec, server: MutableMapping[str, Any], token: str | None, new_inline: Callable[[], MutableMapping[str, Any]]
) -> list[str]:
    """Codex has no ``${}``: ``bearer_token_env_var`` / ``env_http_headers`` name a variable,
    ``http_headers`` holds a literal.  Whichever is written, the header's other sources go, so
    exactly one says what is sent.  Inline ``bearer_token`` is rejected by Codex and a ``headers``
    key ignored: neither is ever written."""
    header = spec.header_name
    where = f"mcp_servers.{spec.server}"
    auth = header.lower() == "authorization"
    previous: list[Any] = [server.pop("bearer_token", None)] if auth else []
    if spec.plaintext:
        _drop_header(server, "env_http_headers", header, where)
        if auth:
            server.pop("bearer_token_env_var", None)
        literal = _table(server, "http_headers", where, new_inline)
        assert literal is not None  # noqa: S101 - made above
        previous += _set_header(literal, header, ("Bearer " if auth else "") + str(token))
    else:
        previous += _drop_header(server, "http_headers", header, where)
        if auth:
            _drop_header(server, "env_http_headers", header, where)
            server["bearer_token_env_var"] = str(spec.var)
        else:
            by_env = _table(server, "env_http_headers", where, new_inline)
            assert by_env is not None  # noqa: S101 - made above
            _set_header(by_env, header, str(spec.var))
    return _secrets(header, previous, token)


def _drop_header(server: MutableMapping[str, Any], key: str, header: str, where: str) -> list[Any]:
    """Remove ``header`` from ``server[key]`` (and the table, if that empties it); returns the old values."""
    table = _table(server, key, where, None)
    old = _pop_header(table, header)
    if old and table is not None and not table:
        del server[key]
    return old
