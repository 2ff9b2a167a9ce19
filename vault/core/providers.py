"""The provider catalog: ``assets/providers.toml`` read into typed, checked entries.

Every provider difference the flows care about is a field here (revoke style,
JSON token bodies, nested tokens, comma-separated scopes, fixed redirect ports,
secrets required despite PKCE, rotation), so the flow code never asks which
provider it is talking to.  A :class:`~vault.core.model.ClientRegistration` makes an
entry concrete: :func:`resolve` fills its placeholders and applies its overrides.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from vault.core.masking import echo
from vault.core.model import ClientRegistration
from vault.core.resources import asset
from vault.errors import InvalidInput, NotFound, VaultError

RevokeStyle = Literal["rfc7009", "github", "gitlab", "linear", "slack", "notion", "dropbox", "none"]

LOOPBACK_HOST = "127.0.0.1"
"""Where the sign-in listener listens: the loopback IP literal, never ``localhost`` (RFC 8252 §8.3)."""
CALLBACK_PATH = "/callback"
"""The listener's path: part of every redirect URI, and so of what the user registers."""


def loopback_redirect_uri(port: int) -> str:
    """The redirect URI of a sign-in whose listener has ``port``."""
    return f"http://{LOOPBACK_HOST}:{port}{CALLBACK_PATH}"


@dataclass(frozen=True)
class RedirectToRegister:
    """The redirect URI to enter in the provider's app registration, and how it is matched.

    Attributes:
        uri: exactly what to register.
        port: the fixed port the sign-in listens on; None where the provider ignores the
            port of a loopback redirect, so each sign-in takes a free one.
        prefix: the provider accepts any redirect that extends ``uri`` (Bitbucket).
        unregistered: nothing is registered; the provider takes any loopback redirect from
            this kind of client (Google's Desktop apps).
    """

    uri: str
    port: int | None
    prefix: bool = False
    unregistered: bool = False

    def describe(self) -> str:
        """One line for the user: the URI, then the port rule."""
        if self.unregistered:
            return f"nothing to register (this kind of app takes any loopback redirect, such as {self.uri})"
        if self.port is not None:
            return f"{self.uri} (this exact port; --redirect-port changes it)"
        if self.prefix:
            return f"{self.uri} (a prefix: each sign-in's http://{LOOPBACK_HOST}:PORT{CALLBACK_PATH} extends it)"
        return f"{self.uri} (any port: the provider ignores a loopback redirect's port, not its path)"


@dataclass(frozen=True)
class Revocation:
    """How a provider revokes tokens.

    Attributes:
        style: the wire format (see the catalog's header).
        url: the endpoint, if any.
        client_auth: whether the client authenticates (Google's endpoint takes none).
        manual_url: where the user revokes by hand when there is no endpoint.
        grant_wide: revoking either token revokes the whole grant (Google), so one call is
            sent, and an ``invalid_token`` answer means the grant is already revoked.
        needs_secret: the call authenticates with the app's client secret (GitHub), so a
            registration without one cannot revoke by API.
    """

    style: RevokeStyle = "none"
    url: str | None = None
    client_auth: bool = True
    manual_url: str | None = None
    grant_wide: bool = False
    needs_secret: bool = False


@dataclass(frozen=True)
class Identity:
    """How to learn which account a token belongs to.

    Attributes:
        url: the identity endpoint (None: read it from the token response).
        method: GET, or POST (Linear's GraphQL, Dropbox).
        body: a JSON body for POST.
        account: a dotted path to the account in the answer; ``token:`` prefix
            reads the token response instead (Notion).
        account_fallback: the path read when the answer has no ``account`` (Bitbucket's
            ``account_id``, where a user has no ``nickname``).
        extras: more facts to keep, name -> dotted path (Linear's organization id).
        subject: a dotted path (the same prefixes as ``account``) to the account's stable id
            (OIDC ``sub``, GitHub's numeric ``id``), stored as the credential's
            :data:`vault.oauth.identity.SUBJECT_EXTRA`; an ID token's ``sub`` where this is None.
    """

    url: str | None = None
    method: Literal["GET", "POST"] = "GET"
    body: str | None = None
    account: str = "email"
    account_fallback: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)
    subject: str | None = None


