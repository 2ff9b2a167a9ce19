"""Registering the user's own OAuth app with a provider: the rules ``tokendeck provider add``
and the TUI's registration form both follow.

Two steps, so a front end can ask for the client secret only once it knows the
provider wants one: :func:`prepare` checks everything and runs discovery (the
network) but writes nothing; :func:`store` checks the secret and writes.  Every
failure leaves the vault as it was.

The rules:

- a valid name; a base that is an OAuth provider (a built-in, or ``oidc`` for a
  server found by its issuer or given by its endpoints);
- a client ID of 1-500 printable characters (surrounding spaces dropped);
  placeholder values (``tenant``, ``base_url``) non-empty and printable;
- a new custom server needs its issuer URL, or its authorization and token endpoints;
  a registration is replaced only when the caller says so (or edits it);
- every endpoint https, or http on loopback;
- the secret: one the provider needs must be there (GitHub's device flow needs
  none), one given must be printable, and a provider that takes none (native
  apps at Microsoft, Dropbox) never stores one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vault.core.masking import check_new_name, echo
from vault.core.model import ClientRegistration, check_name
from vault.core.providers import Provider, builtin, catalog, check_endpoint, resolve
from vault.core.repository import Repository
from vault.core.secret import Secret
from vault.errors import InvalidInput, NotFound

MAX_CLIENT_ID = 500


@dataclass(frozen=True)
class RegistrationRequest:
    """What the user asked to register (no secret: that comes to :func:`store`).

    Attributes:
        name: the provider name ``tokendeck login`` will take.
        client_id: the app's public identifier, as given.
        base: the catalog entry it builds on; None: the name's own built-in, or
            ``oidc`` when an issuer or endpoints are given.
        params: values for the catalog's placeholders (``tenant``, ``base_url``).
        issuer: discover the endpoints from this issuer (OIDC, then RFC 8414).
        overrides: catalog fields given explicitly (endpoints, scopes, a fixed
            redirect port); they win over what discovery finds.
        existing: the registration being edited: its endpoints and secret are kept
            unless new ones are given.
        replace: a registration of this name may be replaced (``provider add``
            stores or replaces; the TUI's "new server" form must not).
    """

    name: str
    client_id: str
    base: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    issuer: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    existing: ClientRegistration | None = None
    replace: bool = False


@dataclass(frozen=True)
class Prepared:
    """A checked registration, not yet stored."""

    registration: ClientRegistration
    """Everything but the secret."""
    provider: Provider
    """The registration resolved: endpoints filled in and checked."""
    kept_secret: Secret | None = None
    """The edited registration's secret, kept when no new one is given."""

    def asks_for_secret(self, *, device: bool = False, offered: bool = False) -> bool:
        """Whether a front end should ask for the client secret: the provider needs one
        for this way of signing in, or the user offered one.

        Raises:
            InvalidInput: a secret was offered to a provider that takes none.
        """
        if offered and self.provider.client_secret == "none":
            raise InvalidInput(_takes_no_secret(self.provider))
        return offered or (self.provider.needs_secret(device=device) and self.kept_secret is None)


def check_request(request: RegistrationRequest) -> Provider:
    """Every rule that needs neither the vault nor the network; returns the base entry.

    A front end may call this first, to refuse bad input before unlocking anything;
    :func:`prepare` calls it too.

    Raises:
        InvalidInput: a bad name, client ID or parameter, a static-token base, or a
            new custom server without an issuer or endpoints.
        NotFound: no such built-in (and no issuer or endpoints to go by).
    """
    check_new_name(request.name, "provider")
    check_name(request.name, "provider")
    base = _base(request)
    if base.kind != "oauth":
        raise InvalidInput(f"{base.key} is a static-token provider; there is no app to register")
    client_id = request.client_id.strip()
    if not client_id or not client_id.isprintable() or len(client_id) > MAX_CLIENT_ID:
        raise InvalidInput(
            f"the client ID (your app's public identifier) must be 1-{MAX_CLIENT_ID} printable characters"
        )
    for key, value in request.params.items():
        if not value or not value.isprintable():
            raise InvalidInput(f"{key} must not be empty")
    for scope in request.overrides.get("default_scopes", ()):
        if not isinstance(scope, str) or not scope.isprintable() or not scope or " " in scope:
            raise InvalidInput("each scope must be printable, with no control characters; nothing was stored")
    client_type = request.overrides.get("client_type")
    if client_type is not None and client_type not in ("desktop", base.device_client_type):
        kinds = " or ".join(k for k in ("desktop", base.device_client_type) if k)
        given = str(client_type)[:40]
        raise InvalidInput(f"--client-type for {base.key} is {kinds}, not {echo(given)}; nothing was stored")
    if request.issuer:
        check_endpoint(request.issuer, "the issuer URL")  # before anything is asked of the network
    endpoints = {**(request.existing.overrides if request.existing else {}), **request.overrides}
    new_server = base.template and request.existing is None
    if new_server and not request.issuer and not {"authorize_url", "token_url"} <= endpoints.keys():
        raise InvalidInput("a custom provider needs its issuer URL, or its authorization and token endpoints")
    return base


def prepare(vault: Repository | None, request: RegistrationRequest) -> Prepared:
    """Check a registration and discover its endpoints; write nothing.  ``vault`` None: none
    is at hand (a front end preparing what the agent stores), so ``request`` must replace.

    Raises:
        InvalidInput: as :func:`check_request`, a name already registered (unless
            replacing or editing), or an endpoint that is not https (or loopback http).
        NotFound: as :func:`check_request`.
        ProviderError: discovery failed.
    """
    base = check_request(request)
    existing = request.existing
    if vault is None and not request.replace and existing is None:
        raise ValueError("without a vault, a registration can only replace")
    if (
        existing is None
        and not request.replace
        and vault is not None
        and any(r.provider == request.name for r in vault.clients())
    ):
        raise InvalidInput(
            f"a provider named {echo(request.name)} is already registered: change it, or choose another name"
        )
    overrides: dict[str, Any] = {**(existing.overrides if existing else {}), **request.overrides}
    if request.issuer:
        from vault.oauth.discovery import discover  # the network: only when there is an issuer to ask

        overrides = {**discover(request.name, check_endpoint(request.issuer, "the issuer URL")), **request.overrides}
    registration = ClientRegistration(
        provider=request.name,
        base=base.key,
        client_id=request.client_id.strip(),
        params=dict(request.params),
        overrides=overrides,
    )
    provider = resolve(registration)  # checks every endpoint before anything is stored
    return Prepared(registration, provider, existing.client_secret if existing else None)


def store(vault: Repository, prepared: Prepared, secret: Secret | None, *, device: bool = False) -> ClientRegistration:
    """Store a prepared registration with ``secret`` (or the edited one's); returns what was stored.

    Raises:
        InvalidInput: as :func:`checked`.
    """
    registration = checked(prepared, secret, device=device)
    vault.set_client(registration)
    return registration


def checked(prepared: Prepared, secret: Secret | None, *, device: bool = False) -> ClientRegistration:
    """The registration to store: a prepared one with ``secret`` (or the edited one's), every
    rule about the secret applied; nothing is written (``login --mcp`` stores a new one only
    with the credential its sign-in made).

    Args:
        secret: the secret the user gave (None: none given).
        device: the user will sign in with a device code (GitHub needs no secret for it).

    Raises:
        InvalidInput: a secret the provider needs is missing, or one given is empty,
            has control characters, or goes to a provider that takes none.
    """
    provider = prepared.provider
    if secret is not None and not secret.reveal() and provider.needs_secret(device=device):
        raise InvalidInput(provider.secret_missing())  # asked for it, and nothing was typed
    if secret is not None:
        if not secret or not secret.reveal().isprintable():
            raise InvalidInput("the client secret is empty or has control characters; nothing was stored")
        if provider.client_secret == "none":
            raise InvalidInput(_takes_no_secret(provider))
    kept = secret or prepared.kept_secret
    if provider.client_secret == "none":
        kept = None  # a secret stored before this rule: dropped
    if kept is None and provider.needs_secret(device=device):
        raise InvalidInput(provider.secret_missing())
    r = prepared.registration
    return ClientRegistration(
        provider=r.provider,
        base=r.base,
        client_id=r.client_id,
        client_secret=kept,
        params=r.params,
        overrides=r.overrides,
    )


def _base(request: RegistrationRequest) -> Provider:
    if request.base:
        return builtin(request.base)
    if request.name in catalog():
        return builtin(request.name)
    if request.issuer or "authorize_url" in request.overrides:
        return builtin("oidc")
    raise NotFound(f"{echo(request.name)} is not a built-in provider: give its base, its issuer, or its endpoints")


def _takes_no_secret(provider: Provider) -> str:
    return f"{provider.name} apps take no client secret; nothing was stored"


def registered(vault: Repository, provider: str) -> ClientRegistration:
    """The registration stored for ``provider``, to sign in with.

    Raises:
        NotFound: none is stored; the message says where to register an app and how to add it.
    """
    try:
        return vault.get_client(provider)
    except NotFound:
        entry = catalog().get(provider)
        if entry is None or entry.kind != "oauth":
            raise
    where = entry.register_url if entry.register_url and "{" not in entry.register_url else None
    app = f"register an OAuth app at {where}" if where else f"register an OAuth app with your {provider} server"
    raise NotFound(
        f"no client registration for {provider}: {app}, then tokendeck provider add {provider} --client-id ID "
        f"(tokendeck provider show {provider} lists the redirect URI and scopes the app needs)"
    ) from None
