"""What each ``tokendeck`` subcommand does.  Parsing lives in :mod:`vault.cli`.

Every handler takes the parsed arguments and returns an exit code; expected
failures are raised as :class:`~vault.errors.VaultError` for the CLI to print.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from vault.core.keys import Key
from vault.core.model import Credential, check_name
from vault.core.repository import MAX_TOKEN_BYTES, Vault
from vault.core.timefmt import iso, parse_when, relative
from vault.errors import AlreadyExists, InvalidInput, NoVault
from vault.services.opening import ask_new_passphrase, change_to_keyring, change_to_passphrase, init_vault, open_vault

NEW_PASSPHRASE_ENV = "TOKENDECK_NEW_PASSPHRASE"


# ------------------------------------------------------------------ terminal


def ask_hidden(prompt: str) -> str:
    """Read a line without echo from the terminal."""
    import getpass

    return getpass.getpass(prompt)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _prompt() -> Callable[[str], str] | None:
    return ask_hidden if _interactive() else None


def notice(message: str) -> None:
    print(f"tokendeck: {message}", file=sys.stderr)


def _open() -> Vault:
    return open_vault(prompt=_prompt())


def read_secret(label: str) -> str:
    """A secret from a hidden prompt on a terminal, or from stdin when piped.

    One trailing newline (and surrounding whitespace) is dropped.

    Raises:
        InvalidInput: stdin is not UTF-8, or too large.
    """
    if _interactive():
        return ask_hidden(f"{label}: ").strip()
    cap = MAX_TOKEN_BYTES * 2  # room for surrounding whitespace
    data = sys.stdin.buffer.read(cap + 1)
    if len(data) > cap:
        raise InvalidInput(f"standard input is over the limit of {MAX_TOKEN_BYTES} bytes; nothing was stored")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("standard input is not UTF-8 text; nothing was stored") from None
    return text.strip()


def _human_times() -> bool:
    return sys.stdout.isatty()


def _when(ts: float | None, now: float, human: bool) -> str:
    if ts is None:
        return "no expiry"
    return relative(ts, now) if human else iso(ts) or ""


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n" for row in rows
    )


def _check_label(value: str | None, what: str) -> str | None:
    if value is not None and (not value or len(value) > 200 or not value.isprintable()):
        raise InvalidInput(f"{what} must be 1-200 printable characters")
    return value


# ------------------------------------------------------------------ commands


def cmd_init(args: argparse.Namespace) -> int:
    with init_vault(mode=args.mode, prompt=_prompt(), notice=notice) as vault:
        how = "a key in the OS keyring" if vault.mode == "keyring" else "your passphrase"
        notice(f"created a vault at {vault.paths.home}, unlocked by {how}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    account = _check_label(args.account, "--account")
    extras = {
        k: v
        for k, v in (("server_url", _check_label(args.server_url, "--server-url")), ("username", args.username))
        if v is not None
    }
    _check_label(args.username, "--username")
    with _open() as vault:
        expires_at = None if args.expires is None else parse_when(args.expires, vault.clock.now())
        # Check everything before reading the secret, so nobody pastes a token for nothing.
        check_name(args.name)
        check_name(args.provider, "provider")
        if vault.exists(args.name) and not args.replace:
            raise AlreadyExists(f"a credential named {args.name!r} already exists (use --replace to overwrite it)")
        token = read_secret(f"Token for {args.name}")
        vault.add_static(
            args.name,
            provider=args.provider,
            token=token,
            account=account,
            expires_at=expires_at,
            extras=extras,
            replace=args.replace,
        )
        notice(f"stored {args.name}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _open() as vault:
        out, err = list_output(vault, as_json=args.json, human=_human_times())
    sys.stderr.write(err)
    sys.stdout.write(out)
    return 0


def list_output(vault: Vault, *, as_json: bool, human: bool) -> tuple[str, str]:
    """``tokendeck list``'s stdout and stderr (the agent renders it with this too)."""
    credentials = vault.credentials()
    now = vault.clock.now()
    if as_json:
        return json.dumps([c.public(now) for c in credentials], indent=2, ensure_ascii=False) + "\n", ""
    if not credentials:
        return "", "tokendeck: no credentials yet (add one with: tokendeck add NAME --provider P)\n"
    rows = [["NAME", "PROVIDER", "ACCOUNT", "STATUS", "EXPIRES"]]
    rows += [
        [c.name, c.provider, c.account or "-", c.status_at(now), _when(c.expires_at, now, human)] for c in credentials
    ]
    return _table(rows), ""


