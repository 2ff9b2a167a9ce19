"""The sign-in screen's provider list: the user's registered apps first, then the
built-in OAuth providers, then the template for any other OpenID Connect server."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from rich.text import Text

from vault import Vault
from vault.core.model import ClientRegistration
from vault.core.providers import Provider, catalog, resolve
from vault.errors import VaultError


@dataclass(frozen=True)
class ProviderChoice:
    """One row of the provider list.

    Attributes:
        key: the name ``login`` takes: a registration's name, or a built-in's key.
        provider: the resolved provider (a registration) or the catalog entry (``None``
            when a stored registration no longer resolves).
        registration: the user's stored app, if any.
        problem: why a stored registration cannot be used.
    """

    key: str
    provider: Provider | None
    registration: ClientRegistration | None = None
    problem: str | None = None

    @property
    def option_id(self) -> str:
        return f"{'reg' if self.registration else 'new'}:{self.key}"

    @property
    def has_device_flow(self) -> bool:
        return self.provider is not None and self.provider.offers_device_flow

    def prompt(self) -> Text:
        """The row, as plain text with styles (provider names are never markup): the
        name ``login`` takes, whether it is registered, what it is, and whether it
        offers a device code."""
        if self.registration is None and self.provider is not None and self.provider.template:
            text = Text("Another OpenID Connect / OAuth 2.0 server", style="bold", no_wrap=True, overflow="ellipsis")
            text.append(" (by its issuer URL)", style="dim")
            return text
        text = Text(f"{self.key:<12} ", style="bold", no_wrap=True, overflow="ellipsis")
        if self.problem is not None:
            text.append("cannot be used: ", style="bold")
            text.append(self.problem)
            return text
        text.append(
            "registered     " if self.registration is not None else "needs your app ",
            style=("bold" if self.registration is not None else "dim italic"),
        )
        if self.provider is not None:
            text.append(self.what(), style="dim")
        if self.has_device_flow:
            text.append(" · device code", style="dim")
        return text

    def what(self) -> str:
        """What the row signs in to: the provider's name; for a registration of a generic
        server (any OpenID Connect server, a GitLab of one's own) its host, which is what
        tells two of them apart."""
        if self.provider is None:
            return ""
        base = catalog().get(self.registration.base) if self.registration is not None else None
        host = urlsplit(self.provider.authorize_url or self.provider.token_url or "").hostname
        if base is None or host is None:
            return self.provider.name
        if base.template:
            return host
        return f"{self.provider.name} · {host}" if base.params else self.provider.name


def provider_choices(vault: Vault) -> list[ProviderChoice]:
    """The user's registered providers (by name), then the built-in OAuth providers
    not registered yet, then the template for any other OpenID Connect server."""
    registered: list[ProviderChoice] = []
    for registration in vault.records.clients():
        try:
            registered.append(ProviderChoice(registration.provider, resolve(registration), registration))
        except VaultError as exc:
            registered.append(ProviderChoice(registration.provider, None, registration, exc.message))
    taken = {choice.key for choice in registered}
    builtins = [
        ProviderChoice(key, provider)
        for key, provider in catalog().items()
        if provider.kind == "oauth" and not provider.template and key not in taken
    ]
    templates = [ProviderChoice(k, p) for k, p in catalog().items() if p.kind == "oauth" and p.template]
    return registered + builtins + templates
