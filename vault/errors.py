"""The errors tokendeck raises on purpose, one tree, each with its exit code.

Everything a user can cause (a wrong passphrase, an unknown name, a busy vault)
is a :class:`VaultError`; anything else that escapes is a bug and should crash
loudly.  Messages never contain a secret: they are built from names, paths and
codes only, so they are safe to print, log and show in the TUI.

::

    VaultError                  exit 1   anything expected that went wrong
    ├── InvalidInput            exit 2   a bad name, token, date or flag value
    ├── VaultLocked             exit 3   the vault could not be unlocked
    │   ├── NoKey               exit 3   no key could be found to unlock the vault
    │   └── WrongPassphrase     exit 3   the key does not open this file
    ├── NeedsSignIn             exit 4   expired, revoked or needs a fresh login
    │   └── HeldAfterRestore    exit 4   restored from a backup: refreshed only on the user's word
    ├── NotFound                exit 5   no such credential or provider
    │   ├── NoVault             exit 5   nothing has been initialised at this home
    │   └── NotForwarded        exit 5   a forward (``tokendeck ssh``) does not pass that on
    ├── ForwardGone             exit 3   ``$TOKENDECK_AGENT_SOCK`` names a forward that does not answer
    ├── AlreadyExists           exit 1   a credential or vault of that name exists
    ├── VaultBusy               exit 6   another process held the write lock too long
    ├── VaultCorrupt            exit 1   the file is damaged
    ├── VaultUnusable           exit 1   the files can't be used here: read-only, full disk, permission
    ├── VaultTooNew             exit 1   written by a newer tokendeck
    ├── KeyringUnavailable      exit 1   the OS keyring cannot be used
    ├── ProviderError           exit 1   a provider answered with an error or nonsense
    │   ├── SignInFailed        exit 1   the browser sign-in did not complete
    │   └── RevokeFailed        exit 1   the provider did not confirm a revocation
    ├── RefreshBusy             exit 6   another process kept refreshing this credential too long
    ├── RefreshDiscarded        exit 1   the credential changed (a new sign-in, a rename) mid-refresh
    ├── RefreshBackoff          exit 1   its refreshes keep failing; the next try is not due yet
    ├── UndoRefused             exit 1   an undo found the credential changed since: nothing was written
    ├── AgentRunning            exit 1   an agent already serves this vault
    ├── AgentNoAnswer           exit 1   the agent ended without answering a change: its outcome is unknown
    ├── Declined                exit 1   the user said no when asked to confirm
    │   └── AccountChanged      exit 1   a sign-in is another account than the credential's
    ├── TargetUnwritable        exit 1   an export target is read-only
    ├── ProxyUnavailable        exit 1   ``tokendeck proxy run``: no interception engine installed
    ├── CommandNotExecutable    exit 126 ``tokendeck exec``: found, but it cannot be run
    └── CommandNotFound         exit 127 ``tokendeck exec``: no such command

Every subclass lives here, so the agent can send any of them over its socket and
the client rebuild it exactly (:func:`to_fields`, :func:`from_fields`).  The drawing
above is checked against the classes below (``tests/test_one_place.py``).
"""

from __future__ import annotations

from collections.abc import Iterable


class VaultError(Exception):
    """Base of every expected failure.

    Args:
        message: one line for the user; never a secret.
        title: a short heading for the TUI's notifications.
    """

    exit_code = 1
    default_title = "tokendeck error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        message = printable(message)  # it may quote a path, a name or a server's words
        super().__init__(message)
        self.message = message
        self.title = title or self.default_title


class InvalidInput(VaultError):
    exit_code = 2
    default_title = "Invalid input"


class VaultLocked(VaultError):
    exit_code = 3
    default_title = "Vault locked"


class NoKey(VaultLocked):
    """No source had the key: nothing set in the environment and nobody to ask (a front end
    says the remedy for its situation: :mod:`vault.agent.remedy`)."""


class WrongPassphrase(VaultLocked):
    default_title = "Wrong passphrase"

    def __init__(self, message: str = "wrong passphrase, or not a tokendeck vault") -> None:
        super().__init__(message)


