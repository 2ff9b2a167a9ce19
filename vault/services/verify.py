"""``tokendeck verify``: ask each provider whether a credential's token still works.

Status in the vault is local: a token revoked on the provider's site an hour ago still
says ``active``.  A check sends the token to the cheapest documented call that needs a
valid one (the catalog's :class:`~vault.core.providers.Check`: by default the identity
call, else the userinfo endpoint) and reads the answer:

* accepted (2xx): ``ok``, with the account and, where the provider lists them, the scopes;
* refused (401, or a refusal the provider sends with HTTP 200, as Slack's
  ``invalid_auth``): the credential is marked ``revoked`` with ``revoked at the provider``
  as its last error, tokens kept (a later ``verify`` that is accepted marks it active again);
* anything else (a network failure, a timeout, 5xx, 429, a 403 that is a rate limit or
  a missing scope rather than a bad token): ``could not check``, status unchanged.

Nothing is sent for a credential that cannot be checked (no call is known for its
provider, an MCP server's token) or need not be (its access token has expired: with
``refresh``, a renewable one is refreshed first and then checked).  Each check sent is in
the audit log (never the token).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from vault.core.locks import credential_lock
from vault.core.model import MCP_URL_EXTRA, Credential
from vault.core.providers import Check, Provider, builtin, check_endpoint, resolve
from vault.errors import InvalidInput, NeedsSignIn, NotFound, ProviderError, VaultError, printable, redact
from vault.services.protocol import Report
from vault.services.tokens import Vault
from vault.settings import REFRESH_SKEW, VERIFY_START_BY

Outcome = Literal["ok", "refused", "could_not_check", "cannot_check", "not_checked"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "refused", "could_not_check", "cannot_check", "not_checked")
WORDS: dict[Outcome, str] = {
    "ok": "ok",
    "refused": "revoked at provider",
    "could_not_check": "could not check",
    "cannot_check": "cannot check",
    "not_checked": "not checked",
}
"""What each outcome is called in ``verify``'s lines and the TUI's notifications."""

REFUSED_EXIT = 4
"""Some token was refused by its provider (:data:`vault.errors.EXIT_CODES`: needs sign-in)."""
UNCHECKED_EXIT = 7
"""Some token could not be checked (network, 5xx, rate limit); none was refused."""

CONCURRENCY = 16
"""Checks in flight at once (each waits on the network, at most one deadline)."""

REVOKED_AT_PROVIDER = "revoked at the provider"
"""How a credential marked by ``verify`` begins its last error (``show``, the TUI)."""


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found for one credential.

    Attributes:
        name: the credential.
        provider: its provider.
        outcome: see :data:`OUTCOMES`.
        detail: one line for people, never a secret.
        account: the account the provider named, when it accepted the token.
        scopes: the scopes the provider listed (None: it did not say).
        status: the credential's status afterwards.
    """

    name: str
    provider: str
    outcome: Outcome
    detail: str
    account: str | None = None
    scopes: tuple[str, ...] | None = None
    status: str = ""

    def public(self) -> dict[str, Any]:
        """JSON-ready (``verify --json``)."""
        return {
            "name": self.name,
            "provider": self.provider,
            "outcome": self.outcome,
            "detail": printable(self.detail),
            "account": None if self.account is None else printable(self.account),
            "scopes": None if self.scopes is None else [printable(s) for s in self.scopes],
            "status": self.status,
        }

    @property
    def words(self) -> str:
        """The outcome for people: :data:`WORDS`, but ``refused`` for a refusal that did not
        mark the credential revoked (its refresh token was refused: it needs a sign-in)."""
        if self.outcome == "refused" and self.status != "revoked":
            return "refused"
        return WORDS[self.outcome]

    def line(self) -> str:
        """``NAME<TAB>OUTCOME<TAB>DETAIL``."""
        return f"{printable(self.name)}\t{self.words}\t{printable(self.detail)}\n"


