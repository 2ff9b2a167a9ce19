"""Keeping secrets out of what is shown and stored: a provider's words with the vault's own
secrets masked, and a user's input described instead of repeated when it could be a secret.

A provider's words on their way into the vault (``last_error``, an audit line) have the
vault's own secrets masked (:func:`without_secrets`): a server that echoes the refresh token it
was sent, or the access token, in its ``error_description`` does not get it stored in the clear.

What of a user's input may be repeated back in a message is one rule, :func:`echo`.  People
paste tokens in the wrong place (a PAT after ``--expires``, into ``tokendeck token`` instead of
a name, into the TUI's name field); a message that quotes what was typed would then put the
token on the screen, in scrollback and in a terminal recording.  Every message that repeats a
value the user gave renders it with :func:`echo`: the value itself (as ``repr``, as the
messages always did) when it cannot be a secret, else a description of what kind of value it
was ("a GitHub token"), never any part of it.

What could be a secret (:func:`secret_kind`): a known token shape anywhere in the value
(:data:`SHAPES`), a ``Bearer``/``Basic`` credential, or a long random-looking string (no
spaces, at least :data:`LONG` characters, letters mixed with digits or cases the way random
text mixes them rather than the way words do).  Names, dates, durations, URLs, paths, hosts
and provider names are shown as they are.
"""

from __future__ import annotations

import re
from typing import Any

from vault.errors import InvalidInput, redact


def without_secrets(conn: Any, name: str | None, text: str | None) -> str | None:
    """``text`` (a provider's words, on their way to ``last_error`` or the audit log) with every
    secret the vault holds for credential ``name`` shown as ``***``: its tokens and its
    provider's client secret, whatever a server echoed."""
    if not text or name is None:
        return text
    row = conn.execute(
        "SELECT c.access_token, c.refresh_token, c.id_token, r.client_secret FROM credentials c "
        "LEFT JOIN client_registrations r ON r.provider = c.provider WHERE c.name = ?",
        (name,),
    ).fetchone()
    return text if row is None else redact(text, [v for v in row if isinstance(v, str) and v])


LONG = 20
"""A value shorter than this is never judged secret by its randomness alone."""

_B = r"(?<![A-Za-z0-9])"
"""A shape starts a word: ``xghp_…`` is not a GitHub token, ``token=ghp_…`` is."""
_URLSAFE = r"[A-Za-z0-9_\-]"

_SHAPES: tuple[tuple[str, str, str], ...] = (
    # (what it is, its fixed start, its random part)
    ("a GitHub token", r"gh[pousr]_", r"[A-Za-z0-9]{16,}"),
    ("a GitHub token", r"github_pat_", rf"{_URLSAFE}{{20,}}"),
    ("a GitLab token", r"gl(?:pat|oas|dt|rt|ptt|ft|imt|soat|cbt|agent)-", rf"{_URLSAFE}{{16,}}"),
    ("a Slack token", r"(?:xox[abeoprs]|xapp)-", r"[A-Za-z0-9\-]{10,}"),
    ("an Anthropic API key", r"sk-ant-", rf"{_URLSAFE}{{16,}}"),
    ("an OpenAI API key", r"sk-(?:proj|svcacct|admin)-", rf"{_URLSAFE}{{16,}}"),
    ("an API key", r"sk-", rf"{_URLSAFE}{{20,}}"),
    ("a Google token", r"(?:ya29\.|1//)", rf"{_URLSAFE}{{16,}}"),
    ("a Google API key", r"AIza", rf"{_URLSAFE}{{30,}}"),
    ("a Linear key", r"lin_(?:api|oauth)_", r"[A-Za-z0-9]{16,}"),
    ("a Notion token", r"(?:ntn|secret)_", r"[A-Za-z0-9]{20,}"),
    ("an Atlassian token", r"(?:ATATT|ATCTT|ATBB)", rf"{_URLSAFE}{{16,}}"),
    ("a Dropbox token", r"(?:sl|dp)\.", rf"{_URLSAFE}{{16,}}"),
    ("an AWS key", r"(?:AKIA|ASIA)", r"[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("a JWT", r"eyJ", rf"{_URLSAFE}{{8,}}\.{_URLSAFE}{{4,}}"),
    ("an npm token", r"npm_", r"[A-Za-z0-9]{30,}"),
    ("a PyPI token", r"pypi-", rf"AgE{_URLSAFE}{{16,}}"),
    ("an Authorization header value", r"(?i:bearer\s+)", r"\S{8,}"),
    ("an Authorization header value", r"(?i:basic\s+)", r"[A-Za-z0-9+/]{8,}=*"),
)

SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(f"{_B}{start}(?P<random>{random})")) for kind, start, random in _SHAPES
)
"""Known token shapes, searched anywhere in a value (``token=ghp_…`` is as secret as ``ghp_…``).
The random part must mix classes (:func:`_mixed`), so ``secret_store_for_work`` is a name, not a
Notion token; a ``Bearer`` credential is one whatever it holds."""

