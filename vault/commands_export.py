"""``tokendeck export`` / ``unexport``: write a credential into a tool's config.

``export TARGET --name CRED ...`` prints a diff preview (secrets as ``***``) on
stderr, then writes atomically; ``--dry-run`` only previews.  ``shell`` prints
``export`` lines on stdout.  ``--plaintext`` writes the token itself and records
a binding that every refresh re-writes; into a file git tracks (or does not
ignore) it is refused unless ``--force``.  ``export --list`` shows the bindings;
``unexport TARGET --file PATH --name CRED`` forgets one (the file is left as is).

MCP targets edit one server entry (``--server``).  A stdio server (``--command``
for a new one) gets the token as ``--var`` in its environment: in reference mode
it runs under ``tokendeck exec``.  A remote server (``--url``, or an entry that
already has a URL) gets it in an HTTP header (``--header``, default
``Authorization: Bearer ...``): in reference mode the header refers to ``--var``
in the tool's own syntax (``${VAR}``, ``${env:VAR}``, Codex's
``bearer_token_env_var``), so the tool must be started with that variable set
(the notice says how), or to a VS Code input.  Claude Desktop and Zed have no
remote servers in their files: refused.

Exit codes: 2 bad options (a URL that is not https or loopback http, a bad
header name, ``--url`` with ``--command``, a remote server for Claude Desktop or
Zed), a target file that is not valid JSON/TOML/UTF-8, a server entry of another
kind, a symlink, a missing directory, a value a .env or a header cannot hold, a
git-tracked file without --force; 1 a read-only target or a concurrent writer;
4 needs sign-in; 5 no such credential.  On any failure the target file is
untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from vault.errors import InvalidInput
from vault.export.targets import Spec

DRY_RUN_NOTE = "dry run: nothing was written"


def _path(target: str, given: str | None) -> Path:
    from vault.export.targets import DEFAULT_FILES

    return Path(os.path.abspath(os.path.expanduser(given or DEFAULT_FILES[target])))


def _spec(args: argparse.Namespace) -> Spec:
    from vault.export.targets import MCP_TARGETS, check_spec

    command = list(args.argv or [])
    if command and args.target not in MCP_TARGETS:
        raise InvalidInput(f"{args.target} takes no --command")
    spec = Spec(
        target=args.target,
        name=args.name,
        var=args.var,
        server=args.server,
        host=args.host,
        login=args.login,
        command=tuple(command),
        plaintext=args.plaintext,
        url=args.url,
        header=args.header,
    )
    check_spec(spec)
    return spec


def cmd_export(args: argparse.Namespace) -> int:
    from vault.commands import _open, notice
    from vault.export import plan
    from vault.export.targets import FILE_TARGETS
    from vault.export.writer import git_refusal

    if args.list:
        return _list(args)
    if not args.target:
        raise InvalidInput("export needs a TARGET (see tokendeck export --help) or --list")
    if not args.name:
        raise InvalidInput("export needs --name CRED (the credential to export)")
    spec = _spec(args)
    if spec.target == "shell" and args.file:
        raise InvalidInput("shell prints to stdout; drop --file")
    path = _path(spec.target, args.file) if spec.target in FILE_TARGETS else None
    with _open() as vault:
        token = vault.token(spec.name)  # exists and is usable (refreshed if due), in either mode
        if path is None:
            sys.stdout.write(_shell(spec, token))
            return 0
        change = plan(spec, path, token if spec.plaintext else None)
        if spec.plaintext and not args.force:
            refusal = git_refusal(path)
            if refusal:
                raise InvalidInput(refusal)
        sys.stderr.write(change.diff or f"{path}: already up to date\n")
        if args.dry_run:
            notice(DRY_RUN_NOTE)
            return 0
        if change.new != change.old:
            change.write()
        spec = change.spec  # resolved: remote if the entry has a URL
        if spec.plaintext:
            where = {"target": spec.target, "path": str(path), "key": spec.key}
            vault.add_export_binding(spec.name, **where, options=spec.options())
            notice(f"wrote {spec.name}'s token to {path}; every refresh re-writes it (tokendeck unexport to stop)")
        else:
            vault.record("export", "ok", credential=spec.name, detail=f"target={spec.target} path={path} reference")
            notice(f"wrote a reference to {spec.name} in {path} (no secret in the file)")
            if spec.url is not None:
                from vault.export.mcp import reference_note

                notice(reference_note(spec))
    return 0


def _shell(spec: Spec, token: str) -> str:
    from vault.export.targets import render_shell

    return render_shell(spec, token if spec.plaintext else None)


def _list(args: argparse.Namespace) -> int:
    from vault.commands import _open

    with _open() as vault:
        bindings = vault.export_bindings(args.name)
    if args.json:
        rows = [
            {"name": b.credential, "target": b.target, "path": b.path, "key": b.key, "created_at": b.created_at}
            for b in bindings
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for b in bindings:
        print(f"{b.credential}\t{b.target}\t{b.path}\t{b.key}")
    return 0


def cmd_unexport(args: argparse.Namespace) -> int:
    from vault.commands import _open, notice
    from vault.export.targets import FILE_TARGETS

    if args.target not in FILE_TARGETS:
        raise InvalidInput(f"unexport TARGET: one of {', '.join(FILE_TARGETS)}")
    path = _path(args.target, args.file)
    with _open() as vault:
        vault.get(args.name)
        removed = vault.remove_export_bindings(args.name, target=args.target, path=str(path))
    if not removed:
        from vault.errors import NotFound

        raise NotFound(f"no {args.target} binding of {args.name} at {path} (see tokendeck export --list)")
    notice(f"{path} is no longer re-written for {args.name}; the token already there stays until you remove it")
    return 0
