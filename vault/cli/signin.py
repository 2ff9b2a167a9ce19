"""``tokendeck login``: sign in to a provider in the browser (or with a device code) and store the token.

The conversation goes to stderr (the URL, the device code, a paste prompt), so
stdout stays clean.  The flow itself is :func:`vault.services.signin.login`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from vault.cli import route, terminal
from vault.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from vault.core.model import ClientRegistration
    from vault.services.protocol import Report
    from vault.services.signin import DeviceCode, SignedIn


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "login",
        help="sign in to a provider (or, with --mcp URL, an MCP server) in your browser and store the token",
    )
    p.add_argument("provider", nargs="?", help="a registered provider (see tokendeck provider list)")
    p.add_argument(
        "--mcp",
        metavar="URL",
        help="sign in to the MCP server at URL: its authorization server is found from the URL (RFC 9728), "
        "and tokendeck registers itself there when it allows (RFC 7591)",
    )
    p.add_argument(
        "--client-id", help="with --mcp: a client registered at the server's authorization server (used first)"
    )
    p.add_argument(
        "--with-secret",
        action="store_true",
        help="with --client-id: the client is confidential; read its secret from stdin or a hidden prompt",
    )
    p.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="with --mcp: ask for this scope too, besides those the server names (repeatable)",
    )
    p.add_argument(
        "--client-metadata",
        metavar="URL",
        help="with --mcp: the https URL where you host tokendeck's client ID metadata document "
        "(what it holds: docs/mcp.md), used as the client id by servers that take one",
    )
    p.add_argument("--name", help="the credential's name (default: the provider, or PROVIDER-ACCOUNT)")
    p.add_argument(
        "--replace-account",
        action="store_true",
        help="replace the credential even when this sign-in is another account than the one it holds "
        "(without it, login refuses and stores nothing)",
    )
    p.add_argument("--device", action="store_true", help="use the device code flow (enter a code on any device)")
    p.add_argument("--no-browser", action="store_true", help="print the URL and paste back where the browser went")
    p.add_argument("--timeout", metavar="WHEN", help="how long to wait for the browser (seconds or 5m; default 5m)")
    p.set_defaults(handler=cmd_login)


class TerminalSignIn:
    """The sign-in conversation on a terminal: everything on stderr, stdout stays clean."""

    def show_url(self, url: str) -> None:
        print(f"Sign in with your browser. If it does not open, visit:\n\n  {url}\n", file=sys.stderr)

    def open_browser(self, url: str) -> bool:
        import webbrowser

        opened = webbrowser.open(url)
        if not opened:
            terminal.notice("no browser could be started; open the URL above yourself")
        return opened

    def ask_redirect(self) -> str:
        return terminal.read_line("After approving, paste the full URL your browser was sent to: ")

    def show_device_code(self, code: DeviceCode) -> None:
        from vault.core.timefmt import relative

        lines = [f"Enter the code  {code.user_code}  at {code.verification_uri}"]
        if code.verification_uri_complete:
            lines.append(f"(or open {code.verification_uri_complete})")
        lines.append(f"The code expires {relative(code.expires_in, 0)}; waiting for approval...")
        print("\n".join(lines), file=sys.stderr)


def _timeout(text: str | None) -> float:
    from vault.core.timefmt import parse_duration
    from vault.services.signin import DEFAULT_TIMEOUT

    if text is None:
        return DEFAULT_TIMEOUT
    return float(text) if text.isdigit() and int(text) > 0 else parse_duration(text)


def cmd_login(args: argparse.Namespace) -> int:
    if bool(args.provider) == bool(args.mcp):
        raise InvalidInput("name a provider, or give --mcp URL")
    if args.mcp and args.device:
        raise InvalidInput("--device does not go with --mcp: MCP sign-in is in the browser (or --no-browser)")
    if args.client_id and not args.mcp:
        raise InvalidInput("--client-id goes with --mcp (for a provider: tokendeck provider add NAME --client-id ID)")
    if args.client_metadata and not args.mcp:
        raise InvalidInput("--client-metadata goes with --mcp")
    if args.client_metadata and args.client_id:
        raise InvalidInput("give --client-id or --client-metadata, not both")
    if args.with_secret and not args.client_id:
        raise InvalidInput("--with-secret goes with --client-id (the client the secret belongs to)")
    if args.scope and not args.mcp:
        raise InvalidInput("--scope goes with --mcp (a provider's scopes are part of its registration)")
    scopes = [scope for given in args.scope or () for scope in given.split()]
    timeout, ui = _timeout(args.timeout), TerminalSignIn()
    with route.Route() as via:
        done = _login_mcp(args, via, ui, scopes, timeout) if args.mcp else _login_provider(args, via, ui, timeout)
    facts = route.data(done)
    where = (facts.get("mcp_url") or args.mcp) if args.mcp else args.provider
    who = f" as {facts['account']}" if facts.get("account") else ""
    stored = facts.get("name") or args.name
    terminal.notice(f"signed in to {where}{who}" + (f"; stored as {stored}" if stored else ""))
    return 0


def _login_provider(args: argparse.Namespace, via: route.Route, ui: TerminalSignIn, timeout: float) -> Report:
    """Sign in here with the stored registration (asked of the agent, or the vault opened
    here), then hand what must be stored to the same place."""
    from vault.core.masking import check_new_name
    from vault.core.model import check_name
    from vault.services.signin import sign_in
    from vault.services.signin_store import registration_from

    if args.name is not None:
        check_new_name(args.name)
        check_name(args.name)
    found = registration_from(route.data_of(via.command("sign-in-registration", provider=args.provider)))
    if found is None:  # not an answer the agent gives
        raise NotFound(f"no registration for {args.provider}")
    signed = sign_in(
        found, args.provider, ui, device=args.device, no_browser=args.no_browser, timeout=timeout,
        notice=terminal.notice,
    )  # fmt: skip
    return _store(via, found, signed, args.replace_account, name=args.name)


def _store(
    via: route.Route, registration: ClientRegistration, signed: SignedIn, replace_account: bool, **request: Any
) -> Report:
    """Ask for ``signed`` to be stored.  Over another account (and no ``--replace-account``)
    nothing is stored: the new tokens are revoked where the provider can, and the refusal
    says how to replace it."""
    from vault.errors import AccountChanged
    from vault.services.signin import discard_signed_in
    from vault.services.signin_store import signed_fields

    try:
        return via.command("sign-in-store", signed=signed_fields(signed), replace_account=replace_account, **request)
    except AccountChanged as change:
        left = discard_signed_in(registration, signed) if change.known else None
        if left is not None:
            terminal.notice(left)
        raise AccountChanged(
            f"{change.message}; --replace-account replaces it",
            name=change.name, stored=change.stored, signed=change.signed, known=change.known,
        ) from None  # fmt: skip


def _login_mcp(
    args: argparse.Namespace, via: route.Route, ui: TerminalSignIn, scopes: list[str], timeout: float
) -> Report:
    """``login --mcp``: discovery, registration and the sign-in here; the agent is asked only
    for a registration that worked before, and stores the result."""
    from vault.core.masking import check_new_name
    from vault.core.model import MCP_URL_EXTRA, check_name
    from vault.core.secret import Secret
    from vault.services.mcp_signin import mcp_registration
    from vault.services.signin import sign_in
    from vault.services.signin_store import registration_fields, registration_from

    if args.name is not None:
        check_new_name(args.name)
        check_name(args.name)
    secret = Secret(terminal.read_secret("Client secret")) if args.with_secret else None
    if secret is not None and not secret.reveal():
        raise InvalidInput("the client secret is empty; nothing was stored")

    def worked_before(provider: str, issuer: str, resource: str | None) -> ClientRegistration | None:
        asked = via.command("mcp-registration", provider=provider, issuer=issuer, resource=resource)
        return registration_from(route.data_of(asked))

    provider, registration, server = mcp_registration(
        args.mcp, worked_before=worked_before, client_id=args.client_id, client_secret=secret,
        client_metadata=args.client_metadata, scopes=scopes, notice=terminal.notice,
    )  # fmt: skip
    signed = sign_in(registration, provider, ui, no_browser=args.no_browser, timeout=timeout, notice=terminal.notice)
    return _store(
        via, registration, signed, args.replace_account, name=args.name or provider,
        extras={MCP_URL_EXTRA: server}, unsaved=registration_fields(registration),
    )  # fmt: skip