_RANDOM = "a long secret-looking value"
_NOT_LOOSE = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://|[/~.\\]|[A-Za-z]:[\\/])")
"""A URL or a path: judged by the known shapes only (its own randomness is a path's)."""


def secret_kind(value: str) -> str | None:
    """What kind of secret ``value`` could be ("a GitHub token", "a JWT", ...), or ``None`` when
    it may be repeated back as it is."""
    for kind, pattern in SHAPES:
        for found in pattern.finditer(value):
            if _mixed(found["random"]) or found.group()[:6].lower() == "bearer":
                return kind
    loose = len(value) >= LONG and not any(ch.isspace() for ch in value) and not _NOT_LOOSE.match(value)
    return _RANDOM if loose and _random_looking(value) else None


def echo(value: object, *, quoted: bool = True, limit: int | None = None) -> str:
    """``value`` as a message may repeat it: ``repr(value)`` (or the text itself when not
    ``quoted``; its first ``limit`` characters when given) when it cannot be a secret, else a
    description such as ``<a GitHub token, not repeated>``.  The whole value is judged, not the
    part that would be shown."""
    text = value if isinstance(value, str) else str(value)
    kind = secret_kind(text)
    if kind is not None:
        return f"<{kind}, not repeated>"
    if not isinstance(value, str):
        return repr(value) if quoted else text
    text = text if limit is None else text[:limit]
    return repr(text) if quoted else text


def _classes(text: str) -> set[str]:
    return {"lower" if ch.islower() else "upper" if ch.isupper() else "digit" for ch in text if ch.isalnum()}


def _mixed(text: str) -> bool:
    """Random text of a token's alphabet mixes at least two of lower case, upper case and digits."""
    return len(_classes(text)) >= 2


def _random_looking(value: str) -> bool:
    """Letters and digits that change class as often as random text does.  A word starting
    (upper to lower) is not counted, so ``MyCompanyGitHubEnterpriseServer2`` reads as words and
    ``9fQ2xLr7TbW4kZp1mNc8`` does not; a date (``2026-12-31T12:00:00Z``) changes class rarely."""
    alnum = [ch for ch in value if ch.isascii() and ch.isalnum()]
    if len(alnum) < LONG or len(_classes("".join(alnum))) < 2:
        return False
    kind = ["u" if ch.isupper() else "l" if ch.islower() else "d" for ch in alnum]
    changes = sum(1 for a, b in zip(kind, kind[1:], strict=False) if a != b and (a, b) != ("u", "l"))
    return changes / len(alnum) >= 0.3


def check_new_name(name: str, what: str = "name") -> str:
    """Refuse, as a name the user is giving something now (``add``, ``login --name``,
    ``rename``, ``provider add``, the TUI's forms), a value that could be a secret: a name is
    shown in lists, the audit log and exports, so a token pasted into its place must not become
    one.  Its characters are :func:`vault.core.model.check_name`'s to check.

    Raises:
        InvalidInput: the name looks like a token (the message says what kind, never the text).
    """
    if secret_kind(name) is not None:
        raise InvalidInput(
            f"invalid {what} {echo(name)}: it looks like a secret, and a {what} is shown in lists and "
            "the audit log; choose a plain name such as github-work"
        )
    return name