@dataclass(frozen=True)
class Check:
    """How ``tokendeck verify`` asks the provider whether a token is still good: the cheapest
    documented call that needs a valid token.  Every field is optional: the call is the
    :class:`Identity` one (its URL, method, body and account path), else the ``userinfo_url``.

    Attributes:
        url: an endpoint of its own (Notion's ``/v1/users/me``), when the identity call is not one.
        method: GET or POST, with ``url``.
        body: a JSON body for POST, with ``url``.
        token_headers: send the provider's ``token_headers`` too (Notion's API version, set there once).
        account: the dotted path to the account in the answer, with ``url``.
        scopes_header: the response header that lists the token's scopes (GitHub's
            ``X-OAuth-Scopes``, sent for classic tokens only), comma-separated.
        ok_field: the answer's field that says whether the call worked, where errors come
            with HTTP 200 (Slack's ``ok``).
        error_field: where such an answer says why (Slack's ``error``).
        refused_errors: those reasons that mean the token is no good (revoked, invalid);
            any other is a failure to check.
        unable: why no check is possible for this provider (None: there is one).
    """

    url: str | None = None
    method: Literal["GET", "POST"] = "GET"
    body: str | None = None
    token_headers: bool = False
    account: str | None = None
    scopes_header: str | None = None
    ok_field: str | None = None
    error_field: str = "error"
    refused_errors: tuple[str, ...] = ()
    unable: str | None = None


@dataclass(frozen=True)
class Provider:
    """One catalog entry (see the field notes at the top of ``providers.toml``)."""

    key: str
    name: str
    kind: Literal["oauth", "static"]
    issuer: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    device_authorization_url: str | None = None
    userinfo_url: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    default_scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    scope_param: str = "scope"
    pkce: Literal["S256", "none"] = "S256"
    client_secret: Literal["required", "optional", "none"] = "optional"
    client_type: str | None = None
    secret_reason: str | None = None
    device_needs_secret: bool = True
    device_client_type: str | None = None
    device_client_name: str | None = None
    device_error_hints: Mapping[str, str] = field(default_factory=dict)
    token_auth: Literal["client_secret_post", "client_secret_basic", "none"] = "client_secret_basic"
    token_request_format: Literal["form", "json"] = "form"
    token_headers: Mapping[str, str] = field(default_factory=dict)
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    redirect_port: int = 0
    redirect_match: Literal["port-ignored", "prefix", "unregistered"] = "port-ignored"
    refresh_sends_redirect_uri: bool = False
    token_path: str | None = None
    rotates_refresh_token: bool = False
    dead_grant_errors: tuple[str, ...] = ()
    revoke: Revocation = Revocation()
    identity: Identity | None = None
    check: Check | None = None
    accessible_resources_url: str | None = None
    iss_parameter_supported: bool = False
    resource: str | None = None
    proxy_hosts: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    template: bool = False
    client_library: Literal["authlib", "google-auth-oauthlib"] = "authlib"
    register_url: str | None = None
    register_help: str | None = None
    device_help: str | None = None

    @property
    def has_device_flow(self) -> bool:
        return self.device_authorization_url is not None

    def device_refusal(self) -> str | None:
        """Why this registration cannot use the device flow (None: it can).  Google's device
        flow takes only a client of its own type, so a Desktop-app client is refused here,
        up front, rather than by the provider after the user typed the code."""
        if not self.has_device_flow:
            return f"{self.key} has no device sign-in; sign in with the browser instead"
        if self.device_client_type is not None and self.client_type != self.device_client_type:
            named = f" ('{self.device_client_name}')" if self.device_client_name else ""
            return (
                f"{self.key}'s device sign-in takes only an app registered as client type "
                f"{self.device_client_type!r}{named}, and this one is not: sign in with the browser instead, "
                f"or register such an app and add it with tokendeck provider add NAME "
                f"--client-type {self.device_client_type} "
                f"(tokendeck provider show {self.key} says more)"
            )
        return None

    @property
    def device_only(self) -> bool:
        """A registration of the device flow's own client type, which has no browser sign-in
        (Google's "TVs and Limited Input devices" clients take no loopback redirect)."""
        return self.device_client_type is not None and self.client_type == self.device_client_type

    @property
    def offers_device_flow(self) -> bool:
        """Whether a device sign-in is offered for this registration (see :meth:`device_refusal`)."""
        return self.device_refusal() is None

    def device_error_hint(self, description: str | None) -> str | None:
        """What to change when a device poll fails with one of the provider's coded errors
        (Microsoft's ``AADSTS7000218``: the app does not allow public client flows)."""
        for code, hint in self.device_error_hints.items():
            if description and code in description:
                return f"{hint} [{code}]"
        return None

    def redirect_to_register(self) -> RedirectToRegister:
        """What the user registers as the redirect URI, for this entry's port and matching rule."""
        if self.redirect_port:
            return RedirectToRegister(loopback_redirect_uri(self.redirect_port), self.redirect_port)
        if self.redirect_match == "prefix":
            return RedirectToRegister(f"http://{LOOPBACK_HOST}", None, prefix=True)
        if self.redirect_match == "unregistered":
            return RedirectToRegister(f"http://{LOOPBACK_HOST}:PORT{CALLBACK_PATH}", None, unregistered=True)
        return RedirectToRegister(f"http://{LOOPBACK_HOST}{CALLBACK_PATH}", None)

    @property
    def help(self) -> str | None:
        """How to register an app here (``register_help``), with ``{redirect_uri}`` filled in
        from :meth:`redirect_to_register`, so the help names the port this registration uses."""
        if self.register_help is None:
            return None
        return self.register_help.replace("{redirect_uri}", self.redirect_to_register().uri)

    def secret_missing(self) -> str:
        """The one line for a registration or sign-in without the secret this provider needs."""
        why = f" ({self.secret_reason})" if self.secret_reason else ""
        return f"{self.name} needs your app's client secret too{why}; nothing was stored."

    def needs_secret(self, *, device: bool = False) -> bool:
        """Whether signing in needs the app's client secret: where the provider requires one,
        except for a device sign-in at a provider whose device flow works without it (GitHub)."""
        return self.client_secret == "required" and (self.device_needs_secret or not device)

    def endpoints(self) -> dict[str, str]:
        """The endpoint URLs this entry names (after resolution, all concrete)."""
        names = ("authorize_url", "token_url", "device_authorization_url", "userinfo_url", "issuer")
        found = {n: getattr(self, n) for n in names if getattr(self, n)}
        if self.revoke.url:
            found["revoke_url"] = self.revoke.url
        if self.identity and self.identity.url:
            found["identity_url"] = self.identity.url
        if self.check and self.check.url:
            found["check_url"] = self.check.url
        if self.accessible_resources_url:
            found["accessible_resources_url"] = self.accessible_resources_url
        return found

    def dialect(self) -> dict[str, Any]:
        """How this provider speaks, beyond its endpoints: what ``provider show`` prints."""
        identity = self.identity
        return {
            "revoke": self.revoke.style,
            "revoke_authenticates": self.revoke.client_auth,
            "identity": f"{identity.method} {identity.account}" if identity and identity.url else "token response",
            "token_headers": dict(self.token_headers),
        }


