"""Which fixes fit what ``tokendeck scan`` found (issue 37, "from found to fixed"): the one place
the CLI's ``scan --fix`` and the TUI's Leaks screen both ask, so they offer the same fixes.

Pure functions over :class:`~vault.services.scanning.Finding` and a credential's
:class:`Facts` (what the vault says about it, never a secret); what each fix does to a file is
:mod:`vault.services.leak_files`, and to the vault :mod:`vault.services.leak_fix_requests`.

- A live static token: **rotate** it (a new one made on the provider's token page, the leaked
  one revoked there; the new value stored by :func:`vault.services.static_tokens.rotate`).
- A live OAuth credential: **revoke** the grant at the provider and sign in again, where the
  provider can revoke by API; else **refresh** now when the provider rotates refresh tokens
  (the leaked refresh token then dies; a leaked access token lives until its expiry).
- A plaintext copy in an MCP config the export code knows: **rewrite** the entry to read the
  token through tokendeck (reference mode).  A ``.env`` line: **remove** the line.  A shell
  history file: **scrub** the entries holding it.
- Git history, transcripts and other files: no edit, **advice** only (a rotated or revoked
  secret is dead wherever a copy of it lies).

Old (replaced) copies get no fix: they are dead already.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

from vault.services.scanning import HOME_PLACES, Finding

ROTATE = "rotate"
REVOKE = "revoke"
REFRESH = "refresh"
REWRITE = "rewrite"
REMOVE = "remove"
SCRUB = "scrub"
ADVICE = "advice"

HISTORY_NAMES = frozenset(PurePath(p).name for p in HOME_PLACES if p.endswith("history"))
"""The shell history files a scrub knows (bash, zsh, fish)."""


@dataclass(frozen=True)
class Facts:
    """What the vault says about one credential, for choosing its fixes (no secret)."""

    name: str
    kind: str
    """``static`` or ``oauth``."""
    provider: str
    revocable: bool = False
    """Its provider revokes a grant by API here (:func:`vault.services.revoke.revocation_plan`)."""
    rotates_refresh: bool = False
    """Its provider invalidates a refresh token once used (the catalog's ``rotates_refresh_token``)."""
    token_page: str | None = None
    """Where a new token is made (the catalog's ``register_url``)."""
    revoke_page: str | None = None
    """Where a token is revoked by hand (the catalog's ``revoke.manual_url``)."""


@dataclass(frozen=True)
class Fix:
    """One fix offered for a credential's live copies: asked as :attr:`question` (y/N)."""

    action: str
    credential: str
    question: str
    note: str = ""
    """A plain line said before the question (what dies and what does not; where to go)."""
    path: str = ""
    lines: tuple[int, ...] = field(default=())
    target: str = ""
    """An MCP config's export target (``cursor``, ``claude-code``...), for :data:`REWRITE`."""

    @property
    def asks(self) -> bool:
        """Whether it is a question (y/N) rather than advice."""
        return self.action != ADVICE


def where(f: Finding) -> str:
    """Where a copy is, as a line says it (never the secret)."""
    if f.git_object:
        return f"{f.path} (git object {f.git_object[:12]} {f.object_path})"
    return f"{f.path}:{f.line}"


def describe(f: Finding) -> str:
    """One line for a copy: where, whose, what kind, live or old, in which form."""
    return f"{where(f)}: {f.credential} {f.kind} ({'LIVE' if f.live else 'old'}, {f.form})"


def mcp_target(path: str) -> str | None:
    """The export target whose MCP config ``path`` is (by the end of its path), else None."""
    from vault.export.spec import MCP_FORMATS

    text = path.replace("\\", "/")
    for target, fmt in MCP_FORMATS.items():
        tail = fmt.default_file.removeprefix("~/")
        if text == tail or text.endswith("/" + tail):
            return target
    return None


def place(f: Finding) -> str:
    """What kind of place holds a copy: ``git``, ``history``, ``mcp``, ``dotenv`` or ``other``."""
    if f.git_object:
        return "git"
    name = PurePath(f.path).name
    if name in HISTORY_NAMES:
        return "history"
    if mcp_target(f.path) is not None:
        return "mcp"
    if name == ".env" or name.startswith(".env."):
        return "dotenv"
    return "other"


def by_credential(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by credential, those with a live copy first (then by name)."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.credential, []).append(f)
    return sorted(groups.items(), key=lambda kv: (not any(f.live for f in kv[1]), kv[0]))


def credential_fix(facts: Facts) -> Fix | None:
    """The fix of the credential itself (at the provider and in the vault), if one fits."""
    name = facts.name
    if facts.kind == "static":
        page = facts.token_page or facts.revoke_page
        note = (
            f"Make a new token{f' at {page}' if page else ' on the provider site'} and revoke the leaked one "
            f"there{f' ({facts.revoke_page})' if facts.revoke_page and facts.revoke_page != page else ''}; "
            "then paste the new one here."
        )
        return Fix(ROTATE, name, f"Replace {name}'s token with a new one?", note)
    if facts.kind != "oauth":
        return None
    if facts.revocable:
        note = f"Revoking at {facts.provider} kills the leaked tokens; you then sign in again."
        return Fix(REVOKE, name, f"Revoke {name}'s grant at {facts.provider} and sign in again?", note)
    if facts.rotates_refresh:
        note = (
            f"{facts.provider} rotates refresh tokens: refreshing now kills the leaked refresh token; "
            "a leaked access token lives until its expiry unless revoked at the provider."
        )
        return Fix(REFRESH, name, f"Refresh {name} now?", note)
    return None


def fixes_for(facts: Facts | None, findings: Iterable[Finding]) -> list[Fix]:
    """The fixes for one credential's findings (only its live copies get any), in order: the
    credential first, then each file (a question per file, or advice)."""
    live = [f for f in findings if f.live]
    if not live:
        return []
    name = live[0].credential
    fixes: list[Fix] = []
    own = credential_fix(facts) if facts is not None else None
    if own is not None:
        fixes.append(own)
    files: dict[tuple[str, str], list[Finding]] = {}
    for f in live:
        files.setdefault((place(f), f.path), []).append(f)
    for (kind, path), found in files.items():
        lines = tuple(sorted({f.line for f in found if f.line}))
        if kind == "history":
            fixes.append(Fix(SCRUB, name, f"Remove the entries holding it from {path}?", path=path, lines=lines))
        elif kind == "dotenv":
            note = f"Programs get it with `tokendeck exec -e VAR={name} -- CMD` now."
            question = f"Remove the line{'s' if len(lines) > 1 else ''} holding it from {path}?"
            fixes.append(Fix(REMOVE, name, question, note, path=path, lines=lines))
        elif kind == "mcp":
            target = str(mcp_target(path))
            question = f"Rewrite the entry in {path} to read it through tokendeck?"
            fixes.append(Fix(REWRITE, name, question, path=path, lines=lines, target=target))
        else:
            what = "the git history" if kind == "git" else path
            note = (
                f"No edit in {what}: once {name} is rotated or revoked, that copy is dead; "
                "delete the file or history yourself if it should not keep it."
            )
            fixes.append(Fix(ADVICE, name, "", note, path=path))
    return fixes


def scrub_question(fix: Fix, entries: int) -> str:
    """A scrub's question once its plan has counted the entries (a timestamped bash entry is two lines)."""
    return f"Remove {entries} entr{'y' if entries == 1 else 'ies'} holding it from {fix.path}?"