class NeedsSignIn(VaultError):
    """The credential gives no token until the user signs in again (or replaces a static token).

    Args:
        message: what happened and what to do at the command line.
        credential: the credential's name, when there is one.
        situation: what happened, without the command line's advice: a front end with
            other ways to act (the TUI's "sign in again") says its own.
        static: the credential is a static token (it is replaced, not signed in to again).
    """

    exit_code = 4
    default_title = "Sign-in needed"

    def __init__(
        self,
        message: str,
        *,
        credential: str | None = None,
        situation: str | None = None,
        static: bool = False,
        title: str | None = None,
    ) -> None:
        super().__init__(message, title=title)
        self.credential = credential
        self.situation = situation
        self.static = static


class HeldAfterRestore(NeedsSignIn):
    """A credential a restore brought back needs a refresh, and its refresh token may have been
    used since the backup (:mod:`vault.core.restored`): nothing is sent until the user says this
    copy is the one in use (``tokendeck refresh NAME``) or signs in again."""

    default_title = "Held after restore"


class NotFound(VaultError):
    exit_code = 5
    default_title = "Not found"


class NoVault(NotFound):
    default_title = "No vault"


class NotForwarded(NotFound):
    """Asked through a forward (``tokendeck ssh``) for what it does not pass on."""

    default_title = "Not forwarded"


class ForwardGone(VaultError):
    """``$TOKENDECK_AGENT_SOCK`` names a forward that does not answer (its session ended, or
    the agent behind it is locked): the remote has no vault to fall back to."""

    exit_code = 3
    default_title = "No forward"


class AgentNoAnswer(VaultError):
    """A change was sent to the agent, which ended the connection without an answer (it was
    killed, or ran out of time): whether the change was made is not known here."""

    default_title = "No answer"


class AlreadyExists(VaultError):
    default_title = "Already exists"


class VaultBusy(VaultError):
    exit_code = 6
    default_title = "Vault busy"


class VaultCorrupt(VaultError):
    default_title = "Vault damaged"


class VaultUnusable(VaultError):
    """The vault's files are fine, but this process cannot use them (as the message says):
    a read-only file system or file, no space left, permission denied, another OS error."""

    default_title = "Vault unusable"


class VaultTooNew(VaultError):
    default_title = "Vault too new"


class KeyringUnavailable(VaultError):
    default_title = "No keyring"