_FIELDS = {f.name for f in dataclasses.fields(Provider)} - {"key"}
_TUPLES = {"default_scopes", "dead_grant_errors", "requires", "proxy_hosts", "variables"}


def _build(key: str, raw: Mapping[str, Any]) -> Provider:
    unknown = set(raw) - _FIELDS
    if unknown:
        raise VaultError(f"providers.toml: {key} has unknown fields {sorted(unknown)}")
    values: dict[str, Any] = {k: (tuple(v) if k in _TUPLES else v) for k, v in raw.items()}
    if "revoke" in values:
        values["revoke"] = Revocation(**values["revoke"])
    if "identity" in values:
        values["identity"] = Identity(**values["identity"])
    if "check" in values:
        check = dict(values["check"])
        check["refused_errors"] = tuple(check.get("refused_errors", ()))
        values["check"] = Check(**check)
    return Provider(key=key, **values)


@cache
def catalog() -> dict[str, Provider]:
    """The built-in providers, by key."""
    with asset("providers.toml").open("rb") as f:
        raw = tomllib.load(f)
    return {key: _build(key, entry) for key, entry in raw["providers"].items()}


def builtin(key: str) -> Provider:
    """A built-in provider.

    Raises:
        NotFound: no such entry (the message lists them).
    """
    try:
        return catalog()[key]
    except KeyError:
        raise NotFound(f"no built-in provider {echo(key)}; known: {', '.join(catalog())}") from None


