"""Token responses, whatever shape each provider sends, made into one TokenSet.

Every check here exists because a real provider (or a broken proxy) does it:
GitHub answers form-encoded and reports errors with HTTP 200, Slack nests the
user token and says ``ok: false``, Linear sends scopes comma-separated or as an
array.  Anything unusable becomes a :class:`~vault.errors.ProviderError` naming
the provider and the problem, never quoting a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx2

from vault.core.model import token_fault
from vault.core.outside import TooDeep, Unparsable, load_json
from vault.core.providers import Provider
from vault.core.secret import Secret
from vault.errors import ProviderError

MAX_LIFETIME = 10 * 365 * 86400
"""An ``expires_in`` longer than ten years is nonsense, not a long-lived token."""

SECRET_FIELDS = frozenset({"access_token", "refresh_token", "id_token", "token", "bot_token", "incoming_webhook"})


@dataclass(frozen=True)
class TokenSet:
    """What a successful token response carries.

    Attributes:
        extras: the non-secret rest of the response (Slack's team, Notion's
            owner and workspace), kept for identity and display.
    """

    access_token: Secret
    token_type: str = "Bearer"
    refresh_token: Secret | None = None
    id_token: Secret | None = None
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    scopes: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)


def decode_body(response: httpx2.Response, provider: str) -> dict[str, Any]:
    """The response as a dict: JSON, or form-encoded (GitHub without ``Accept``)."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    body = response.content
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ProviderError(provider, "bad_response", "the token response is not text") from None
    try:
        data = load_json(body)
    except Unparsable as exc:
        shown = content_type or "no content type"
        if not body.strip():
            reason = f"the token endpoint sent an empty body (HTTP {response.status_code})"
        elif isinstance(exc, TooDeep):
            reason = f"the token response {exc.reason}"
        else:
            reason = f"the token endpoint did not answer JSON (HTTP {response.status_code}, {shown})"
        raise ProviderError(provider, "bad_response", reason) from None
    if not isinstance(data, dict):
        raise ProviderError(provider, "bad_response", f"the token response is a JSON {type(data).__name__}")
    return data


def raise_for_error(data: Mapping[str, Any], status: int, provider: str, secrets: Iterable[str] = ()) -> None:
    """Raise the provider's error, wherever it hides (``error`` at any status, Slack's ``ok: false``),
    with ``secrets`` (what the request sent) hidden in its words."""
    if data.get("ok") is False or "error" in data:
        code = str(data.get("error") or "error")
        description = data.get("error_description") or data.get("error_message")
        raise ProviderError(provider, code, None if description is None else str(description), secrets=secrets)
    if status >= 400:
        raise ProviderError(provider, f"http_{status}", "the token endpoint refused the request")


def _seconds(value: Any, name: str, provider: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):  # true is no lifetime
        raise ProviderError(provider, "bad_response", f"{name} is not a number")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ProviderError(provider, "bad_response", f"{name} is not a number") from None
    if not 0 <= seconds <= MAX_LIFETIME:  # 0: issued already expired (kept: it may come with a rotated refresh token)
        raise ProviderError(provider, "bad_response", f"{name} is out of range ({seconds:g} s)")
    return seconds


def _scopes(value: Any, separator: str, requested: Sequence[str], provider: str) -> tuple[str, ...]:
    if value is None:
        return tuple(requested)
    if isinstance(value, list):
        scopes = tuple(s for s in value if isinstance(s, str))
        if len(scopes) != len(value):
            raise ProviderError(provider, "bad_response", "the scope list holds something other than text")
    elif isinstance(value, str):
        pieces = value.split(separator) if separator != " " else value.split()
        scopes = tuple(p.strip() for p in pieces if p.strip())
    else:
        raise ProviderError(provider, "bad_response", "scope is neither text nor a list")
    if not all(s.isprintable() for s in scopes):
        raise ProviderError(provider, "bad_response", "a scope holds a line break or control character")
    return scopes


_TOKEN_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
"""An ``Authorization`` scheme name: an RFC 9110 token (``Bearer``, ``DPoP``, ``MAC``)."""


def _token(value: Any, name: str, provider: str, *, required: bool = False) -> Secret | None:
    """A token from the response as a Secret, if it is one an HTTP field can carry (visible
    ASCII, no space: :func:`~vault.core.model.token_fault`); never quoted in the error."""
    if value is None or value == "":
        if required:
            raise ProviderError(provider, "bad_response", f"the token response has no {name}")
        return None
    if not isinstance(value, str):
        raise ProviderError(provider, "bad_response", f"the {name} in the token response is not text")
    fault = token_fault(value.strip())
    if fault is not None:
        raise ProviderError(provider, "bad_response", f"the {name} in the token response is unusable: {fault}")
    return Secret(value.strip())


def token_set(data: Mapping[str, Any], provider: Provider, *, now: float, requested: Sequence[str] = ()) -> TokenSet:
    """Build a TokenSet from a decoded, error-free, flat response
    (see :func:`vault.oauth.client.read_token_response`).

    Raises:
        ProviderError: no usable ``access_token``; a token an HTTP field could not carry
            (a space, a line break, a control or non-ASCII character); an unusable lifetime
            (``true`` is not one), ``token_type`` or scope.
    """
    access = data.get("access_token")
    if isinstance(access, str) and not access.strip():
        access = None
    access_token = _token(access, "access_token", provider.key, required=True)
    assert access_token is not None  # noqa: S101 - required=True
    expires_in = _seconds(data.get("expires_in"), "expires_in", provider.key)
    refresh_in = _seconds(data.get("refresh_token_expires_in"), "refresh_token_expires_in", provider.key)
    token_type = data.get("token_type") or "Bearer"
    if not isinstance(token_type, str) or not _TOKEN_TYPE.fullmatch(token_type):
        raise ProviderError(provider.key, "bad_response", "token_type is not a scheme name (one word, no spaces)")
    extras = {k: v for k, v in data.items() if k not in SECRET_FIELDS}
    for key in ("expires_in", "refresh_token_expires_in", "scope", "token_type"):
        extras.pop(key, None)
    return TokenSet(
        access_token=access_token,
        token_type="Bearer" if token_type.lower() == "bearer" else token_type,
        refresh_token=_token(data.get("refresh_token"), "refresh_token", provider.key),
        id_token=_token(data.get("id_token"), "id_token", provider.key),
        expires_at=None if expires_in is None else now + expires_in,
        refresh_expires_at=None if refresh_in is None else now + refresh_in,
        scopes=_scopes(data.get("scope"), provider.scope_separator, requested, provider.key),
        extras=extras,
    )