class ProviderError(VaultError):
    """A provider's endpoint failed or answered something unusable.

    Args:
        provider: the provider's name, always part of the message.
        code: the OAuth error code (``invalid_grant``) or a short reason.
        description: the provider's own words, shortened and never markup-safe:
            show it with markup disabled.
        secrets: what the request sent that a provider may echo (the refresh token, the
            client secret): shown as ``***`` in the code and description, before anything
            is shortened, stored or printed.
    """

    default_title = "Provider error"

    def __init__(
        self,
        provider: str,
        code: str,
        description: str | None = None,
        *,
        transient: bool = False,
        retry_after: float | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        hidden = [s for s in secrets if s]
        self.provider = provider
        self.code = printable(redact(str(code), hidden)[:80])
        self.description = _tidy(redact(str(description), hidden)) if description else None
        self.transient = transient
        """Worth retrying as it is: a network failure, 5xx, 429 or ``temporarily_unavailable``."""
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (``Retry-After``), if it said."""
        detail = f": {self.description}" if self.description else ""
        super().__init__(f"{provider}: {self.code}{detail}")

    @property
    def detail(self) -> str:
        """The code and the provider's words, without the provider's name (for the audit log and ``last_error``)."""
        return f"{self.code}: {self.description}" if self.description else self.code


PLAIN_WORDS: dict[str, str] = {
    "access_denied": "The sign-in was declined (at the provider's consent page, or by its policy).",
    "cancelled": "The sign-in was cancelled.",
    "expired_token": "The code expired before it was approved: start again.",
    "invalid_client": "The provider did not accept the app's client ID or secret: check its registration.",
    "unauthorized_client": "The provider does not let this app sign in this way: check the app's settings there.",
    "invalid_grant": "The provider refused the code or refresh token (expired, used or revoked): sign in again.",
    "invalid_scope": "The provider refused the permissions (scopes) asked for.",
    "redirect_uri_mismatch": "The provider does not accept the callback address: register the loopback URL "
    "(http://127.0.0.1) as the app's callback.",
    "invalid_request": "The provider refused the request as malformed.",
    "server_error": "The provider had an error; try again in a moment.",
    "temporarily_unavailable": "The provider is busy or down for a moment; try again shortly.",
    "network": "The provider could not be reached, or did not answer in time (network, proxy or DNS).",
}
"""What common OAuth error codes (RFC 6749 §4.1.2.1, §5.2; RFC 8628 §3.5) mean, for people."""


OWN_CODES = frozenset(
    {"bad_metadata", "bad_response", "cancelled", "discovery_failed", "issuer_mismatch", "network", "no_browser",
     "no_code", "no_device", "no_endpoint", "no_resource_metadata", "no_sign_in", "port_unavailable",
     "registration_refused", "resource_mismatch", "state_mismatch", "timeout", "unsupported_auth_method"}
)  # fmt: skip
"""The short reasons tokendeck itself gives a :class:`ProviderError` (and ``http_NNN``): names
for scripts and the audit log, never words for people.  Their description says it in words."""


def plain_words(error: ProviderError) -> str:
    """What ``error`` means, in a sentence for people, with the provider's own words kept below it
    (a code tokendeck has no sentence for is said as the provider said it).  A code of
    tokendeck's own (:data:`OWN_CODES`, ``http_NNN``) is never shown: its description is the words."""
    code = error.code
    sentence = PLAIN_WORDS.get(code)
    if sentence is None and code.startswith("http_5"):
        sentence = PLAIN_WORDS["server_error"]
    said = _said(error)
    if sentence is None:
        return said or error.message
    return f"{sentence}\n{said or f'{error.provider} said: {error.detail}'}"


def _said(error: ProviderError) -> str | None:
    """What the provider said, for a code of tokendeck's own: its description, and the HTTP
    status as words (``acme: Service Unavailable (HTTP 503)``); None for a provider's own code."""
    code = error.code
    status = f" (HTTP {code.removeprefix('http_')})" if code.startswith("http_") else ""
    own = code in OWN_CODES or code.startswith("http_")
    return f"{error.provider}: {error.description}{status}" if own and error.description else None


def detail_said(about: str, detail: str) -> str:
    """A stored error (:attr:`ProviderError.detail`, ``code: description``: a refresh's failure in
    the audit log) as one line about ``about`` (a provider, a credential) that never shows a code
    of tokendeck's own; a provider's own OAuth code (``invalid_grant``) is kept, as
    :func:`plain_words` keeps it, and any other text is left as it was."""
    code, _, description = detail.partition(": ")
    return _said(ProviderError(about, code, description or None)) or f"{about}: {detail}"


class SignInFailed(ProviderError):
    default_title = "Sign-in failed"


class RevokeFailed(ProviderError):
    default_title = "Revoke failed"


class RefreshBusy(VaultError):
    exit_code = 6
    default_title = "Refresh in progress"


class RefreshDiscarded(VaultError):
    """A refresh's answer was not stored because the credential changed while it was in
    flight (a new sign-in, a rename, a removal): the newer state wins."""

    default_title = "Refresh discarded"


class RefreshBackoff(VaultError):
    """The credential's refreshes failed in a row and its backoff has not run out: no request
    is sent to the provider before then (``tokendeck refresh NAME`` tries at once)."""

    default_title = "Refresh failing"


class UndoRefused(VaultError):
    """An undo (the TUI's ``u``) found the credential no longer what the change left (another
    process changed, refreshed or re-created it, or took its old name): nothing was written."""

    default_title = "Not undone"


class AgentRunning(VaultError):
    default_title = "Agent running"


class Declined(VaultError):
    """The user said no when asked to confirm; nothing was changed."""

    default_title = "Cancelled"


class AccountChanged(Declined):
    """A sign-in over a credential is another account than the one it holds (or names none
    where it named one), and replacing the account was not confirmed: nothing was stored.

    Args:
        name: the credential.
        stored, signed: the account it holds and the one signed in, as shown (never a token).
        known: the accounts are known to differ (the same provider, and the new sign-in
            named an account): only then may the unused tokens be revoked.
    """

    default_title = "Another account"

    def __init__(
        self,
        message: str,
        *,
        title: str | None = None,
        name: str = "",
        stored: str = "",
        signed: str = "",
        known: bool = True,
    ) -> None:
        super().__init__(message, title=title)
        self.name = name
        self.stored = stored
        self.signed = signed
        self.known = known


class TargetUnwritable(VaultError):
    """The export target exists but may not be written (read-only, permissions)."""

    default_title = "Cannot write"


class ProxyUnavailable(VaultError):
    """``tokendeck proxy run`` found no interception engine (``vault.proxy.engine``) to start."""

    default_title = "Proxy unavailable"


class CommandNotExecutable(VaultError):
    exit_code = 126
    default_title = "Cannot run"


class CommandNotFound(VaultError):
    exit_code = 127
    default_title = "Command not found"


def printable(text: str) -> str:
    """``text`` with every character a terminal could act on written as a Python-style escape
    (ESC as ``\\x1b``, a line break as ``\\n``, a right-to-left override as ``\\u202e``):
    the one rule for what reaches a terminal, the TUI or the audit log from outside (a
    server's words, an imported file's names, a path).  Printable text comes back as it was."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


CLIP_LIMIT = 300
"""Characters of text from outside that one line of a screen or a notification shows (:func:`clipped`)."""


def clipped(text: str, limit: int = CLIP_LIMIT) -> str:
    """``text`` from outside as a screen shows it: :func:`printable`, and at most ``limit``
    characters, the cut marked with ``…`` (a server's 10,000-character error page, stored as a
    credential's last error, is not a screenful of text)."""
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (longest first) shown as ``***``; one shorter than
    :data:`REDACT_MIN` is left (it would mask ordinary words, and no issued secret is that short)."""
    for secret in sorted({s for s in secrets if len(s) >= REDACT_MIN}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


REDACT_MIN = 8


def _tidy(text: str, limit: int = 200) -> str:
    """A provider's text as one printable line of at most ``limit`` characters."""
    flat = "".join(ch if ch.isprintable() else " " for ch in str(text))
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def to_fields(error: VaultError) -> list[str]:
    """``error`` as text fields for the agent's socket: message, class name, title, and its
    other attributes as JSON (a ProviderError's provider, code, description, ...)."""
    import json

    attributes = {
        k: v
        for k, v in vars(error).items()
        if k not in ("message", "title") and (v is None or isinstance(v, str | int | float | bool))
    }
    return [error.message, type(error).__name__, error.title, json.dumps(attributes)]


def from_fields(fields: list[str], exit_code: int = 1) -> VaultError:
    """The error :func:`to_fields` described: the same class, message, title and attributes.

    A class this tokendeck does not know (an agent of another version) becomes a
    :class:`VaultError` with the message and ``exit_code``.
    """
    import json

    message = fields[0] if fields else "the agent failed"
    cls = globals().get(fields[1]) if len(fields) > 1 else None
    if not (isinstance(cls, type) and issubclass(cls, VaultError)):
        error = VaultError(message)
        error.exit_code = exit_code
        return error
    title = fields[2] if len(fields) > 2 else cls.default_title
    try:
        attributes = json.loads(fields[3]) if len(fields) > 3 else {}
    except (ValueError, RecursionError):  # not what an agent sends: keep the message alone
        attributes = {}
    message = printable(message)
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    if isinstance(attributes, dict):
        vars(error).update(attributes)
    error.message, error.title = message, title
    return error


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "error (see the message)",
    2: "usage: bad arguments or input",
    3: "locked: no key, or a wrong passphrase (or, on a remote machine, no forward answering)",
    4: "needs sign-in: expired, revoked or refused (or held after a restore: tokendeck refresh NAME)",
    5: "not found: no such credential, provider or vault (or not forwarded to this host)",
    6: "busy: another process holds the vault or a refresh lock; try again",
    7: "could not check: `tokendeck verify` could not ask a provider (network, 5xx, rate limit); none refused",
    8: "found only old copies: `tokendeck scan` found copies of replaced secrets, none of a current one",
    9: "found a live copy: `tokendeck scan` found a copy of a current secret",
    130: "interrupted (Ctrl-C)",
}
"""The documented exit codes of the ``tokendeck`` command (also in docs/cli.md, generated from this table)."""
