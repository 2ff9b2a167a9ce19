"""What the vault stores, as plain frozen dataclasses.

Secret fields are :class:`~vault.core.secret.Secret`, so printing a credential never
shows a token.  :meth:`Credential.public` is the one view used for ``show``,
``list --json`` and the TUI: it has every fact and no secret.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from vault.core.masking import echo
from vault.core.restored import RESTORED_EXTRA
from vault.core.secret import Secret
from vault.core.timefmt import check_when, iso
from vault.errors import InvalidInput, printable
from vault.settings import (
    AHEAD_FRACTION,
    MIN_REFRESH_SPACING,
    READ_FRACTION,
    REFRESH_AHEAD,
    REFRESH_SKEW,
)

Kind = Literal["oauth", "static"]
StoredStatus = Literal["active", "needs_login", "revoked", "error"]
Status = Literal[
    "active", "expiring", "refresh_due", "refresh_failing", "held_after_restore", "expired", "needs_login", "revoked",
    "error",
]  # fmt: skip
ATTENTION: dict[str, int] = {
    "needs_login": 0, "error": 0, "refresh_failing": 1, "held_after_restore": 1, "expired": 2, "revoked": 3,
    "expiring": 4, "refresh_due": 5, "active": 6,
}  # fmt: skip
"""How urgently each status asks for the user (lower first): a list ordered by status shows
what needs a sign-in, a failing refresh or an expired token before what looks after itself."""


def needs_attention(status: str) -> bool:
    """Whether nothing will get better without the user: a sign-in needed, a refresh failing,
    an expired token, an error.  The list shows these first."""
    return ATTENTION[status] <= ATTENTION["expired"]


Lifespan = Literal["token", "refresh token", "access token"]
"""What runs out when a credential stops giving a token: see :meth:`Credential.deadline`."""

STATUSES: tuple[Status, ...] = get_args(Status)
"""Every status :meth:`Credential.status_at` gives (read from the type); docs/tui.md says what each means."""

MCP_URL_EXTRA = "mcp_url"
"""The extra of a credential signed in to an MCP server (``tokendeck login --mcp``): the
server's canonical URL, which the bridge, ``export --bridge`` and the screens read."""
NO_CLIENT_ID_EXTRA = "no_client_id"
"""The extra (``True``) of an OAuth credential stored without the client id its tokens were
issued to: only :mod:`vault.compat` stores one, because the store it replaces did.  The vault
can hand out its access token until it expires, and can neither refresh nor revoke it."""


def mcp_sign_in_command(server: str, name: str) -> str:
    """The command that signs the credential ``name`` in to the MCP server at ``server`` again
    (:meth:`Credential.sign_in_command` for an MCP server's credential; the bridge, which knows
    the two but holds no record, names it too)."""
    import shlex

    return f"tokendeck login --mcp {shlex.quote(server)} --name {shlex.quote(name)}"


COUNTDOWN_STOPPED: frozenset[Status] = frozenset({"revoked", "needs_login"})
"""Statuses whose expiry no longer counts down: no token will come from this grant again."""

MAX_TOKEN_BYTES = 64 * 1024
"""The longest token accepted; real ones (even JWTs) are a few KiB."""

MAX_LABEL = 200
"""The longest account or user name accepted."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


def check_name(name: str, what: str = "name") -> str:
    """Validate a credential or provider name: 1-100 of ``A-Z a-z 0-9 . _ @ + -``.

    Raises:
        InvalidInput: spaces, control characters, a leading dash or dot, or too long.
    """
    if not _NAME.fullmatch(name):
        said = echo(name.encode("unicode_escape").decode("ascii"), limit=60)
        raise InvalidInput(
            f"invalid {what} {said}: use 1-100 letters, digits and . _ @ + -, starting with a letter or digit"
        )
    return name


def check_token(text: str) -> str:
    """Validate a token's text: non-empty, visible ASCII (:func:`token_fault`), at most 64 KiB.

    Raises:
        InvalidInput: with a reason that does not quote the token.
    """
    if text:
        check_token_size(text)
    fault = token_fault(text)
    if fault is not None:
        raise InvalidInput(fault)
    return text


def check_token_size(text: str) -> str:
    """Validate a token's length: at most 64 KiB.

    Raises:
        InvalidInput: saying how long it is, never quoting it.
    """
    size = len(text.encode("utf-8"))
    if size > MAX_TOKEN_BYTES:
        raise InvalidInput(f"the token is {size} bytes; the limit is {MAX_TOKEN_BYTES} bytes (wrong file piped in?)")
    return text


def token_fault(text: str) -> str | None:
    """What makes ``text`` no token at all, or None; never quotes it.  A token goes into an
    HTTP field (``Authorization: Bearer``, a form, a header an MCP client sends), so it is
    visible ASCII only (RFC 9110 field values, RFC 6750's b64token, RFC 6749's VSCHAR): not
    empty, no whitespace or control character (an escape sequence, a line break that would
    split the header), nothing outside ASCII.  The rule for tokens from a provider, pasted,
    or imported."""
    if not text:
        return "the token is empty"
    if text.isascii() and text.isprintable() and " " not in text:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        return "the token contains whitespace or control characters"
    return "the token has characters other than visible ASCII, which an HTTP header cannot carry"


def check_label(value: str | None, what: str) -> str | None:
    """An optional one-line label (an account, a user name): surrounding spaces dropped, None kept.

    Raises:
        InvalidInput: empty, over 200 characters, or not printable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_LABEL or not value.isprintable():
        raise InvalidInput(f"the {what} must be 1-{MAX_LABEL} printable characters")
    return value


