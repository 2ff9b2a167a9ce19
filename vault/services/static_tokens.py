"""Storing a static token (a personal access token or an API key): the rules ``tokendeck add``
and the TUI's "add a token" form both follow.

:func:`check` needs neither the vault nor the token, so a front end can refuse bad
input before it unlocks anything or asks for the secret; :func:`add` checks the
token and writes.  The rules:

- a valid name and provider name; a provider that signs in with OAuth gets no
  pasted token (it is sent to sign in);
- what the provider's catalog entry ``requires`` is there (Jira Data Center: the
  server URL and the user name on it), and a server URL is https (or http on loopback);
- an account or user name is 1-200 printable characters; an expiry is in the future;
- the token is printable, has no whitespace, and is at most 64 KiB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vault.core.masking import check_new_name
from vault.core.model import Credential, check_expiry, check_label, check_name, check_token
from vault.core.providers import catalog, check_endpoint
from vault.core.repository import Repository
from vault.core.timefmt import parse_when
from vault.errors import InvalidInput

REQUIRED_WORDS = {"server_url": "the server URL", "username": "your username on it"}
"""How each field a catalog entry ``requires`` is named to the user."""


@dataclass(frozen=True)
class StaticToken:
    """A checked static token, everything but the token itself."""

    name: str
    provider: str
    account: str | None = None
    expires_at: float | None = None
    extras: Mapping[str, str] = field(default_factory=dict)
    """The server URL and user name, where given (what the catalog's ``requires`` names)."""
    unknown_provider: bool = False
    """The provider is not in the catalog: it is stored as a plain API key (front ends say so)."""

    def notice(self) -> str | None:
        """What to tell the user about this token beyond "stored", if anything."""
        if not self.unknown_provider:
            return None
        known = ", ".join(k for k, p in catalog().items() if p.kind == "static")
        return f"{self.provider} is not a provider tokendeck knows; it is kept as a plain API key (known: {known})"


def check(
    name: str,
    provider: str,
    *,
    now: float,
    account: str | None = None,
    expires: str | None = None,
    server_url: str | None = None,
    username: str | None = None,
    sign_in_hint: str | None = None,
    replacing: bool = False,
) -> StaticToken:
    """Check what a static token is stored with.

    Args:
        expires: as typed: an ISO 8601 date or time, or a duration from ``now`` (``90d``).
        sign_in_hint: how this front end signs in, for an OAuth provider's refusal
            (default: the ``tokendeck login`` command).
        replacing: it may replace a stored credential, whose account, expiry and extras
            :func:`add` keeps where none are given (so what the provider requires is
            checked there, once they are known).

    Raises:
        InvalidInput: with a message for the user that names the field at fault.
    """
    check_new_name(name)
    check_name(name)
    check_new_name(provider, "provider")  # a provider of one's own is a name too (the TUI's form)
    check_name(provider, "provider")
    entry = catalog().get(provider)
    if entry is not None and entry.kind == "oauth":
        raise InvalidInput(
            f"{provider} signs in with OAuth: {sign_in_hint or f'tokendeck login {provider}'}{_for_a_token(provider)}"
        )
    if not replacing:
        _require(provider, {"server_url": server_url, "username": username})
    extras: dict[str, str] = {}
    if server_url is not None:
        extras["server_url"] = check_endpoint(server_url.strip(), "the server URL")
    if username is not None and (label := check_label(username, "username")):
        extras["username"] = label
    return StaticToken(
        name=name,
        provider=provider,
        account=check_label(account, "account") or extras.get("username"),  # Jira DC: the user is the account
        expires_at=None if expires is None else check_expiry(parse_when(expires, now), now),
        extras=extras,
        unknown_provider=entry is None,
    )


def _require(provider: str, given: Mapping[str, str | None]) -> None:
    """What the provider's catalog entry ``requires`` is there.

    Raises:
        InvalidInput: naming what is missing.
    """
    entry = catalog().get(provider)
    missing = [key for key in (entry.requires if entry else ()) if not (given.get(key) or "").strip()]
    if missing:
        raise InvalidInput(f"{provider} needs {' and '.join(REQUIRED_WORDS.get(k, k) for k in missing)}.")


def add(vault: Repository, checked: StaticToken, token: str, *, replace: bool = False) -> Credential:
    """Store ``token`` as ``checked`` says.  Replacing a credential of the same provider keeps
    its account, expiry and extras where ``checked`` gives none (an expiry that has passed is
    not kept: the new token's is asked for).

    Raises:
        InvalidInput: a bad token (the message never quotes it), an expiry that has passed
            meanwhile, or what the provider requires missing from both.
        AlreadyExists: the name is taken and ``replace`` is false.
    """
    check_token(token)
    account, expires_at, extras = checked.account, checked.expires_at, dict(checked.extras)
    current = vault.get(checked.name) if replace and vault.exists(checked.name) else None
    if current is not None and current.provider == checked.provider:
        account = account if account is not None else current.account
        extras = {**{k: v for k, v in current.extras.items() if isinstance(v, str)}, **extras}
        if expires_at is None and current.expires_at is not None:
            if current.expires_at <= vault.clock.now():
                raise InvalidInput("The stored expiry has passed: give the new token's expiry (--expires).")
            expires_at = current.expires_at
    _require(checked.provider, extras)
    return vault.add_static(
        checked.name,
        provider=checked.provider,
        token=token,
        account=account,
        expires_at=expires_at,
        extras=extras,
        replace=replace,
    )


KEEP_EXPIRY = ""
"""What :func:`rotate` takes as ``expires`` to keep the stored expiry."""


def rotate(vault: Repository, name: str, token: str, *, expires: str = KEEP_EXPIRY) -> Credential:
    """Replace static credential ``name``'s token (a rotated PAT), keeping everything else:
    its name, provider, account and extras, its creation time, its export bindings (a
    plaintext one is re-written with the new token) and its audit trail.  A revoked or
    failing one is active again.

    Args:
        expires: the new token's expiry (``2027-03-01``, ``90d``), ``never``, or
            :data:`KEEP_EXPIRY` to keep the one stored.

    Raises:
        NotFound: no such credential.
        InvalidInput: it signs in with OAuth (its tokens come from the provider), a bad
            token (never quoted), or an expiry in the past.
    """
    from dataclasses import replace

    from vault.core.secret import Secret
    from vault.services.exports import reexport

    check_token(token)
    current = vault.get(name)
    if current.kind != "static":
        raise InvalidInput(f"{name} signs in with OAuth: its tokens come from {current.provider}; sign in again")
    now = vault.clock.now()
    text = expires.strip()
    if not text:
        expires_at = current.expires_at
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("The stored expiry has passed: give the new token's expiry (or never).")
    elif text.lower() == "never":
        expires_at = None
    else:
        expires_at = check_expiry(parse_when(text, now), now)
    renewed = replace(
        current,
        access_token=Secret(token),
        expires_at=expires_at,
        stored_status="active",
        last_error=None,
        updated_at=now,
    )
    vault.save(renewed, replace=True, action="rotate", detail=f"provider={current.provider} kind=static")
    reexport(vault, name, token)
    return renewed


def _for_a_token(provider: str) -> str:
    """Where a token of ``provider`` (an OAuth one) goes instead: its static sibling
    (``github`` → ``github-pat``), else the generic ``api-key``."""
    static = sorted(k for k, e in catalog().items() if e.kind == "static" and k.startswith(f"{provider}-"))
    return f"; a token you already have goes in as provider {static[0] if static else 'api-key'}"
