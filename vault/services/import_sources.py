"""Readers for where tokens live today: GitHub CLI's ``hosts.yml``, ``.env`` files and
``.netrc``.  Each yields :class:`~vault.services.imports.Incoming` records (and
:class:`~vault.services.imports.Skipped` notes, which never hold a value); none writes
anything.  The plaintext ``TokenStorage`` database has its own reader, the library's
(:mod:`vault.integrations.plaintext_import`).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from vault.core.outside import Unparsable, load_yaml, read_file
from vault.core.secret import Secret
from vault.errors import InvalidInput, VaultError
from vault.services.imports import Incoming, Skipped, name_for
from vault.settings import CONFIG_HOME_ENV, GH_CONFIG_DIR_ENV, NETRC_ENV

Found = Iterator[Incoming | Skipped]

GH_PROVIDER = "github-pat"
"""gh's tokens (``gho_``, from gh's own OAuth app, or a PAT) do not expire and cannot be
refreshed by tokendeck: they are static tokens."""
DOTENV_PROVIDER = "api-key"
NETRC_PROVIDER = "api-key"
_MAX_SOURCE = 1024 * 1024


def gh_hosts_file(env: Mapping[str, str]) -> Path:
    """Where gh keeps ``hosts.yml``: ``$GH_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/gh``, else ``~/.config/gh``."""
    if env.get(GH_CONFIG_DIR_ENV):
        return Path(env[GH_CONFIG_DIR_ENV]) / "hosts.yml"
    config = env.get(CONFIG_HOME_ENV) or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "gh" / "hosts.yml"


def read_gh(path: Path) -> Found:
    """Every host and user in gh's ``hosts.yml``; a token gh keeps in the OS keyring
    (service ``gh:HOST``) is read from there."""
    try:
        data = load_yaml(_read_text(path))
    except Unparsable as exc:
        raise InvalidInput(f"{path} is not YAML that gh wrote (it {exc.reason}); nothing was imported") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} does not list any gh hosts; nothing was imported")
    for host, entry in data.items():
        if not isinstance(entry, dict):
            yield Skipped(str(host), "no users")
            continue
        active = entry.get("user")
        listed = entry.get("users")
        users: dict[Any, Any] = listed if isinstance(listed, dict) else {}
        if not users and active:
            users = {active: {"oauth_token": entry.get("oauth_token")}}
        for user, fields in users.items():
            origin = f"{host} user {user}"
            token = (fields or {}).get("oauth_token") if isinstance(fields, dict) else None
            if not token and user == active:
                token = entry.get("oauth_token")
            in_file = bool(token)
            if not token:
                token = _gh_keyring_token(str(host), str(user))
            if not token:
                yield Skipped(origin, "no token in hosts.yml or in the OS keyring (try: gh auth status)")
                continue
            name = "github" if host == "github.com" else name_for(str(host))
            extras = {"host": str(host), "source": "gh"}
            name = f"{name}-{name_for(str(user))}"
            yield Incoming(name, GH_PROVIDER, Secret(str(token)), str(user), extras, origin, in_source=in_file)


def _gh_keyring_token(host: str, user: str) -> str | None:
    """gh's token for ``user`` at ``host`` in the OS keyring (go-keyring's entry), when there is one."""
    from vault.core.keys import keyring_usable

    if not keyring_usable()[0]:
        return None
    import keyring
    from keyring.errors import KeyringError

    for username in (user, ""):  # gh 2.40+ keys by user; older versions by host alone
        try:
            value = keyring.get_password(f"gh:{host}", username)
        except KeyringError:
            return None
        if value:
            return _go_keyring_value(value)
    return None


def _go_keyring_value(value: str) -> str:
    """go-keyring's stored form: plain, or ``go-keyring-base64:`` / ``go-keyring-encoded:`` (hex)."""
    for prefix, decode in (("go-keyring-base64:", base64.b64decode), ("go-keyring-encoded:", bytes.fromhex)):
        if value.startswith(prefix):
            try:
                return decode(value[len(prefix) :]).decode("utf-8")
            except ValueError:
                return ""
    return value