@dataclass(frozen=True)
class Probe:
    """The request that checks one credential's token (the token itself is added when sent)."""

    url: str
    method: Literal["GET", "POST"]
    body: str | None
    headers: Mapping[str, str]
    account_paths: tuple[str, ...]
    check: Check


def probe_for(provider: Provider | None, credential: Credential) -> Probe | str:
    """How to check ``credential`` at ``provider``, or why it cannot be checked."""
    if provider is None:
        return "no check known for this provider"
    check = provider.check or Check()
    if check.unable:
        return check.unable
    if credential.extras.get(MCP_URL_EXTRA):
        return "an MCP server's token is for that server, which has no check tokendeck knows"
    identity = provider.identity
    if check.url:
        url, method, body = check.url, check.method, check.body
        paths: tuple[str | None, ...] = (check.account,)
    elif identity is not None and identity.url:
        url, method, body = identity.url, identity.method, identity.body
        paths = (identity.account, identity.account_fallback)
    elif provider.userinfo_url:
        url, method, body = provider.userinfo_url, "GET", None
        paths = (identity.account if identity else "email", "preferred_username", "sub")
    else:
        return "no check known for this provider"
    if "{" in url:  # a static token's server (Jira Data Center's server_url)
        values = {k: v for k, v in credential.extras.items() if isinstance(v, str)}
        try:
            url = url.format_map(values)
        except (KeyError, ValueError, IndexError):
            return "its server URL is not known here"
    try:
        check_endpoint(url, "the check URL")
    except InvalidInput as exc:
        return exc.message
    headers = {"Accept": "application/json"}
    if check.token_headers:
        headers.update(provider.token_headers)
    if body is not None:
        headers["Content-Type"] = "application/json"
    named = tuple(p for p in paths if p and ":" not in p)
    return Probe(url, method, body, headers, named, check)


def provider_of(vault: Vault, credential: Credential) -> Provider | None:
    """The catalog entry (a static token, one stored without its client id) or the resolved
    registration (an OAuth credential); None where none is known."""
    try:
        if credential.kind == "static" or credential.no_client_id:
            return builtin(credential.provider)
        return resolve(vault.records.get_client(credential.provider))
    except NotFound:
        return None


def ask(http: Any, probe: Probe, token: str) -> tuple[Outcome, str, str | None, tuple[str, ...] | None]:
    """Send the check with ``token``: (outcome, detail, account, scopes)."""
    import httpx2

    from vault.core.outside import Unparsable, load_json
    from vault.oauth.http import describe_failure
    from vault.oauth.identity import dig

    host = urlsplit(probe.url).netloc
    headers = {**probe.headers, "Authorization": f"Bearer {token}"}
    try:
        response = http.request(probe.method, probe.url, headers=headers, content=probe.body)
    except httpx2.HTTPError as exc:
        return "could_not_check", f"{host}: {describe_failure(exc)}; status unchanged", None, None
    status = response.status_code
    if status == 401:
        return "refused", f"{host} answered HTTP 401: the token is not accepted", None, None
    if status == 403:
        why = "a rate limit, or the token may not call this endpoint"
        return "could_not_check", f"{host} answered HTTP 403 ({why}); status unchanged", None, None
    if status >= 300:
        return "could_not_check", f"{host} answered HTTP {status}; status unchanged", None, None
    try:
        data = load_json(response.content)
    except Unparsable:
        data = None
    check = probe.check
    if check.ok_field is not None:
        if not isinstance(data, dict):
            return "could_not_check", f"{host} sent no answer tokendeck understands; status unchanged", None, None
        if data.get(check.ok_field) is not True:
            error = printable(redact(str(data.get(check.error_field) or "no reason given"), [token])[:80])
            if error in check.refused_errors:
                return "refused", f"{host} answered {error}: the token is not accepted", None, None
            return "could_not_check", f"{host} answered {error}; status unchanged", None, None
    found = (dig(data, path) for path in probe.account_paths)
    account = next((redact(str(v), [token]) for v in found if isinstance(v, str | int) and v != ""), None)
    scopes = None
    if check.scopes_header and check.scopes_header in response.headers:
        scopes = tuple(s.strip() for s in response.headers[check.scopes_header].split(",") if s.strip())
    detail = f"accepted by {host}" + (f" as {account}" if account else "")
    if scopes is not None:
        detail += f"; scopes: {', '.join(scopes) or '(none)'}"
    return "ok", detail, account, scopes


