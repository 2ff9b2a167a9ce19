"""The file edits of ``scan --fix`` and the Leaks screen (:mod:`vault.services.leak_fixes`):
planned when the fix is offered, from the file as it is then, and written only if the file is
still exactly that (``vault.export.writer``'s unchanged-since check), so a shell or an editor
that wrote meanwhile makes the write refuse, the file untouched.

Each plan first checks that every line the scan named still holds a copy (``holds``: the
scan's matcher, run on that line); one that does not (the file changed since the scan) refuses
the plan.  No secret is read into a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.errors import InvalidInput

Holds = Callable[[str], bool]
"""Whether a piece of text holds a copy of the credential's live secret (the scan's matcher)."""


def _check_lines(path: Path, text: str, lines: Iterable[int], holds: Holds) -> list[int]:
    wanted = sorted(set(lines))
    found = text.split("\n")
    if not wanted or any(n < 1 or n > len(found) or not holds(found[n - 1]) for n in wanted):
        raise InvalidInput(f"{path} changed since the scan; scan again; nothing was changed")
    return wanted


@dataclass(frozen=True)
class LineRemoval:
    """Lines taken out of a file (a ``.env``): written only if the file is still ``old``."""

    path: Path
    old: str
    new: str
    mode: int | None
    removed: int

    def write(self) -> None:
        """Replace the file.  Raises VaultError: it changed since it was planned, or cannot be written."""
        from vault.export.writer import replace_atomic

        replace_atomic(self.path, self.new, expected=self.old, mode=self.mode)


def plan_line_removal(path: Path, lines: Iterable[int], holds: Holds) -> LineRemoval:
    """The removal of ``lines`` (1-based) from ``path``, each checked to hold a copy still.

    Raises:
        InvalidInput: the file is gone, or changed since the scan.  TargetUnwritable: read-only.
    """
    from vault.export.writer import read_target

    old, mode = read_target(path)
    if old is None:
        raise InvalidInput(f"{path} is gone; nothing was changed")
    wanted = set(_check_lines(path, old, lines, holds))
    kept = [line for n, line in enumerate(old.split("\n"), start=1) if n not in wanted]
    return LineRemoval(path, old, "\n".join(kept), mode, len(wanted))


def plan_history(path: Path, lines: Iterable[int], holds: Holds) -> Any:
    """A :class:`~vault.services.scrub.Scrub` of the entries holding ``lines``, after checking
    that each still holds a copy.

    Raises:
        InvalidInput: the file is gone, or changed since the scan.
    """
    from vault.export.writer import read_target
    from vault.services.scrub import plan_scrub

    old, _mode = read_target(path)
    if old is None:
        raise InvalidInput(f"{path} is gone; nothing was scrubbed")
    wanted = _check_lines(path, old, lines, holds)
    scrub = plan_scrub(path, wanted)
    if scrub.old != old:
        raise InvalidInput(f"{path} changed while it was read; scan again; nothing was scrubbed")
    return scrub


def env_var(name: str) -> str:
    """The variable a rewritten entry reads the credential from (``acme`` -> ``ACME_TOKEN``)."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "TOKEN"
    return ("T_" + base if base[0].isdigit() else base) + "_TOKEN"


def mcp_spec(path: Path, target: str, name: str, holds: Holds) -> dict[str, Any]:
    """The export spec (reference mode) that rewrites the server entry of MCP config ``path``
    (JSON, or Codex's TOML) holding the credential's secret: an ``env`` variable (a stdio server,
    then run under ``tokendeck exec``) or a header (a remote one, then ``${VAR}`` or the tool's form).

    Raises:
        InvalidInput: no entry's env or header holds it (the copy is elsewhere in the file).
    """
    from vault.export.spec import MCP_FORMATS

    fmt = MCP_FORMATS[target]
    servers = _servers(path, target).get(fmt.top)
    headers_key = "http_headers" if target == "codex" else "headers"
    for server, entry in servers.items() if isinstance(servers, dict) else ():
        if not isinstance(entry, dict):
            continue
        env = entry.get("env")
        for var, value in env.items() if isinstance(env, dict) else ():
            if isinstance(value, str) and holds(value):
                return {"target": target, "name": name, "server": server, "var": var}
        headers = entry.get(headers_key)
        url = next((entry[k] for k in fmt.url_keys if isinstance(entry.get(k), str)), None)
        for header, value in headers.items() if isinstance(headers, dict) else ():
            if isinstance(value, str) and holds(value) and url:
                spec = {"target": target, "name": name, "server": server, "var": env_var(name)}
                return spec | {"url": url, "header": header}
    raise InvalidInput(f"no server entry's env or header in {path} holds it; edit the file yourself")


def _servers(path: Path, target: str) -> dict[str, Any]:
    """An MCP config's top level (empty when it cannot be read or parsed: then no entry holds it)."""
    from vault.core.outside import Unparsable, load_json, load_toml

    try:
        text = path.read_text(encoding="utf-8")
        data = load_toml(text) if target == "codex" else load_json(text)
    except (OSError, ValueError, Unparsable):  # ValueError: not UTF-8, not TOML
        return {}
    return data if isinstance(data, dict) else {}


def write_unchanged(plan: LineRemoval | Any) -> None:
    """Write a planned removal or scrub if its file is still what was planned (checked again at
    the rename by ``replace_atomic``).

    Raises:
        InvalidInput: it changed since (a shell appended to it): left untouched.
        VaultError: it cannot be written.
    """
    from vault.export.writer import read_target

    now, _mode = read_target(plan.path)
    if now != plan.old:
        raise InvalidInput(
            f"{plan.path} changed since the scan (written to meanwhile); scan again; nothing was changed"
        )
    plan.write()
