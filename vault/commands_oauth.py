"""``tokendeck provider``, ``login``, ``refresh`` and ``revoke``: the commands that talk to providers.

Kept apart from :mod:`vault.commands` so the everyday commands never import the
HTTP and OAuth stack.
"""

from __future__ import annotations

import argparse
import sys
import webbrowser
from typing import Any

from vault.commands import _interactive, _open, _print_json, _table, notice, read_secret
from vault.core.model import ClientRegistration, check_name
from vault.core.providers import Provider, builtin, catalog, check_endpoint, resolve
from vault.core.timefmt import parse_duration, relative
from vault.errors import InvalidInput, NotFound
from vault.oauth.flows import DEFAULT_TIMEOUT, DeviceCode

ENDPOINT_FLAGS = {
    "authorize_url": "authorize_url",
    "token_url": "token_url",
    "revoke_url": "revoke",
    "device_url": "device_authorization_url",
    "userinfo_url": "userinfo_url",
}


class TerminalSignIn:
    """The sign-in conversation on a terminal: everything on stderr, stdout stays clean."""

    def show_url(self, url: str) -> None:
        print(f"Sign in with your browser. If it does not open, visit:\n\n  {url}\n", file=sys.stderr)

    def open_browser(self, url: str) -> bool:
        opened = webbrowser.open(url)
        if not opened:
            notice("no browser could be started; open the URL above yourself")
        return opened

    def ask_redirect(self) -> str:
        prompt = "After approving, paste the full URL your browser was sent to: "
        if _interactive():
            return input(prompt)
        print(prompt, file=sys.stderr)
        return sys.stdin.readline(8192)

    def show_device_code(self, code: DeviceCode) -> None:
        lines = [f"Enter the code  {code.user_code}  at {code.verification_uri}"]
        if code.verification_uri_complete:
            lines.append(f"(or open {code.verification_uri_complete})")
        lines.append(f"The code expires {relative(code.expires_in, 0)}; waiting for approval...")
        print("\n".join(lines), file=sys.stderr)


def _timeout(text: str | None) -> float:
    if text is None:
        return DEFAULT_TIMEOUT
    return float(text) if text.isdigit() and int(text) > 0 else parse_duration(text)


def cmd_login(args: argparse.Namespace) -> int:
    from vault.services.signin import login

    timeout = _timeout(args.timeout)
    with _open() as vault:
        credential = login(
            vault,
            args.provider,
            TerminalSignIn(),
            name=args.name,
            device=args.device,
            no_browser=args.no_browser,
            timeout=timeout,
            notice=notice,
        )
    who = f" as {credential.account}" if credential.account else ""
    notice(f"signed in to {args.provider}{who}; stored as {credential.name}")
    return 0


# ------------------------------------------------------------------ provider


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier() or not value:
            raise InvalidInput(f"--param takes KEY=VALUE, not {pair!r}")
        params[key] = value
    return params


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for flag, field_name in ENDPOINT_FLAGS.items():
        url = getattr(args, flag)
        if url is None:
            continue
        check_endpoint(url, "--" + flag.replace("_", "-"))
        overrides[field_name] = {"style": "rfc7009", "url": url} if field_name == "revoke" else url
    if "userinfo_url" in overrides:
        overrides["identity"] = {"url": overrides["userinfo_url"], "account": "email"}
    if args.scopes is not None:
        overrides["default_scopes"] = args.scopes.replace(",", " ").split()
    if args.redirect_port is not None:
        if not 1 <= args.redirect_port <= 65535:
            raise InvalidInput("--redirect-port must be between 1 and 65535")
        overrides["redirect_port"] = args.redirect_port
    return overrides


def _base_for(args: argparse.Namespace) -> Provider:
    if args.base:
        return builtin(args.base)
    if args.name in catalog():
        return builtin(args.name)
    if args.issuer or args.authorize_url:
        return builtin("oidc")
    raise NotFound(f"{args.name!r} is not a built-in provider: pass --base, --issuer or the endpoint flags")


def cmd_provider_add(args: argparse.Namespace) -> int:
    check_name(args.name, "provider")
    base = _base_for(args)
    if base.kind != "oauth":
        raise InvalidInput(f"{base.key} is a static-token provider; there is no app to register")
    overrides = _overrides(args)
    if base.template and not args.issuer and not ("authorize_url" in overrides and "token_url" in overrides):
        raise InvalidInput("a custom provider needs --issuer URL, or --authorize-url and --token-url")
    if not args.client_id or not args.client_id.isprintable() or len(args.client_id) > 500:
        raise InvalidInput("--client-id is required (the app's public identifier)")
    with _open() as vault:
        if args.issuer:
            from vault.oauth.discovery import discover

            overrides = {**discover(args.name, args.issuer), **overrides}
        registration = ClientRegistration(
            provider=args.name, base=base.key, client_id=args.client_id, params=_params(args.param), overrides=overrides
        )
        provider = resolve(registration)  # checks every endpoint before anything is stored
        secret = None
        if provider.client_secret == "required" or args.with_secret:
            secret = read_secret(f"Client secret for {args.name}")
            if not secret or not secret.isprintable():
                raise InvalidInput("the client secret is empty or has control characters; nothing was stored")
        from vault.core.secret import Secret

        vault.set_client(
            ClientRegistration(
                provider=registration.provider,
                base=registration.base,
                client_id=registration.client_id,
                client_secret=Secret(secret) if secret else None,
                params=registration.params,
                overrides=registration.overrides,
            )
        )
    port = provider.redirect_port or "any port"
    notice(f"stored your {provider.name} app as {args.name} (redirect URI http://127.0.0.1:{port}/callback)")
    notice(f"sign in with: tokendeck login {args.name}")
    return 0


