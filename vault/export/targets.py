"""Each export target's file format: merge one credential into existing text.

Every function here is pure: old text (``None`` for a file that does not exist)
in, new text out, plus the secrets the change replaced (so the preview can mask
them).  Nothing else in the file changes: other lines, entries, servers and keys
are kept as they were.
"""

from __future__ import annotations

import copy
import json
import math
import re
import shlex
import tomllib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vault.core.masking import echo
from vault.core.outside import Unparsable, load_json, load_toml
from vault.errors import InvalidInput
from vault.export.mcp import check_header, check_url, merge_server, needs_var, put_vscode_input
from vault.export.spec import JSON_MCP, MCP_FORMATS, MCP_TARGETS, PLAINTEXT_ONLY, TARGETS, VAR_RE, Spec

if TYPE_CHECKING:
    from vault.export.jsonc import Document


@dataclass
class Rendered:
    text: str
    replaced: list[str] = field(default_factory=list)
    """Secret values the change overwrote or dropped (masked in the preview)."""
    url: str | None = None
    """An MCP target's remote server URL as written; None for a stdio server and other targets."""
    launched: bool = False
    """An MCP entry that runs tokendeck was written (it names :attr:`Spec.launcher`)."""


def check_spec(spec: Spec) -> None:
    """Each target's required options, checked before anything is read.

    Raises:
        InvalidInput: a missing or malformed option.
    """
    if spec.target not in TARGETS:
        raise InvalidInput(f"unknown export target {echo(spec.target)}; one of: {', '.join(TARGETS)}")
    if spec.target in PLAINTEXT_ONLY and not spec.plaintext:
        hint = "or use tokendeck exec -e VAR=NAME -- CMD instead" if spec.target == "dotenv" else ""
        raise InvalidInput(f"{spec.target} can only hold the token itself: pass --plaintext {hint}".rstrip())
    if spec.target in ("dotenv", "shell") and not spec.var:
        raise InvalidInput(f"{spec.target} needs --var VAR (the environment variable to set)")
    if spec.var is not None and not VAR_RE.fullmatch(spec.var):
        raise InvalidInput(
            f"--var {echo(spec.var)} is not a valid environment variable name (letters, digits, _; not a digit first)"
        )
    if spec.bridge:
        if spec.target not in MCP_TARGETS:
            raise InvalidInput(f"--bridge writes an MCP server entry; {spec.target} holds none")
        given = [flag for flag, value in (("--var", spec.var), ("--url", spec.url), ("--header", spec.header),
                 ("--command", spec.command), ("--plaintext", spec.plaintext)) if value]  # fmt: skip
        if given:
            raise InvalidInput(f"--bridge runs tokendeck mcp-bridge, which needs no {' or '.join(given)}")
    if spec.target in MCP_TARGETS:
        _check_mcp(spec)
    elif spec.url is not None or spec.header is not None:
        raise InvalidInput(f"{spec.target} takes no --url or --header (those are for remote MCP servers)")
    if spec.target == "netrc":
        if not spec.host:
            raise InvalidInput("netrc needs --host HOST (the machine entry)")
        _netrc_word("--host", spec.host)
        if spec.login is not None:
            _netrc_word("--login", spec.login)


def _check_mcp(spec: Spec) -> None:
    """--server always; --url and --header well-formed; whether --var is needed is known once the
    server's kind is (:func:`vault.export.mcp.merge_server`), unless --url already says."""
    fmt = MCP_FORMATS[spec.target]
    if not spec.server:
        raise InvalidInput(f"{spec.target} needs --server SERVER (the {fmt.top} entry)")
    if any(not ch.isprintable() for ch in spec.server):
        raise InvalidInput("--server must not contain line breaks or control characters")
    if spec.header is not None:
        check_header(spec.header)
    if spec.url is None:
        return
    if spec.command:
        raise InvalidInput("--url (a remote server) and --command (a stdio server) exclude each other")
    if not fmt.url_keys:
        raise InvalidInput(
            f"{spec.target}'s config has no remote (URL) MCP servers; use a stdio server with --command, "
            "or another target"
        )
    check_url(spec.url)
    if needs_var(spec, remote=True) and not spec.var:
        raise InvalidInput(f"{spec.target} needs --var VAR (the variable the header refers to)")


