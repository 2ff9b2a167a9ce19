"""``tokendeck git-credential``: git's credential helper protocol, answered from the vault.

Set it up once per host::

    tokendeck git-credential map github.com gh
    git config --global credential.https://github.com.helper '!tokendeck git-credential'

git then runs ``tokendeck git-credential get`` with ``key=value`` lines on stdin
(``protocol``, ``host``, maybe ``path``), and reads ``username=`` and ``password=``
back.  Only ``https`` requests for mapped hosts are answered; for anything else
the helper prints nothing and git asks its next helper.  ``store`` and ``erase``
(git's reports of a success or a rejected password) change nothing: the vault,
not git, decides when a token is stale.

With an agent running, ``get`` is answered through it (:mod:`vault.agent.fast`);
this module is the other half, and both use :func:`lookup`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
if TYPE_CHECKING:
    import argparse
    from typing import TextIO

    from vault.core.repository import Vault

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
    host = fields.get("host", "")
    if fields.get("protocol", "https") != "https" or not host:
        return None  # never hand a token to plain http
    return GitRequest("https", host.lower(), fields.get("path", ""))


def format_answer(username: str, token: str) -> str:
    """The lines git reads back.

    Raises:
        InvalidInput: a value with a line break or NUL, which git's protocol cannot carry.
    """
    from vault.errors import InvalidInput

    if any(ch in value for value in (username, token) for ch in "\n\r\0"):
        raise InvalidInput("the token holds a line break or NUL, which git's credential protocol cannot carry")
    return f"username={username}\npassword={token}\n"


def lookup(vault: Vault, host: str) -> tuple[str, str] | None:
    """``(username, token)`` for a mapped host, the token fresh; None for a host not mapped."""
    mapped = vault.git_hosts(host)
    if not mapped:
        return None
    _, name, username = mapped[0]
    token = vault.token(name)
    if username is None:
        provider = vault.get(name).provider
        family = next((f for f in DEFAULT_USERNAMES if provider.startswith(f)), None)
        username = DEFAULT_USERNAMES[family] if family else FALLBACK_USERNAME
    return username, token


def answer_locally(request: GitRequest) -> int:
    """Answer ``get`` by opening the vault (no agent)."""
    from vault.commands import _open

    with _open() as vault:
        found = lookup(vault, request.host)
    if found is not None:
        sys.stdout.write(format_answer(*found))
    return 0


def cmd_git_credential(args: argparse.Namespace) -> int:
    """``get`` (normally taken by the fast path), ``store``/``erase`` (ignored), and
    ``map``/``unmap``/``list`` to choose which credential answers for which host."""
    from vault.commands import _open, notice
    from vault.errors import InvalidInput, NotFound

    action = args.action
    if action == "get":  # only reached when argv had another shape (never from git)
        request = read_request(sys.stdin)
        return 0 if request is None else answer_locally(request)
    if action in ("store", "erase"):
        sys.stdin.read(MAX_REQUEST)  # git writes the request; reading it keeps git's pipe happy
        return 0
    if action == "list":
        with _open() as vault:
            for host, name, username in vault.git_hosts():
                print(f"{host}\t{name}\t{username or '(default)'}")
        return 0
    host = _check_host(args.host)
    with _open() as vault:
        if action == "map":
            if not args.name:
                raise InvalidInput("git-credential map HOST NAME: which credential answers for HOST?")
            if args.username is not None and not args.username.isprintable():
                raise InvalidInput("--username must be printable text")
            vault.map_git_host(host, args.name, args.username)
            notice(
                f"git's requests for {host} now get {args.name}'s token; tell git once with:\n"
                f"  git config --global credential.https://{host}.helper '!tokendeck git-credential'"
            )
        elif not vault.unmap_git_host(host):
            raise NotFound(f"{host} is not mapped (see tokendeck git-credential list)")
    return 0


def _check_host(host: str | None) -> str:
    from vault.errors import InvalidInput

    if not host or any(ch.isspace() or ch in "/@?#" or not ch.isprintable() for ch in host):
        raise InvalidInput(f"{host!r} is not a host name (like github.com or git.example.com:8443)")
    return host.lower()