def cmd_provider_list(args: argparse.Namespace) -> int:
    with _open() as vault:
        registered = {r.provider: r for r in vault.clients()}
    rows: list[dict[str, Any]] = []
    for key, p in catalog().items():
        rows.append({"name": key, "base": key, "kind": p.kind, "builtin": True, "registered": key in registered})
    for name, r in registered.items():
        if name not in catalog():
            rows.append({"name": name, "base": r.base, "kind": "oauth", "builtin": False, "registered": True})
    if args.json:
        _print_json(rows)
        return 0
    table = [["NAME", "BASE", "KIND", "REGISTERED"]]
    table += [[r["name"], r["base"], r["kind"], "yes" if r["registered"] else "-"] for r in rows]
    sys.stdout.write(_table(table))
    return 0


def cmd_provider_show(args: argparse.Namespace) -> int:
    with _open() as vault:
        try:
            registration: ClientRegistration | None = vault.get_client(args.name)
        except NotFound:
            registration = None
    provider = resolve(registration) if registration is not None else builtin(args.name)
    facts: dict[str, Any] = {
        "name": args.name,
        "title": provider.name,
        "kind": provider.kind,
        "endpoints": provider.endpoints(),
        "scopes": list(provider.default_scopes),
        "pkce": provider.pkce,
        "client_secret": provider.client_secret,
        "device_flow": provider.has_device_flow,
        "redirect_port": provider.redirect_port or "random",
        "revoke": provider.revoke.style,
        "register_url": provider.register_url,
        "register_help": provider.register_help,
        "registration": registration.public() if registration else None,
    }
    if args.json:
        _print_json(facts)
        return 0
    for key, value in facts.items():
        if isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = " ".join(value) or "-"
        print(f"{key.replace('_', ' ')}: {'-' if value is None else value}")
    return 0


def cmd_provider_rm(args: argparse.Namespace) -> int:
    with _open() as vault:
        vault.remove_client(args.name)
    notice(f"removed the registration for {args.name} (credentials signed in with it are kept)")
    return 0


def cmd_provider(args: argparse.Namespace) -> int:
    handler = {"add": cmd_provider_add, "list": cmd_provider_list, "show": cmd_provider_show, "rm": cmd_provider_rm}
    return handler[args.provider_command](args)


# ------------------------------------------------------------ refresh / revoke


def cmd_refresh(args: argparse.Namespace) -> int:
    from vault.services.refresher import BackgroundRefresher
    from vault.services.tokens import refresh

    if bool(args.name) == bool(args.due):
        raise InvalidInput("name one credential, or pass --due")
    with _open() as vault:
        if args.name:
            credential = refresh(vault, args.name, force=True)
            left = relative(credential.expires_at, vault.clock.now()) if credential.expires_at else "no expiry"
            notice(f"refreshed {args.name} (expires {left})")
            return 0
        window = parse_duration(args.within) if args.within else 300.0
        events = [e for e in BackgroundRefresher(vault, window=window).run_once() if e.kind != "expiring"]
    for event in events:
        print(f"{event.credential}\t{event.kind}\t{event.detail}")
    counts = {kind: sum(e.kind == kind for e in events) for kind in ("refreshed", "needs_login", "failed")}
    notice(
        f"{counts['refreshed']} refreshed, {counts['needs_login']} need sign-in, {counts['failed']} failed"
        if events
        else "nothing is due"
    )
    if counts["failed"]:
        return 1
    return 4 if counts["needs_login"] else 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from vault.services.revoke import revoke

    with _open() as vault:
        credential = vault.get(args.name)
        provider_has_endpoint = _revocable(vault, credential)
        if not args.yes:
            if not _interactive():
                raise InvalidInput(f"not revoking {args.name} without confirmation: pass --yes")
            what = (
                f"Revoke {args.name} at {credential.provider} and erase it from the vault?"
                if provider_has_endpoint
                else f"{credential.provider} has no revocation endpoint. Erase {args.name}'s tokens from the vault?"
            )
            if input(f"{what} [y/N] ").strip().lower() not in ("y", "yes"):
                notice("nothing revoked")
                return 1
            args.local = args.local or not provider_has_endpoint
        result = revoke(vault, args.name, erase_without_provider=args.local)
    if result.revoked_at_provider:
        notice(f"revoked {args.name} at {credential.provider}; its tokens are erased from the vault")
        return 0
    where = f" at {result.manual_url}" if result.manual_url else " on the provider's site"
    if result.erased:
        notice(f"erased {args.name}'s tokens locally; {credential.provider} cannot revoke by API: do it{where}")
        return 0
    notice(f"{credential.provider} cannot revoke by API: revoke it{where}, and pass --local to erase it here")
    return 1


def _revocable(vault: Any, credential: Any) -> bool:
    from vault.services.revoke import provider_of

    provider, registration = provider_of(vault, credential)
    return provider is not None and registration is not None and provider.revoke.style != "none"