def _before(vault: Vault, credential: Credential, *, refresh: bool) -> Verdict | Probe | tuple[Probe, bool]:
    """What to do with ``credential``: a verdict without asking, or the probe (and whether to
    refresh first)."""
    name, provider_key = credential.name, credential.provider

    def skip(outcome: Outcome, detail: str) -> Verdict:
        return Verdict(name, provider_key, outcome, detail)

    now = vault.clock.now()
    if credential.access_token is None and not (refresh and credential.renewable):
        said = "revoked; its tokens are erased" if credential.stored_status == "revoked" else "it holds no access token"
        return skip("not_checked", said)
    if credential.stored_status in ("needs_login", "error"):
        return skip("not_checked", f"{credential.stored_status.replace('_', ' ')} (not checked)")
    # Within the read margin counts as expired: a provider may already refuse it as expired
    # (Dropbox, Bitbucket answer 401), which is not a revocation.
    expired = credential.expires_at is not None and credential.expires_at <= now + REFRESH_SKEW
    renew = refresh and credential.renewable and credential.stored_status == "active"
    first_refresh = credential.access_token is None or (expired and renew)
    if expired and not first_refresh:
        hint = "; --refresh renews it first" if credential.renewable and credential.stored_status == "active" else ""
        when = (
            "expired"
            if credential.expires_at is not None and credential.expires_at <= now
            else "expires within a minute"
        )
        return skip("not_checked", f"{when} (not checked){hint}")
    probe = probe_for(provider_of(vault, credential), credential)
    if isinstance(probe, str):
        return skip("cannot_check", f"cannot check ({probe})")
    return (probe, True) if first_refresh else probe


def _check_one(
    vault: Vault, credential: Credential, probe: Probe, refresh_first: bool, start_by: float
) -> tuple[Verdict, str]:
    """Refresh (when asked) and send the check, unless ``start_by`` (``time.monotonic()``) has
    passed; the verdict and the token it was about."""
    from vault.services.refreshing import refresh as refresh_now

    name, provider = credential.name, credential.provider
    if time.monotonic() > start_by:
        return Verdict(name, provider, "could_not_check", "out of time: verify it by name again"), ""
    if refresh_first:
        try:
            credential = refresh_now(vault, name, force=True)
        except NeedsSignIn:
            return Verdict(name, provider, "refused", "the refresh was refused: sign in again"), ""
        except VaultError as exc:
            why = exc.detail if isinstance(exc, ProviderError) else exc.message
            return Verdict(name, provider, "could_not_check", f"the refresh failed ({why}); status unchanged"), ""
    if credential.access_token is None:
        return Verdict(name, provider, "not_checked", "it holds no access token"), ""
    token = credential.access_token.reveal()
    outcome, detail, account, scopes = ask(vault.http_client, probe, token)
    return Verdict(name, provider, outcome, detail, account, scopes), token