def check_expiry(expires_at: float | None, now: float) -> float | None:
    """An expiry for a token being stored now: in the future, or none.

    Raises:
        InvalidInput: it is in the past.
    """
    if expires_at is not None and check_when(expires_at) <= now:
        raise InvalidInput("The expiry is in the past.")
    return expires_at


@dataclass(frozen=True)
class StatusPolicy:
    """When a credential counts as "expiring".

    Attributes:
        long_lived_warning: warn this long before a static token or a refresh
            token expires (seconds; 7 days).
        short_lived_warning: warn this long before an access token with no
            refresh token expires (seconds; 5 minutes).
    """

    long_lived_warning: float = 7 * 86400
    short_lived_warning: float = 300

    def warning(self, lifespan: Lifespan) -> float:
        """How long before ``lifespan`` runs out its credential counts as expiring."""
        return self.short_lived_warning if lifespan == "access token" else self.long_lived_warning


@dataclass(frozen=True)
class Credential:
    """One stored credential. Status is computed from these facts and a clock."""

    name: str
    provider: str
    kind: Kind
    access_token: Secret | None
    account: str | None = None
    refresh_token: Secret | None = None
    id_token: Secret | None = None
    token_type: str | None = None
    scopes: tuple[str, ...] = ()
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    stored_status: StoredStatus = "active"
    last_error: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    last_refreshed_at: float | None = None
    last_used_at: float | None = None
    refresh_failures: int = 0
    """Refreshes that failed in a row (a success, or a new sign-in, starts over)."""
    retry_at: float | None = None
    """No refresh before this time (:func:`~vault.core.clock.next_refresh_try`), while :attr:`refresh_failures`."""

    def deadline(self) -> tuple[float | None, Lifespan]:
        """When this credential stops giving a token without a new sign-in, and what runs out then.

        A static token's own expiry; a :attr:`renewable` credential's refresh token's (its
        access token is renewed on read); any other OAuth credential's access token's.
        """
        if self.renewable:
            return self.refresh_expires_at, "refresh token"
        if self.kind == "oauth":
            return self.expires_at, "access token"
        return self.expires_at, "token"

    def lifetime(self) -> float | None:
        """How long the access token was issued for: from its sign-in or last refresh to its expiry."""
        issued = self.last_refreshed_at or self.created_at
        if self.expires_at is None or not issued:
            return None
        return max(self.expires_at - issued, 0.0)

    def lifetime_left(self, now: float) -> float | None:
        """The share of the access token's lifetime still ahead at ``now``: 1.0 just issued,
        0.0 at (and after) its expiry; None when it has no expiry or no known start."""
        life = self.lifetime()
        if life is None or self.expires_at is None:
            return None
        if life <= 0:
            return 0.0
        return min(max((self.expires_at - now) / life, 0.0), 1.0)

    def refresh_margin(self, *, ahead: bool = False) -> float:
        """How long before its expiry the access token is renewed: a fixed margin for a token that
        lives an hour (60 s on read, 5 minutes ahead in the background), a fraction of its
        lifetime for a short-lived one (see :mod:`vault.settings`)."""
        cap, fraction = (REFRESH_AHEAD, AHEAD_FRACTION) if ahead else (REFRESH_SKEW, READ_FRACTION)
        life = self.lifetime()
        return cap if life is None else min(cap, life * fraction)

    @property
    def no_client_id(self) -> bool:
        """Whether it was stored without the client id its tokens were issued to (see
        :data:`NO_CLIENT_ID_EXTRA`)."""
        return self.kind == "oauth" and bool(self.extras.get(NO_CLIENT_ID_EXTRA))

    @property
    def held_after_restore(self) -> bool:
        """Whether a restore brought it back with a refresh token that may be spent since the
        backup (:mod:`vault.core.restored`): nothing refreshes it without the user's word."""
        return self.kind == "oauth" and RESTORED_EXTRA in self.extras

    @property
    def renewable(self) -> bool:
        """Whether the vault can renew the access token by itself: an OAuth credential with a
        refresh token, and the client id it was issued to."""
        return self.kind == "oauth" and self.refresh_token is not None and not self.no_client_id

    @property
    def refresh_erred(self) -> bool:
        """Whether it renews itself and its last refresh failed: the only credentials that
        :meth:`status_at` can call refresh_failing (a cheap test before that one)."""
        return self.renewable and bool(self.last_error)

    def due(self, now: float, within: float | None = None) -> bool:
        """Whether to refresh now: an active OAuth credential whose access token expires within
        ``within`` seconds (by default its read margin, :meth:`refresh_margin`), or a
        :attr:`renewable` one that holds no access token at all (only its refresh token)."""
        if self.kind != "oauth" or self.stored_status != "active":
            return False
        if self.access_token is None:
            return self.renewable
        if self.expires_at is None:
            return False
        return self.expires_at - (self.refresh_margin() if within is None else within) <= now

    def renew_at(self) -> float | None:
        """When the background refresher should renew this credential: its margin ahead of the
        access token's expiry, and never sooner than :data:`~vault.settings.MIN_REFRESH_SPACING`
        after its last refresh; one that holds only its refresh token, at once (within that
        spacing).  None: nothing to renew (not :attr:`renewable`, no expiry, or not active)."""
        if self.stored_status != "active" or not self.renewable or self.held_after_restore:
            return None
        if self.access_token is None:
            at = self.updated_at
        elif self.expires_at is None:
            return None
        else:
            at = self.expires_at - self.refresh_margin(ahead=True)
        if self.last_refreshed_at is not None:
            at = max(at, self.last_refreshed_at + MIN_REFRESH_SPACING)
        if self.retry_at is not None:
            at = max(at, self.retry_at)  # backing off after refreshes that failed
        return at

    def expiry_warning(self, now: float, policy: StatusPolicy = StatusPolicy()) -> tuple[float, Lifespan] | None:
        """What of this credential runs out within its warning (:meth:`deadline`, and
        :meth:`StatusPolicy.warning`: a week for a static or refresh token, five minutes for a
        lone access token), and when; None when nothing does, or it already has.  The one
        rule behind the "expiring" status and the background refresher's warnings."""
        deadline, lifespan = self.deadline()
        if deadline is None or not now < deadline <= now + policy.warning(lifespan):
            return None
        return deadline, lifespan

    def backing_off(self, now: float) -> bool:
        """Whether a refresh may not be tried yet: earlier ones failed and the backoff runs."""
        return self.retry_at is not None and now < self.retry_at

    def status_at(self, now: float, policy: StatusPolicy = StatusPolicy()) -> Status:
        """The user-facing status, the one every front end shows: can a working token be had
        without signing in again, and does the countdown beside it tell the truth?

        Stored states (revoked, needs_login, error) win.  Then it follows :meth:`deadline`:
        expired once that has passed, expiring a week ahead for a static or refresh token and
        five minutes ahead for a lone access token.  An OAuth credential that renews itself
        is refresh_failing while its last refresh failed (it is retried), and refresh_due
        when its access token has run out (the next read or the refresher renews it), so an
        "active" never stands beside a countdown that says "ago".
        """
        if self.stored_status != "active":
            return self.stored_status
        if self.held_after_restore:  # waits for the user's word: never refreshed by itself
            return "held_after_restore"
        if self.access_token is None:  # only a refresh token: renewed on the next read
            return "refresh_due" if self.renewable else "needs_login"
        deadline, lifespan = self.deadline()
        if deadline is not None and deadline <= now:
            return "expired"
        if lifespan == "refresh token":
            if self.refresh_erred:
                return "refresh_failing"
            if self.expires_at is not None and self.expires_at <= now:
                return "refresh_due"
        return "expiring" if self.expiry_warning(now, policy) is not None else "active"

    @functools.cached_property
    def access_token_fault(self) -> str | None:
        """Why the stored access token is no token to hand out (:func:`token_fault`: it is empty,
        or has whitespace or control characters), or None (also when there is none).  Only
        :mod:`vault.compat` stores such a token, because the store it replaces did."""
        return None if self.access_token is None else token_fault(self.access_token.reveal())

    def offers_sign_in_again(self, now: float) -> bool:
        """Whether a new sign-in is what this credential needs (its grant is dead, failing, or
        has run out): the TUI's "sign in again", which keeps its name and export bindings."""
        return self.kind == "oauth" and self.status_at(now) in (
            "needs_login", "refresh_failing", "held_after_restore", "expired", "revoked"
        )  # fmt: skip

    def sign_in_command(self) -> str:
        """The command that signs this very credential in again, keeping its name (and, for an
        MCP server's, its server): what every "sign in again" advice names, so none makes a
        second credential."""
        import shlex

        server = self.extras.get(MCP_URL_EXTRA)
        if isinstance(server, str) and server:
            return mcp_sign_in_command(server, self.name)
        return f"tokendeck login {shlex.quote(self.provider)} --name {shlex.quote(self.name)}"

    def public(self, now: float) -> dict[str, Any]:
        """Every fact about this credential except its secrets, JSON-ready."""
        facts = dict(self._public_facts)
        facts["status"] = self.status_at(now)  # the one fact that depends on the time
        return facts

    @functools.cached_property
    def _public_facts(self) -> dict[str, Any]:
        """:meth:`public` but for its status (a placeholder, in its place): worked out once, as
        the record never changes (the vault caches records until the database does).  What came
        from outside (an account, extras, a provider's error) is :func:`shown` escaped."""
        return shown_facts(
            {
                "name": self.name,
                "provider": self.provider,
                "kind": self.kind,
                "account": self.account,
                "status": None,
                "token_type": self.token_type,
                "scopes": list(self.scopes),
                "expires_at": iso(self.expires_at),
                "refresh_expires_at": iso(self.refresh_expires_at),
                "has_refresh_token": self.refresh_token is not None,
                "last_error": self.last_error,
                "extras": dict(self.extras),
                "created_at": iso(self.created_at),
                "updated_at": iso(self.updated_at),
                "last_refreshed_at": iso(self.last_refreshed_at),
                "last_used_at": iso(self.last_used_at),
                "refresh_failures": self.refresh_failures,
                "next_refresh_try": iso(self.retry_at),
            }
        )

    @functools.cached_property
    def renderings(self) -> dict[Any, str]:
        """A memo for renderings of this (immutable) record, keyed by all they depend on:
        the listing keeps each row's JSON here, per status."""
        return {}