# -------------------------------------------------------------------- dotenv

_DOTENV_KEY = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)\s*=(?P<value>.*)$", re.DOTALL)


def dotenv_quote(var: str, token: str) -> str:
    """``'token'``: what bash ``source`` / ``set -a``, docker compose, python-dotenv and Node's
    dotenv (``node --env-file``) all read back as exactly ``token``.

    Raises:
        InvalidInput: a token those readers would not read back alike: a line break, a
            ``'`` or ``\\`` (no escape means the same to all of them), or ``${`` (python-dotenv
            expands it even between single quotes).
    """
    if "\n" in token or "\r" in token:
        raise InvalidInput(f"{var}: the token contains a line break; a .env line cannot hold it")
    for bad, why in (("'", "a single quote"), ("\\", "a backslash"), ("${", "'${', which python-dotenv expands")):
        if bad in token:
            raise InvalidInput(
                f"{var}: the token contains {why}, which .env readers (bash, docker compose, python-dotenv, "
                "Node) do not read back alike; not written (use tokendeck exec instead)"
            )
    return "'" + token + "'"


def _dotenv_raw_value(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].strip()


def render_dotenv(spec: Spec, old: str | None, token: str) -> Rendered:
    var = str(spec.var)
    line = f"{var}={dotenv_quote(var, token)}"
    out: list[str] = []
    replaced: list[str] = []
    done = False
    for raw in (old or "").splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        m = _DOTENV_KEY.match(body)
        if m is None or m.group("key") != var:
            out.append(raw)
            continue
        value = m.group("value").strip()
        if value[:1] in ("'", '"') and (len(value) < 2 or value[-1] != value[0]):
            raise InvalidInput(f"{var}'s current value spans several lines; edit it by hand first")
        replaced.append(_dotenv_raw_value(value))
        if not done:  # the first keeps its place; later duplicates would override it, so they go
            out.append(line + raw[len(body) :])
            done = True
    if not done:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(line + "\n")
    return Rendered("".join(out), [r for r in replaced if r])


# --------------------------------------------------------------------- shell


def render_shell(spec: Spec, token: str | None) -> str:
    var = str(spec.var)
    if spec.plaintext:
        assert token is not None  # noqa: S101 - the caller fetched it
        return f"export {var}={shlex.quote(token)}\n"
    return f'export {var}="$(tokendeck token {shlex.quote(spec.name)})"\n'


# --------------------------------------------------------------------- netrc


def _netrc_word(label: str, value: str) -> None:
    bad = any(ch.isspace() or not ch.isprintable() or ch in '"\\' for ch in value)
    if not value or bad or value[0] == "#":
        raise InvalidInput(f"{label}: a .netrc word cannot be empty or hold whitespace, quotes, \\ or a leading #")