def _record(vault: Vault, verdict: Verdict, token: str) -> Verdict:
    """Store what the check found: the audit entry, and a refused token's credential marked
    revoked (an accepted one marked active again), unless its token changed meanwhile."""
    records, name = vault.records, verdict.name
    if not token:  # nothing was sent with a token (a refresh failed, and said so itself)
        return verdict
    with credential_lock(vault.paths.home, name):
        try:
            current = records.get(name)
        except NotFound:
            return replace(verdict, outcome="not_checked", detail="it was removed while it was checked")
        held = current.access_token.reveal() if current.access_token is not None else ""
        if not hmac.compare_digest(held.encode(), token.encode()):
            if verdict.outcome == "refused":
                detail = "its token changed while it was checked (a refresh or a sign-in): check again"
                records.record("verify", "could_not_check", credential=name, detail=detail)
                return replace(verdict, outcome="could_not_check", detail=detail)
            return verdict
        if verdict.outcome == "refused":
            records.mark(
                name, "revoked", last_error=f"{REVOKED_AT_PROVIDER}: {verdict.detail}", action="verify",
                outcome="revoked",
            )  # fmt: skip
        elif verdict.outcome == "ok" and current.stored_status == "revoked":
            records.mark(name, "active", last_error=None, action="verify", outcome="ok")
        else:
            records.record("verify", verdict.outcome, credential=name, detail=verdict.detail)
    return verdict


def verify(vault: Vault, names: Sequence[str] = (), *, refresh: bool = False) -> list[Verdict]:
    """Check ``names`` (every credential when empty) at their providers, at most
    :data:`CONCURRENCY` at once, none started later than :data:`~vault.settings.VERIFY_START_BY`
    after the first; every name is looked up before anything is sent.

    Raises:
        NotFound: a name that is not in the vault (nothing was sent).
    """
    credentials = [vault.get(n) for n in dict.fromkeys(names)] if names else vault.credentials()
    plans = [_before(vault, c, refresh=refresh) for c in credentials]
    sent = [
        (c, p if isinstance(p, Probe) else p[0], not isinstance(p, Probe))
        for c, p in zip(credentials, plans, strict=True)
        if not isinstance(p, Verdict)
    ]
    answers: dict[str, tuple[Verdict, str]] = {}
    if sent:
        with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(sent)), thread_name_prefix="verify") as pool:
            start_by = time.monotonic() + VERIFY_START_BY
            futures = {c.name: pool.submit(_check_one, vault, c, p, first, start_by) for c, p, first in sent}
            answers = {name: future.result() for name, future in futures.items()}
    verdicts = []
    now = vault.clock.now()
    for credential, plan in zip(credentials, plans, strict=True):
        verdict = plan if isinstance(plan, Verdict) else _record(vault, *answers[credential.name])
        status: str
        try:
            status = vault.get(credential.name).status_at(now)
        except NotFound:
            status = "removed"
        verdicts.append(replace(verdict, status=status))
    return verdicts


def exit_code(verdicts: Sequence[Verdict]) -> int:
    """:data:`REFUSED_EXIT` when a token was refused, else :data:`UNCHECKED_EXIT` when one
    could not be checked, else 0 (what cannot be, or need not be, checked does not count)."""
    outcomes = {v.outcome for v in verdicts}
    return REFUSED_EXIT if "refused" in outcomes else UNCHECKED_EXIT if "could_not_check" in outcomes else 0


def tally(verdicts: Sequence[Verdict]) -> str:
    """``2 ok, 1 revoked at provider, ...`` (outcomes that happened, in :data:`OUTCOMES` order)."""
    counts = {o: sum(v.outcome == o for v in verdicts) for o in OUTCOMES}
    return ", ".join(f"{n} {WORDS[o]}" for o, n in counts.items() if n) or "no credentials"


def command(vault: Vault, *, names: list[str], refresh: bool = False, as_json: bool = False) -> Report:
    """``tokendeck verify [NAME...] [--refresh] [--json]``: a line (or a JSON object) per
    credential on stdout, the tally on stderr, and :func:`exit_code`."""
    verdicts = verify(vault, names, refresh=refresh)
    if as_json:
        out = json.dumps([v.public() for v in verdicts], indent=2, ensure_ascii=False) + "\n"
    else:
        out = "".join(v.line() for v in verdicts)
    return Report(out, f"tokendeck: {tally(verdicts)}\n", exit_code(verdicts))


COMMANDS = {"verify": command}
"""The request :mod:`vault.services.commands` runs (a change: it may mark credentials)."""
