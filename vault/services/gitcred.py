"""git's credential helper protocol, and which credential answers for which host.

Set it up once per host::

    tokendeck git-credential map github.com gh
    git config --global credential.https://github.com.helper '!tokendeck git-credential'

git then runs ``tokendeck git-credential get`` with ``key=value`` lines on stdin
(``protocol``, ``host``, maybe ``path``), and reads ``username=`` and ``password=``
back.  Only ``https`` requests for mapped hosts are answered; for anything else
the helper prints nothing and git asks its next helper.  ``store`` and ``erase``
(git's reports of a success or a rejected password) change nothing: the vault,
not git, decides when a token is stale.

The command (:mod:`vault.cli.git`) and the agent both answer ``get`` with
:func:`lookup` and :func:`format_answer`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
if TYPE_CHECKING:
    from typing import TextIO

    from vault.services.tokens import Vault

MAX_REQUEST = 64 * 1024
DEFAULT_USERNAMES = {"github": "x-access-token", "gitlab": "oauth2", "bitbucket": "x-token-auth"}
"""The user name each forge expects beside a token; other hosts get :data:`FALLBACK_USERNAME`."""
FALLBACK_USERNAME = "tokendeck"


class GitRequest:
    """The parts of git's request that choose a credential."""

    __slots__ = ("host", "path", "protocol")

    def __init__(self, protocol: str, host: str, path: str) -> None:
        self.protocol, self.host, self.path = protocol, host, path


def read_request(stream: TextIO) -> GitRequest | None:
    """git's ``key=value`` lines up to a blank line or the end; None without an https host."""
    fields: dict[str, str] = {}
    size = 0
    for line in stream:
        size += len(line)
        line = line.rstrip("\n")
        if not line or size > MAX_REQUEST:
            break
        key, eq, value = line.partition("=")
        if eq:
            fields[key] = value
    host = fields.get("host", "").lower()
    protocol = fields.get("protocol", "https")
    if not host or protocol not in ("https", "http") or (protocol == "http" and not served_locally(host)):
        return None  # never hand a token to plain http, but on this machine (a local test server)
    return GitRequest(protocol, host, fields.get("path", ""))


def served_locally(host: str) -> bool:
    """Whether git's ``host`` (a name, maybe with ``:port``) is this machine: plain http is
    safe to answer only there."""
    from vault.core.providers import is_loopback_host

    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return is_loopback_host(name.strip("[]"))


def format_answer(username: str, token: str) -> str:
    """The lines git reads back.

    Raises:
        InvalidInput: a value with a line break or NUL, which git's protocol cannot carry.
    """
    from vault.errors import InvalidInput

    if any(ch in value for value in (username, token) for ch in "\n\r\0"):
        raise InvalidInput("the token holds a line break or NUL, which git's credential protocol cannot carry")
    return f"username={username}\npassword={token}\n"


def mapping(vault: Vault, host: str) -> tuple[str, str | None] | None:
    """``(credential, username)`` that ``host`` maps to, or None for a host not mapped."""
    mapped = vault.records.links.git_hosts(host)
    if not mapped:
        return None
    _, name, username = mapped[0]
    return name, username


def lookup(vault: Vault, host: str) -> tuple[str, str] | None:
    """``(username, token)`` for a mapped host, the token fresh; None for a host not mapped."""
    found = mapping(vault, host)
    if found is None:
        return None
    name, username = found
    token = vault.token(name)
    if username is None:
        provider = vault.get(name).provider
        family = next((f for f in DEFAULT_USERNAMES if provider.startswith(f)), None)
        username = DEFAULT_USERNAMES[family] if family else FALLBACK_USERNAME
    return username, token
