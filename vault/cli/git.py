"""``tokendeck git-credential``: git's credential helper, and which credential answers for which host.

Set it up once per host::

    tokendeck git-credential map github.com gh
    git config --global credential.https://github.com.helper '!tokendeck git-credential'

git then runs ``tokendeck git-credential get``; with an agent running, that is
answered by :mod:`vault.cli.fast`, otherwise by :func:`answer_locally` here.
``store`` and ``erase`` (git's reports of a success or a rejected password) change
nothing: the vault, not git, decides when a token is stale.  The protocol itself
is :mod:`vault.services.gitcred`.
"""

from __future__ import annotations

import argparse
import sys

from vault.cli import route, terminal
from vault.errors import InvalidInput
from vault.services.gitcred import MAX_REQUEST, GitRequest, format_answer, lookup, read_request, served_locally


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "git-credential",
        help="git credential helper: answers git for hosts you map to credentials",
        description="As git's helper: git config --global credential.https://HOST.helper '!tokendeck git-credential'. "
        "map/unmap/list choose which credential answers for which host.",
    )
    p.add_argument(
        "action",
        choices=("get", "store", "erase", "map", "unmap", "list"),
        metavar="ACTION",
        help="get, store, erase (git calls these); map HOST NAME, unmap HOST, list (which credential answers where)",
    )
    p.add_argument("host", nargs="?", help="map/unmap: the host, e.g. github.com")
    p.add_argument("name", nargs="?", help="map: the credential")
    p.add_argument("--username", help="map: the user name to send (default: the forge's convention)")
    p.set_defaults(handler=cmd_git_credential)


def answer_locally(request: GitRequest) -> int:
    """Answer ``get`` by opening the vault (no agent)."""
    with terminal.open_vault() as vault:
        found = lookup(vault, request.host)
    if found is not None:
        sys.stdout.write(format_answer(*found))
    return 0


def cmd_git_credential(args: argparse.Namespace) -> int:
    """``get`` (normally taken by the fast path), ``store``/``erase`` (ignored), and
    ``map``/``unmap``/``list`` to choose which credential answers for which host."""
    action = args.action
    if action == "get":  # only reached when argv had another shape (never from git)
        request = read_request(sys.stdin)
        return 0 if request is None else answer_locally(request)
    if action in ("store", "erase"):
        sys.stdin.read(MAX_REQUEST)  # git writes the request; reading it keeps git's pipe happy
        return 0
    if action == "list":
        return route.command("git-list")
    host = _check_host(args.host)
    if action == "map":
        if not args.name:
            raise InvalidInput("git-credential map HOST NAME: which credential answers for HOST?")
        if args.username is not None and not args.username.isprintable():
            raise InvalidInput("--username must be printable text")
        route.command("git-map-host", host=host, name=args.name, username=args.username or None)
        scheme = "http" if served_locally(host) and args.host.startswith("http://") else "https"
        terminal.notice(f"git's requests for {host} now get {args.name}'s token; tell git once with:")
        terminal.say(f"  git config --global credential.{scheme}://{host}.helper '!tokendeck git-credential'")
        return 0
    return route.command("git-unmap", host=host)


def _check_host(given: str | None) -> str:
    """The host of ``HOST``, ``https://HOST`` or ``http://HOST``.  Plain http to another machine
    is said: git is never answered there (its requests for it get no token), only over https."""
    host = (given or "").removeprefix("https://").removeprefix("http://").rstrip("/")
    from vault.core.masking import echo, secret_kind

    if not host or any(ch.isspace() or ch in "/@?#" or not ch.isprintable() for ch in host) or secret_kind(host):
        raise InvalidInput(f"{echo(given)} is not a host name (like github.com or git.example.com:8443)")
    host = host.lower()
    if (given or "").startswith("http://") and not served_locally(host):
        terminal.notice(
            f"warning: {host} over plain http gets no token: tokendeck answers git for it over https only "
            "(plain http only for this machine's own servers)"
        )
    return host