def cmd_show(args: argparse.Namespace) -> int:
    with _open() as vault:
        credential = vault.get(args.name)
        if credential.kind == "oauth" and credential.stored_status == "active":
            credential = _refreshed_if_due(vault, args.name) or credential
        now = vault.clock.now()
    facts = credential.public(now)
    if args.json:
        _print_json(facts)
        return 0
    for key, value in facts.items():
        if key.endswith("_at") and value is not None:
            value = _when(getattr(credential, key), now, human=True) if _human_times() else value
        elif isinstance(value, list):
            value = " ".join(value) or "-"
        elif isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items()) or "-"
        print(f"{key.replace('_', ' ')}: {'-' if value is None else value}")
    return 0


def _refreshed_if_due(vault: Vault, name: str) -> Credential | None:
    """Refresh on read for ``show``: a failure is recorded on the credential and shown, not raised."""
    from vault.errors import VaultError
    from vault.services.tokens import fresh  # the network layer, loaded only for OAuth credentials

    try:
        return fresh(vault, name, skew=vault.refresh_skew)
    except VaultError:
        return vault.get(name)


def cmd_token(args: argparse.Namespace) -> int:
    with _open() as vault:
        token = vault.token(args.name)
    sys.stdout.write(token + "\n")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    with _open() as vault:
        credential = vault.get(args.name)
        if not args.yes:
            if not _interactive():
                raise InvalidInput(f"not deleting {args.name} without confirmation: pass --yes")
            answer = input(f"Delete {args.name} ({credential.provider}) from the vault? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                notice("nothing deleted")
                return 1
        vault.remove(args.name)
    note = " (the token was not revoked at the provider)" if credential.kind == "oauth" else ""
    notice(f"deleted {args.name}{note}")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    with _open() as vault:
        vault.rename(args.old, args.new)
    notice(f"renamed {args.old} to {args.new}")
    return 0


def _new_passphrase() -> str:
    if NEW_PASSPHRASE_ENV in os.environ:
        return Key.passphrase(os.environ[NEW_PASSPHRASE_ENV]).secret.reveal()
    if _interactive():
        return ask_new_passphrase(ask_hidden).secret.reveal()
    line = sys.stdin.buffer.readline(4096)
    try:
        return Key.passphrase(line.decode("utf-8").rstrip("\r\n")).secret.reveal()
    except UnicodeDecodeError:
        raise InvalidInput("standard input is not UTF-8 text; nothing was changed") from None


def cmd_passphrase(args: argparse.Namespace) -> int:
    with _open() as vault:
        if args.keyring:
            change_to_keyring(vault)
            notice("the vault is now unlocked by a new key in the OS keyring")
        else:
            change_to_passphrase(vault, _new_passphrase())
            notice("the vault is now unlocked by the new passphrase")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise InvalidInput("--limit must be at least 1")
    with _open() as vault:
        events = vault.audit_log(credential=args.name, limit=args.limit)
    if args.json:
        _print_json([e.public() for e in events])
        return 0
    for e in events:
        print("  ".join([iso(e.at) or "", e.credential or "-", e.action, e.outcome, e.detail or ""]).rstrip())
    return 0


def check_tui_can_start() -> None:
    """The TUI needs a terminal; without one, say what to do instead.

    Raises:
        NoVault: there is no vault yet (create one with ``tokendeck init``).
        InvalidInput: stdin is not a terminal.
    """
    if not _interactive():
        from vault.core.paths import resolve_home

        if not resolve_home().db.exists():
            raise NoVault(f"no vault at {resolve_home().home} (create one with: tokendeck init)")
        raise InvalidInput("the TUI needs a terminal; see tokendeck --help for the commands")