@dataclass(frozen=True)
class ClientRegistration:
    """The user's own OAuth app at one provider: a catalog entry made concrete.

    Attributes:
        provider: the name ``tokendeck login`` takes (a built-in's, or the user's own).
        base: the catalog entry it builds on (``gitlab`` for a self-managed GitLab,
            ``oidc`` for a server found by discovery).
        client_id: public identifier of the app.
        client_secret: the app's secret, where the provider insists on one.
        params: values for the catalog's placeholders (``tenant``, ``base_url``).
        overrides: catalog fields replaced for this registration: endpoints from
            discovery or flags, ``default_scopes``, ``redirect_port``.
    """

    provider: str
    base: str
    client_id: str
    client_secret: Secret | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0

    def public(self) -> dict[str, Any]:
        """Every fact except the secret (whose presence is shown)."""
        return {
            "provider": self.provider,
            "base": self.base,
            "client_id": self.client_id,
            "has_client_secret": self.client_secret is not None,
            "params": dict(self.params),
            "overrides": dict(self.overrides),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit log; ``detail`` never holds a secret."""

    at: float
    credential: str | None
    action: str
    outcome: str
    detail: str | None

    def public(self) -> dict[str, Any]:
        """The event, JSON-ready, its text :func:`shown` escaped."""
        return shown_facts(
            {
                "at": iso(self.at),
                "credential": self.credential,
                "action": self.action,
                "outcome": self.outcome,
                "detail": self.detail,
            }
        )


def shown(value: Any) -> Any:
    """``value`` with every string in it (keys too) :func:`~vault.errors.printable`: the one rule
    for what a front end shows of a record, applied to the public views (:meth:`Credential.public`,
    :meth:`AuditEvent.public`) and by the list's and the TUI's cells.  The records themselves keep
    what was stored, so a library caller gets its values back as it gave them."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    if isinstance(value, dict):
        return {shown(k): shown(v) for k, v in value.items()}
    return value


def shown_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """:func:`shown` for a mapping of facts."""
    return {printable(key): shown(value) for key, value in facts.items()}


def next_renewal(credentials: Iterable[Credential]) -> tuple[str, float] | None:
    """The credential the background refresher renews next, and when (:meth:`Credential.renew_at`),
    or None: what the refreshers' timers wait for and the TUI's status line names."""
    planned = [(at, c.name) for c in credentials if (at := c.renew_at()) is not None]
    if not planned:
        return None
    at, name = min(planned)
    return name, at