# ----------------------------------------------------------------- resolving


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.1``, ``::1``); not a name that merely starts with ``127.``."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, what: str) -> str:
    """Accept an https URL, or http on a loopback host; refuse everything else.

    Raises:
        InvalidInput: ``javascript:``, ``file:``, plain http to a real host, no host, a user
            name or password in the URL, or whitespace and control characters in it.
    """
    if not url.isprintable() or any(ch.isspace() for ch in url):
        raise InvalidInput(
            f"{what} has spaces or control characters: {echo(url.encode('unicode_escape').decode(), limit=200)}"
        )
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(f"{what} must not carry a user name or password (user:password@host)")
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback_host(host):
        return url
    raise InvalidInput(f"{what} must be an https URL (http only on loopback): {echo(url, limit=200)}")


def _fill(template: str | None, params: Mapping[str, str], key: str) -> str | None:
    if template is None:
        return None
    try:
        return template.format_map(params)
    except KeyError as missing:
        raise InvalidInput(f"{key} needs --param {missing.args[0]}=VALUE") from None


def _in_dialect(base: Provider, overrides: dict[str, Any]) -> dict[str, Any]:
    """Endpoint overrides that keep the base's dialect: a revoke URL alone keeps the base's
    revoke style (RFC 7009 where the base has no endpoint of its own), and a userinfo URL
    moves the identity endpoint too where the base reads the account from userinfo."""
    revoke = overrides.get("revoke")
    if isinstance(revoke, Mapping) and "url" in revoke and "style" not in revoke:
        style = base.revoke.style if base.revoke.style != "none" else "rfc7009"
        overrides["revoke"] = {**revoke, "style": style}
    identity = base.identity
    if (
        "userinfo_url" in overrides
        and "identity" not in overrides
        and identity is not None
        and identity.url is not None
        and identity.url == base.userinfo_url
    ):
        overrides["identity"] = {"url": overrides["userinfo_url"]}
    return overrides


def resolve(registration: ClientRegistration) -> Provider:
    """The concrete provider for a registration: base entry, params filled, overrides applied.

    Every endpoint is checked to be https (or loopback http).  The answer is kept for the same
    registration facts (a background run of 500 refreshes resolves each provider once); the
    client secret is not among them, and the catalog does not change while a process runs.
    """
    overrides = json.dumps(registration.overrides, sort_keys=True, default=list)
    params = tuple(sorted(registration.params.items()))
    return _resolved(registration.provider, registration.base, registration.client_id, params, overrides)


@lru_cache(maxsize=64)
def _resolved(
    key: str, base_key: str, client_id: str, frozen_params: tuple[tuple[str, str], ...], overrides_json: str
) -> Provider:
    base = builtin(base_key)
    params = {**base.params, **dict(frozen_params), "client_id": client_id}
    overrides = _in_dialect(base, json.loads(overrides_json))
    for name, empty in (("revoke", Revocation()), ("identity", Identity()), ("check", Check())):
        if name in overrides and isinstance(overrides[name], Mapping):
            current = getattr(base, name) or empty
            overrides[name] = dataclasses.replace(current, **overrides[name])
    for name in _TUPLES & overrides.keys():
        overrides[name] = tuple(overrides[name])
    unknown = set(overrides) - _FIELDS
    if unknown:
        raise InvalidInput(f"unknown provider settings {sorted(unknown)}")
    merged = dataclasses.replace(base, key=key, **overrides)

    def fill(value: str | None) -> str | None:
        return _fill(value, params, key)

    revoke = dataclasses.replace(merged.revoke, url=fill(merged.revoke.url))
    identity = merged.identity
    if identity is not None and identity.url:
        identity = dataclasses.replace(identity, url=fill(identity.url))
    check = merged.check
    if check is not None and check.url:
        check = dataclasses.replace(check, url=fill(check.url))
    resolved = dataclasses.replace(
        merged,
        issuer=fill(merged.issuer),
        authorize_url=fill(merged.authorize_url),
        token_url=fill(merged.token_url),
        device_authorization_url=fill(merged.device_authorization_url),
        userinfo_url=fill(merged.userinfo_url),
        register_url=fill(merged.register_url),
        revoke=revoke,
        identity=identity,
        check=check,
        accessible_resources_url=fill(merged.accessible_resources_url),
        params={k: v for k, v in params.items() if k != "client_id"},
    )
    for name, url in resolved.endpoints().items():
        if name != "issuer":
            check_endpoint(url, name.replace("_", " "))
    return resolved