def _netrc_tokens(text: str) -> list[tuple[str, int, int]]:
    """Tokens with their offsets; comments skipped, each macdef body one token."""
    tokens: list[tuple[str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        if text[i] == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text[i] == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i = min(i + 1, n)
        else:
            while i < n and not text[i].isspace():
                i += 1
        tokens.append((text[start:i], start, i))
        if len(tokens) >= 2 and tokens[-2][0] == "macdef":  # the name: the body runs to a blank line
            end = text.find("\n\n", i)
            body_end = n if end < 0 else end + 1
            tokens.append(("<macro>", i, body_end))
            i = body_end
    return tokens


def render_netrc(spec: Spec, old: str | None, token: str) -> Rendered:
    _netrc_word("the token", token)
    host = str(spec.host)
    text = old or ""
    tokens = _netrc_tokens(text)
    heads = [k for k, (t, _, _) in enumerate(tokens) if t in ("machine", "default", "macdef")]
    for idx, k in enumerate(heads):
        if tokens[k][0] != "machine" or k + 1 >= len(tokens) or tokens[k + 1][0] != host:
            continue
        stop = heads[idx + 1] if idx + 1 < len(heads) else len(tokens)
        body = tokens[k + 2 : stop]
        pairs = [(body[j][0], body[j + 1][0]) for j in range(0, len(body) - 1, 2)]
        login = spec.login or next((v for key, v in pairs if key == "login"), None)
        if login is None:
            raise InvalidInput(f"the machine {host} entry has no login: pass --login LOGIN")
        replaced = [v for key, v in pairs if key == "password"]
        rest = [f"{key} {v}" for key, v in pairs if key not in ("login", "password")]
        entry = " ".join([f"machine {host} login {login} password {token}", *rest])
        end = tokens[stop - 1][2]
        return Rendered(text[: tokens[k][1]] + entry + text[end:], replaced)
    if spec.login is None:
        raise InvalidInput(f"no machine {host} entry yet: pass --login LOGIN")
    entry = f"machine {host} login {spec.login} password {token}\n"
    default = next((tokens[k][1] for k in heads if tokens[k][0] == "default"), None)
    if default is not None:  # default must stay last
        return Rendered(text[:default] + entry + text[default:])
    if text and not text.endswith("\n"):
        text += "\n"
    return Rendered(text + entry)


# ------------------------------------------------------------ MCP servers


def _load_json_object(old: str | None, what: str) -> tuple[dict[str, Any], Document | None]:
    """The file's JSON object, and its JSONC document when it is not plain JSON (comments,
    trailing commas: :mod:`vault.export.jsonc`), refusing what could not be written back as
    it was: a key given twice (which one counts is up to each reader), a number too big for
    a float (it would come back as ``Infinity``, which is not JSON), ``NaN``/``Infinity``
    themselves, and nesting too deep to read."""
    if old is None or not old.strip():
        return {}, None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise InvalidInput(f"{what} has the key {key[:60]!r} twice in one object; fix that first; not changed")
            seen[key] = value
        return seen

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise InvalidInput(f"{what} has a number too large to keep ({text[:20]}…); not changed")
        return value

    def constant(name: str) -> float:
        raise InvalidInput(f"{what} has {name}, which is not JSON; not changed")

    doc = None
    try:
        data = load_json(old, object_pairs_hook=no_duplicates, parse_float=finite, parse_constant=constant)
    except Unparsable as exc:
        if not exc.reason.startswith("is not valid JSON"):
            raise InvalidInput(f"{what} {exc.reason}; not changed") from None
        from vault.export import jsonc  # deferred: only a file with comments needs the JSONC parser

        try:
            doc = jsonc.parse(old, pairs=no_duplicates, number=finite)
        except Unparsable as exc:
            raise InvalidInput(f"{what} {exc.reason}; not changed") from None
        data = copy.deepcopy(doc.data)
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} does not hold a JSON object; not changed")
    return data, doc


def render_json_mcp(spec: Spec, old: str | None, token: str | None, what: str, *, refresh: bool = False) -> Rendered:
    """Claude Code/Desktop, Cursor, Windsurf, Gemini CLI, VS Code, Zed: one JSON shape, different keys.

    Plain JSON is written as ``json.dumps(indent=2)``; a file with comments or trailing commas
    (JSONC) is edited where the change is, every comment and all other text kept."""
    fmt = JSON_MCP[spec.target]
    data, doc = _load_json_object(old, what)
    servers = data.setdefault(fmt.top, {})
    if not isinstance(servers, dict):
        raise InvalidInput(f"{what}: {fmt.top} is not a JSON object; not changed")
    merged = merge_server(spec, fmt, servers, token, f"{what}: {fmt.top}", dict, dict, refresh=refresh)
    if spec.target == "vscode" and merged.url is not None and not spec.plaintext:
        put_vscode_input(data, spec, what)  # the header's ${input:...} needs it
    if doc is None:
        return Rendered(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", merged.replaced, merged.url, merged.launched
        )
    from vault.export import jsonc

    jsonc.edit(doc, data)
    text = jsonc.dump(doc)
    if jsonc.parse(text).data != data:  # never write what would not read back as meant
        raise InvalidInput(f"{what}: the change could not be made keeping its comments; not changed")
    return Rendered(text, merged.replaced, merged.url, merged.launched)


def render_claude_code(spec: Spec, old: str | None, token: str | None, what: str) -> Rendered:
    return render_json_mcp(spec, old, token, what)


# --------------------------------------------------------------------- codex


def render_codex(spec: Spec, old: str | None, token: str | None, what: str, *, refresh: bool = False) -> Rendered:
    """``[mcp_servers.<name>]`` in Codex's config.toml, comments and formatting kept (tomlkit)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
    from tomlkit.items import Table

    text = old or ""
    try:
        load_toml(text)  # the format's own rules first (tomlkit is more lenient), and nesting bounded
        doc = tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, TOMLKitError) as exc:
        raise InvalidInput(f"{what} is not valid TOML ({exc}); not changed") from None
    except Unparsable as exc:
        raise InvalidInput(f"{what} {exc.reason}; not changed") from None
    if "mcp_servers" not in doc:
        doc["mcp_servers"] = tomlkit.table(is_super_table=True)
    servers = doc["mcp_servers"]
    if not isinstance(servers, MutableMapping):
        raise InvalidInput(f"{what}: mcp_servers is not a table; not changed")
    name = str(spec.server)
    existed = name in servers
    # The blank lines and comments ending the table we add to (or, for a new server, the last
    # one, when [mcp_servers.*] are all together) belong above the next table's header: put
    # them after our change, not above it.
    last = name if existed else ([*servers] or [""])[-1] if isinstance(servers, Table) else ""
    trailing = _detach_trailing_trivia(servers.get(last))
    where = f"{what}: mcp_servers"
    try:
        merged = merge_server(
            spec, MCP_FORMATS["codex"], servers, token, where, tomlkit.table, tomlkit.inline_table, refresh=refresh
        )
    finally:
        if trailing and isinstance(servers.get(name), Table):
            servers[name].value.body.extend(trailing)
    new = doc.as_string()
    if not existed and not trailing and not new.endswith(servers[name].as_string()):
        servers[name].add(tomlkit.nl())  # a blank line before the table that follows it
        new = doc.as_string()
    tomllib.loads(new)  # never write what Codex could not read
    return Rendered(new, merged.replaced, merged.url, merged.launched)


def _detach_trailing_trivia(table: object) -> list[Any]:
    """Take the blank lines and comments that end a tomlkit table off it (to be put back after
    the merge): they sit above the next table's header, and a key added to this table must go
    before them, not under them."""
    from tomlkit.items import Table

    if not isinstance(table, Table):
        return []
    body = table.value.body
    cut = len(body)
    while cut and body[cut - 1][0] is None:
        cut -= 1
    trailing = body[cut:]
    del body[cut:]
    return trailing


def render(spec: Spec, old: str | None, token: str | None, what: str, *, refresh: bool = False) -> Rendered:
    """The new text of the target's file.

    ``refresh``: a plaintext binding re-written after a refresh; only the secret may change
    (an MCP server the user removed is not re-created, a remote server's URL is left alone).
    """
    if spec.target == "dotenv":
        assert token is not None  # noqa: S101
        return render_dotenv(spec, old, token)
    if spec.target == "netrc":
        assert token is not None  # noqa: S101
        return render_netrc(spec, old, token)
    if spec.target in JSON_MCP:
        return render_json_mcp(spec, old, token, what, refresh=refresh)
    if spec.target == "codex":
        return render_codex(spec, old, token, what, refresh=refresh)
    raise InvalidInput(f"{spec.target} does not write a file")