_DOTENV_LINE = re.compile(r"\s*(?:export\s+)?(?P<var>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(?P<value>.*)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def read_dotenv(path: Path, only: list[str] | None = None) -> Found:
    """Each ``VAR=value`` of a ``.env`` file as an ``api-key`` credential (``GITHUB_TOKEN`` ->
    ``github-token``): comments, blank lines and ``export`` are understood, values may be
    single-quoted (as they are), double-quoted (with ``\\n``-style escapes) or bare (up to a
    `` #`` comment).  ``only`` limits it to those variables, each of which must be there.

    Raises:
        InvalidInput: a variable of ``only`` is not in the file.
    """
    found: dict[str, tuple[str, int] | None] = {}
    lines = _read_text(path).splitlines()
    number = 0
    while number < len(lines):
        line, number = lines[number], number + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.fullmatch(line)
        raw, first = (match["value"], number) if match else ("", number)
        while match and raw.lstrip()[:1] in ("'", '"') and _dotenv_value(raw) is None and number < len(lines):
            raw, number = raw + "\n" + lines[number], number + 1  # a quoted value over several lines
        value = _dotenv_value(raw) if match else None
        var = match["var"] if match else f"line {first}"
        found[var] = (value, first) if value is not None else None
    if only:
        missing = [var for var in only if var not in found]
        if missing:
            raise InvalidInput(f"not in {path}: {', '.join(missing)}; nothing was imported")
    for var, parsed in found.items():
        if only and var not in only:
            continue
        if parsed is None:
            yield Skipped(var, "not a VAR=value line this reader understands (a multi-line value?)")
            continue
        value, number = parsed
        origin = f"{var} (line {number})"
        if not value:
            yield Skipped(origin, "empty")
            continue
        yield Incoming(name_for(var), DOTENV_PROVIDER, Secret(value), None, {"variable": var}, origin)


def _dotenv_value(raw: str) -> str | None:
    """The value after ``=``; None for one this reader cannot be sure of (an unclosed quote)."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        while quote == '"' and end > 0 and raw[end - 1] == "\\" and not raw[:end].endswith("\\\\"):
            end = raw.find(quote, end + 1)
        if end < 0:
            return None
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            return None
        body = raw[1:end]
        if quote == "'":
            return body
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), body)
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def netrc_file(env: Mapping[str, str]) -> Path:
    """``$NETRC``, as curl and git read it, else ``~/.netrc``."""
    return Path(env.get(NETRC_ENV) or os.path.join(os.path.expanduser("~"), ".netrc"))


def read_netrc(path: Path) -> Found:
    """One credential per ``machine`` (its login as the account, its password as the token);
    the ``default`` entry and ``macdef`` macros are reported, not imported."""
    import io
    import netrc

    text = _read_text(path)  # the same errors as the other readers; netrc(5) reads what was read
    try:
        parsed = netrc.netrc.__new__(netrc.netrc)
        parsed.hosts, parsed.macros = {}, {}
        # netrc.netrc(path) would open the file again, unbounded: parse the text read here
        parsed._parse(str(path), io.StringIO(text), False)  # type: ignore[attr-defined]  # noqa: SLF001
    except netrc.NetrcParseError as exc:
        raise InvalidInput(
            f"{path} is not a netrc file netrc(5) can read (line {exc.lineno}); nothing was imported"
        ) from None
    for machine, (login, _account, password) in parsed.hosts.items():
        if machine == "default":
            yield Skipped("default", "the default entry answers for every host; add it by hand if you mean to")
            continue
        origin = f"machine {machine}"
        if not password:
            yield Skipped(origin, "no password")
            continue
        extras: dict[str, Any] = {"machine": machine, "login": login or None}
        yield Incoming(name_for(machine), NETRC_PROVIDER, Secret(password), login or None, extras, origin)
    for macro in parsed.macros:
        yield Skipped(f"macdef {macro}", "a macro, not a credential")


def _read_text(path: Path) -> str:
    """The source's text: a regular file of at most 1 MiB (:func:`vault.core.outside.read_file`)."""
    try:
        data = read_file(path, _MAX_SOURCE)
    except VaultError as exc:
        raise type(exc)(f"{exc.message}; nothing was imported") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text; nothing was imported") from None
