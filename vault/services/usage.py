"""What uses a credential, in words, before someone revokes or deletes it: the files its token
is exported to (plaintext, re-written on every refresh), the configs that reference it (an
MCP client's, with no secret in the file), the git hosts it answers for, the agent's
forwards that may read it, and when it was last read (and by which forward, if one).

Only what the vault records is said: a program that copied the token elsewhere is not
known, and the words never claim a complete list.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from vault.core.model import Credential
from vault.core.repository import Repository
from vault.core.timefmt import relative
from vault.errors import printable

NOTHING = "nothing tokendeck knows of (no export, git host or forward)"
"""What :func:`used_by` says when the vault records no use."""

_REFERENCE = re.compile(r"^target=(?P<target>\S+) path=(?P<path>.+) reference$")
"""An audit detail of ``tokendeck export`` writing a reference (no secret) into a config."""

AUDIT_READ = 1000
"""The newest audit events of the credential looked through (references, the last forward)."""

_FORWARD_HOST = re.compile(r"\bhost=(?P<host>\S+)")
_READS = ("read", "session", "forward")
"""The audit's served reads: the agent's own (issue 36's reader audit), a session's, a forward's."""
_READER = re.compile(r"\breader=(?P<reader>.+\(pid \d+\))")
_SESSION = re.compile(r"\bsession=(?P<id>\S+) command=(?P<command>\S+)")


def where(path: str) -> str:
    """``.env in ~/proj``: a file by its name, then its folder (the home folder as ``~``)."""
    p = Path(path)
    folder = str(p.parent)
    home = os.path.expanduser("~")
    if home not in ("", "/", "~") and (folder == home or folder.startswith(home + os.sep)):
        folder = "~" + folder[len(home) :]
    return printable(f"{p.name} in {folder}")


def used_by(
    records: Repository,
    credential: Credential,
    *,
    now: float,
    forwards: Iterable[Mapping[str, object]] = (),
    last_read: bool = True,
) -> list[str]:
    """Each use of ``credential`` the vault knows of, one short phrase each (empty: none).

    Args:
        now: the time, for how long ago it was last read.
        forwards: the agent's active forwards (:func:`vault.agent.forwarding.active_forwards`);
            none without an agent.
        last_read: say when it was last read (and by which forward) too.
    """
    name = credential.name
    said: list[str] = []
    plaintext = records.links.export_bindings(name)
    bound = {b.path for b in plaintext}
    said += [f"{where(b.path)} ({printable(b.key)})" for b in plaintext]
    events = records.audit_log(credential=name, limit=AUDIT_READ)
    seen: set[str] = set()
    for event in reversed(events):  # newest first; a config written twice is one use
        found = _REFERENCE.match(event.detail or "") if event.action == "export" and event.outcome == "ok" else None
        if found and found["path"] not in bound and found["path"] not in seen:
            seen.add(found["path"])
            said.append(f"{where(found['path'])} (a reference)")
    said += [f"git host {printable(host)}" for host, owner, _ in records.links.git_hosts() if owner == name]
    for forward in forwards:
        names = forward.get("names")
        if isinstance(names, list) and name in names:
            said.append(f"forwarded to {printable(str(forward.get('host')))}")
    if last_read and credential.last_used_at is not None:
        last = f"last read {relative(credential.last_used_at, now)}"
        by = next((e for e in reversed(events) if e.action in _READS and e.outcome == "served"), None)
        if by is not None and by.at >= credential.last_used_at - 60:  # the stamp's resolution
            last += _reader(by.action, by.detail or "")
        said.append(last)
    return said


def _reader(action: str, detail: str) -> str:
    """`` by python sync.py (pid 4242)``, `` by devbox (a forward)``: who the audit says read it."""
    if action == "forward":
        host = _FORWARD_HOST.search(detail)
        return f" by {printable(host['host'])} (a forward)" if host else ""
    reader = _READER.search(detail)
    if reader is None:
        return ""
    said = f" by {printable(reader['reader'])}"
    session = _SESSION.search(detail) if action == "session" else None
    return said + (f" in session {session['id']} ({printable(session['command'])})" if session else "")
