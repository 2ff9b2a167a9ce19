"""``tokendeck provider add|list|show|rm``: the OAuth apps you registered with each provider."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from vault.cli import route, terminal
from vault.errors import InvalidInput

if TYPE_CHECKING:
    from vault.core.model import ClientRegistration

ENDPOINT_FLAGS = {
    "authorize_url": "authorize_url",
    "token_url": "token_url",
    "revoke_url": "revoke",
    "device_url": "device_authorization_url",
    "userinfo_url": "userinfo_url",
    "identity_url": "identity",
    "resources_url": "accessible_resources_url",
}
"""``provider add`` flags (as argparse names them) -> the catalog field each one overrides: every
endpoint of the catalog.  Each keeps the base's dialect (its revoke format, how it reads the
account): only the URL changes (:func:`vault.core.providers.resolve`)."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("provider", help="the OAuth apps you registered with each provider")
    psub = p.add_subparsers(dest="provider_command", metavar="ACTION", required=True)
    pl = psub.add_parser("list", help="built-in providers and your registrations")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(handler=cmd_provider_list)
    ps = psub.add_parser("show", help="endpoints, rules and how to register an app")
    ps.add_argument("name", help="a built-in provider or a registered one")
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(handler=cmd_provider_show)
    pr = psub.add_parser("rm", help="forget a registration (credentials stay)")
    pr.add_argument("name", help="the registered provider")
    pr.set_defaults(handler=cmd_provider_rm)
    pa = psub.add_parser(
        "add",
        help="store your OAuth app's client id (and secret, read from stdin or a prompt)",
        description="Register your own OAuth app. The client secret is never taken from argv: it is read "
        "from stdin or a hidden prompt when the provider requires one, or with --with-secret.",
    )
    pa.add_argument("name", help="a built-in provider (google, github, ...) or a name of your own")
    pa.add_argument("--client-id", help="the app's client id")
    pa.add_argument("--with-secret", action="store_true", help="also read a client secret (stdin or prompt)")
    pa.add_argument("--base", help="the built-in it builds on (e.g. gitlab for a self-managed GitLab)")
    pa.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="e.g. tenant=..., base_url=...")
    pa.add_argument("--scopes", help="scopes to request instead of the defaults (space or comma separated)")
    pa.add_argument("--redirect-port", type=int, help="a fixed loopback port, if the app registration needs one")
    pa.add_argument(
        "--client-type",
        metavar="TYPE",
        help="the app's client type where the provider has more than one: limited-input for Google's "
        "'TVs and Limited Input devices' client, the only one its --device sign-in takes (default: desktop)",
    )
    pa.add_argument("--issuer", help="discover endpoints from this issuer (OIDC discovery, then RFC 8414)")
    for flag in ENDPOINT_FLAGS:
        option = "--" + flag.replace("_", "-")
        pa.add_argument(option, help=f"the {flag.replace('_', ' ')[:-4]} endpoint (https, or http on loopback)")
    pa.set_defaults(handler=cmd_provider_add)


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier() or not value:
            from vault.core.masking import echo

            raise InvalidInput(f"--param takes KEY=VALUE, not {echo(pair)}")
        params[key] = value
    return params


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from vault.core.providers import check_endpoint

    overrides: dict[str, Any] = {}
    for flag, field_name in ENDPOINT_FLAGS.items():
        url = getattr(args, flag)
        if url is None:
            continue
        check_endpoint(url, "--" + flag.replace("_", "-"))
        overrides[field_name] = {"url": url} if field_name in ("revoke", "identity") else url
    if args.scopes is not None:
        overrides["default_scopes"] = args.scopes.replace(",", " ").split()
    if args.redirect_port is not None:
        if not 1 <= args.redirect_port <= 65535:
            raise InvalidInput("--redirect-port must be between 1 and 65535")
        overrides["redirect_port"] = args.redirect_port
    if args.client_type is not None:
        overrides["client_type"] = args.client_type
    return overrides


def cmd_provider_add(args: argparse.Namespace) -> int:
    from vault.services.registration import RegistrationRequest, check_request, prepare

    request = RegistrationRequest(
        name=args.name,
        client_id=args.client_id or "",
        base=args.base,
        params=_params(args.param),
        issuer=args.issuer,
        overrides=_overrides(args),
        replace=True,  # provider add stores, or replaces, the registration of that name
    )
    check_request(request)  # before anything is unlocked
    prepared = prepare(None, request)  # endpoints discovered here; replacing, so no name to check in the vault
    secret = None
    if prepared.asks_for_secret(offered=args.with_secret):
        secret = terminal.read_secret(f"Client secret for {args.name}")
    registration = prepared.registration
    return route.command(
        "provider-add", name=registration.provider, base=registration.base, client_id=registration.client_id,
        params=dict(registration.params), overrides=dict(registration.overrides), secret=secret,
    )  # fmt: skip


def _registered() -> dict[str, ClientRegistration]:
    """The apps registered in the vault, by provider; none before there is a vault (the built-in
    catalog is static, so listing and showing providers needs no vault and no passphrase then)."""
    from vault.services.opening import present
    from vault.services.signin_store import registration_from

    if not present(notice=terminal.notice):
        return {}
    with route.Route() as via:
        listed = route.data_of(via.command("registrations"))
    found = [registration_from(fields) for fields in listed or []]
    return {r.provider: r for r in found if r is not None}


def cmd_provider_list(args: argparse.Namespace) -> int:
    from vault.core.providers import catalog
    from vault.services.listing import table

    registered = _registered()
    rows: list[dict[str, Any]] = []
    for key, p in catalog().items():
        rows.append({"name": key, "base": key, "kind": p.kind, "builtin": True, "registered": key in registered})
    for name, r in registered.items():
        if name not in catalog():
            rows.append({"name": name, "base": r.base, "kind": "oauth", "builtin": False, "registered": True})
    if args.json:
        terminal.print_json(rows)
        return 0
    shown = [["NAME", "BASE", "KIND", "REGISTERED"]]
    shown += [[r["name"], r["base"], r["kind"], "yes" if r["registered"] else "-"] for r in rows]
    sys.stdout.write(table(shown))
    return 0


def cmd_provider_show(args: argparse.Namespace) -> int:
    from vault.core.providers import builtin, resolve

    registration = _registered().get(args.name)
    provider = resolve(registration) if registration is not None else builtin(args.name)
    facts: dict[str, Any] = {
        "name": args.name,
        "title": provider.name,
        "kind": provider.kind,
        "endpoints": provider.endpoints(),
        "scopes": list(provider.default_scopes),
        "pkce": provider.pkce,
        "client_secret": provider.client_secret,
        "device_flow": provider.offers_device_flow,
        "redirect_uri": provider.redirect_to_register().describe(),
        "redirect_port": provider.redirect_port or "random",
        "revoke": provider.revoke.style,
        "dialect": provider.dialect(),
        "register_url": provider.register_url,
        "register_help": provider.help,
        "device_help": provider.device_help,
        "registration": registration.public() if registration else None,
    }
    if args.json:
        terminal.print_json(facts)
        return 0
    terminal.print_facts(facts)
    return 0


def cmd_provider_rm(args: argparse.Namespace) -> int:
    return route.command("provider-rm", name=args.name)
