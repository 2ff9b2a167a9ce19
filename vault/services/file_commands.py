"""The vault-changing commands that read or write a file of the user's: ``export``,
``unexport``, ``backup`` and ``import`` as requests (see :mod:`vault.services.commands`).

Paths come absolute (the front end resolves what the user typed against its own working
directory and ``~``), so the agent, whose working directory is another, writes where the
user meant; the front end passes the path as typed too (``shown``) where a message quotes
it.  An import's source is read by the front end (its errors come before anything is
unlocked) and what it found travels in the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vault.core.masking import echo
from vault.errors import InvalidInput, NotFound, VaultError, printable
from vault.services.protocol import Report
from vault.services.reports import said
from vault.services.tokens import Vault

DRY_RUN_NOTE = "dry run: nothing was written"


def _spec(spec: dict[str, Any]) -> Any:
    from vault.export.spec import Spec
    from vault.export.targets import check_spec

    fields = {**spec, "command": tuple(spec.get("command") or ())}
    try:
        made = Spec(**fields)
    except TypeError:
        raise InvalidInput("a malformed export request; nothing was written") from None
    check_spec(made)
    return made


def export(vault: Vault, *, spec: dict[str, Any], path: str, force: bool = False, dry_run: bool = False) -> Report:
    """``tokendeck export TARGET`` into a file: the diff preview, then the write (not with ``dry_run``)."""
    from vault.services.exports import plan_export, write_export

    change = plan_export(vault, _spec(spec), Path(path), force=force)
    preview = change.diff or f"{path}: already up to date\n"
    if dry_run:
        return Report(err=preview + said(*filter(None, [change.freshness]), DRY_RUN_NOTE))
    try:
        notices = write_export(vault, change)
    except VaultError as exc:  # the preview was shown before the write failed, as it always was
        return Report(err=f"{preview}tokendeck: {exc.message}\n", code=exc.exit_code)
    return Report(err=preview + said(*notices))


def export_shell(vault: Vault, *, spec: dict[str, Any]) -> Report:
    """``tokendeck export shell``: the line on stdout."""
    from vault.services.exports import shell_line

    line = shell_line(vault, _spec(spec))
    return Report(line.text + "\n", err=said(line.freshness) if line.freshness else "")


def export_list(vault: Vault, *, name: str | None = None, as_json: bool = False, human: bool = False) -> Report:
    """``tokendeck export --list``: the plaintext export bindings."""
    from vault.core.timefmt import iso

    bindings = vault.records.links.export_bindings(name)
    if as_json:
        rows = [
            {"name": b.credential, "target": b.target, "path": b.path, "key": b.key, "created_at": iso(b.created_at)}
            for b in bindings
        ]
        return Report(json.dumps(rows, indent=2) + "\n")
    if human:  # a person: aligned columns under a header
        from vault.services.listing import table

        if not bindings:
            return Report(err=said("no plaintext exports (tokendeck export TARGET --plaintext makes one)"))
        shown = [[b.credential, b.target, b.path, b.key] for b in bindings]
        return Report(table([["NAME", "TARGET", "FILE", "KEY"], *shown]))
    return Report("".join(f"{b.credential}\t{b.target}\t{b.path}\t{b.key}\n" for b in bindings))


def unexport(vault: Vault, *, target: str, name: str, path: str) -> Report:
    """``tokendeck unexport``: forget a binding (the file keeps what it holds)."""
    from vault.export.writer import remove_stale_temp_files

    vault.get(name)
    removed = vault.records.links.remove_export_bindings(name, target=target, path=path)
    where = Path(path)
    if where.parent.is_dir():
        remove_stale_temp_files(where)  # a killed write's leftover holds the token too
    if not removed:
        raise NotFound(f"no {target} binding of {echo(name, quoted=False)} at {path} (see tokendeck export --list)")
    return Report(
        err=said(f"{path} is no longer re-written for {name}; the token already there stays until you remove it")
    )


def backup(vault: Vault, *, path: str, shown: str, passphrase: str | None = None, force: bool = False) -> Report:
    """``tokendeck backup FILE`` (``shown``: FILE as the user typed it)."""
    from vault.services.backups import backup as back_up

    notices: list[str] = []
    manifest = back_up(vault, Path(path), passphrase=passphrase, force=force, notice=notices.append)
    mode = manifest.slot.mode
    how = "a passphrase" if mode == "passphrase" else "this vault's key in the OS keyring (it opens only here)"
    return Report(err=said(*notices, f"backed up {manifest.holds} to {shown}, encrypted under {how}"))


def _found(found: list[dict[str, Any]]) -> list[Any]:
    """What an import's reader found, as the request carries it."""
    from vault.core.secret import Secret
    from vault.services.imports import Incoming, Skipped

    items: list[Any] = []
    for each in found:
        try:
            if "why" in each:
                items.append(Skipped(str(each["origin"]), str(each["why"])))
            else:
                items.append(Incoming(**{**each, "token": Secret(str(each["token"]))}))
        except (TypeError, KeyError):
            raise InvalidInput("a malformed import request; nothing was imported") from None
    return items


def found_fields(found: list[Any]) -> list[dict[str, Any]]:
    """:func:`_found`'s inverse: a reader's findings for the request (tokens included)."""
    import dataclasses

    from vault.services.imports import Incoming

    fields: list[dict[str, Any]] = []
    for item in found:
        record = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        if isinstance(item, Incoming):
            record["token"] = item.token.reveal()
            record["extras"] = dict(item.extras)
        fields.append(record)
    return fields


def import_plan(vault: Vault, *, source: str, found: list[dict[str, Any]], replace: bool = False) -> Report:
    """An import's plan, printed (``data``: how many it writes and keeps, and whether the
    source holds tokens in plaintext)."""
    from vault.services.imports import plan

    planned = plan(vault, source, _found(found), replace=replace)
    lines = [printable(f"from {source}:"), *(planned.lines() or ["  (nothing)"])]
    data = {"writes": len(planned.writes), "keep": len(planned.keep), "plaintext": planned.plaintext}
    return Report(err="".join(line + "\n" for line in lines), data=json.dumps(data))


def import_all(vault: Vault, *, source: str, found: list[dict[str, Any]], replace: bool = False) -> Report:
    """Import what the plan writes, all or nothing (planned again: the vault may have changed since)."""
    from vault.services.imports import apply, plan

    planned = plan(vault, source, _found(found), replace=replace)
    if not planned.writes:
        raise NotFound(f"nothing to import from {source}; the vault was not changed")
    done = apply(vault, planned)
    return Report(err=said(f"imported {done} credential{'s' if done != 1 else ''} from {source}"))


COMMANDS: dict[str, Callable[..., Report]] = {
    "export": export,
    "export-shell": export_shell,
    "export-list": export_list,
    "unexport": unexport,
    "backup": backup,
    "import-plan": import_plan,
    "import": import_all,
}
