"""The commands that change the vault, as requests: the one place their vault work is done,
whether the running agent does it (:mod:`vault.agent.ops`) or the command's own process
(:mod:`vault.cli.route`).  So output, exit code and audit entries are the same either way.

A request is an op name and one JSON object of the command's checked input (what the user
typed, a secret read from stdin or a prompt, an absolute path resolved where the user is);
:func:`run` checks it against the command function's signature, field by field, and calls
it.  Each function returns a :class:`~vault.services.protocol.Report`: what to print, the
exit code, and ``data`` for a front end that asks the user something before going on
(``rm``'s question needs the credential's provider).  What needs the user's terminal or
browser (prompts, confirmations, signing in) stays in the front end; only what must be
stored comes here.

Functions are registered by name in :data:`COMMANDS` (those here, and
:mod:`vault.services.file_commands`'s for the commands that write files).
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from typing import Any

from vault.core.masking import check_new_name, echo
from vault.errors import AlreadyExists, InvalidInput, NotFound
from vault.services.protocol import Report
from vault.services.reports import said
from vault.services.tokens import Vault

Command = Callable[..., Report]


def ready(vault: Vault) -> Report:
    """Nothing: asked first by a command that must reach the vault before it asks the user
    something else (when the vault is opened here, its passphrase is asked first)."""
    return Report()


def add_check(vault: Vault, *, name: str, replace: bool = False) -> Report:
    """Before a token is asked for: the name is free (or ``replace``)."""
    if vault.records.exists(name) and not replace:
        raise AlreadyExists(f"a credential named {echo(name)} already exists (use --replace to overwrite it)")
    return Report()


def add(
    vault: Vault,
    *,
    name: str,
    provider: str,
    token: str,
    now: float,
    account: str | None = None,
    expires: str | None = None,
    server_url: str | None = None,
    username: str | None = None,
    replace: bool = False,
) -> Report:
    """``tokendeck add``: store a static token (``now``: when the user asked, for ``--expires 90d``)."""
    from vault.services import static_tokens

    checked = static_tokens.check(
        name, provider, now=now, account=account, expires=expires, server_url=server_url, username=username,
        replacing=replace,
    )  # fmt: skip
    add_check(vault, name=name, replace=replace)
    static_tokens.add(vault.records, checked, token, replace=replace)
    notice = checked.notice()
    return Report(err=said(f"stored {name}", *([notice] if notice is not None else [])))


def describe(vault: Vault, *, name: str) -> Report:
    """A credential's provider and kind (``data``), for a question put before changing it."""
    credential = vault.get(name)
    return Report(data=json.dumps({"provider": credential.provider, "kind": credential.kind}))


def rm(vault: Vault, *, name: str) -> Report:
    """``tokendeck rm``."""
    credential = vault.get(name)
    vault.remove(name)
    note = " (the token was not revoked at the provider)" if credential.kind == "oauth" else ""
    return Report(err=said(f"deleted {name}{note}"))


def rename(vault: Vault, *, old: str, new: str) -> Report:
    """``tokendeck rename``."""
    check_new_name(new)
    vault.rename(old, new)
    return Report(err=said(f"renamed {old} to {new}"))


def revoke_plan(vault: Vault, *, name: str) -> Report:
    """What ``revoke`` will do (``data``: provider, by_api, reason), for its question."""
    from vault.services.revoke import revocation_plan

    credential = vault.get(name)
    plan = revocation_plan(vault, credential)
    return Report(data=json.dumps({"provider": credential.provider, "by_api": plan.by_api, "reason": plan.why}))


def revoke(vault: Vault, *, name: str, local: bool = False) -> Report:
    """``tokendeck revoke`` (at the provider, then erase; ``local``: erase where it cannot)."""
    from vault.services.revoke import revoke as revoke_now

    credential = vault.get(name)
    result = revoke_now(vault, name, erase_without_provider=local)
    if result.revoked_at_provider:
        return Report(err=said(f"revoked {name} at {credential.provider}; its tokens are erased from the vault"))
    where = f" at {result.manual_url}" if result.manual_url else " on the provider's site"
    if result.erased:
        why = f" ({result.reason})" if result.reason else ""
        erased = f"erased {name}'s tokens locally, not at the provider{why}: revoke it{where}"
        return Report(err=said(erased))
    refused = f"not revoked: {result.reason}; revoke it{where}, and pass --local to erase it here"
    return Report(err=said(refused), code=1)


def provider_add(
    vault: Vault,
    *,
    name: str,
    base: str,
    client_id: str,
    params: dict[str, str],
    overrides: dict[str, Any],
    secret: str | None = None,
) -> Report:
    """``tokendeck provider add``: store a registration the front end prepared (its endpoints
    discovered there), with its secret; checked again here before it is stored."""
    from vault.core.model import ClientRegistration
    from vault.core.providers import resolve
    from vault.core.secret import Secret
    from vault.services.registration import Prepared, store

    registration = ClientRegistration(provider=name, base=base, client_id=client_id, params=params, overrides=overrides)
    provider = resolve(registration)
    store(vault.records, Prepared(registration, provider), Secret(secret) if secret is not None else None)
    return Report(
        err=said(
            f"stored your {provider.name} app as {name}",
            f"the redirect URI to register with {provider.name}: {provider.redirect_to_register().describe()}",
            f"sign in with: tokendeck login {name}",
        )
    )


def provider_rm(vault: Vault, *, name: str) -> Report:
    """``tokendeck provider rm``."""
    vault.records.remove_client(name)
    return Report(err=said(f"removed the registration for {name} (credentials signed in with it are kept)"))


def git_map(vault: Vault, *, host: str, name: str, username: str | None = None) -> Report:
    """``tokendeck git-credential map`` (what it tells the user is the front end's: it needs no vault)."""
    vault.records.links.map_git_host(host, name, username)
    return Report()


def git_unmap(vault: Vault, *, host: str) -> Report:
    """``tokendeck git-credential unmap``."""
    if not vault.records.links.unmap_git_host(host):
        raise NotFound(f"{echo(host, quoted=False)} is not mapped (see tokendeck git-credential list)")
    return Report()


def git_list(vault: Vault) -> Report:
    """``tokendeck git-credential list``."""
    return Report(
        "".join(
            f"{host}\t{name}\t{username or '(default)'}\n" for host, name, username in vault.records.links.git_hosts()
        )
    )


def confirm(vault: Vault, *, name: str, on: bool, once: bool = False) -> Report:
    """``tokendeck confirm NAME on|once|off``."""
    from vault.services.consent_setting import CONFIRM_EXTRA, EACH, ONCE

    vault.get(name)  # NotFound, said as everywhere
    setting = ONCE if once else EACH if on else None
    word = "once" if once else "on" if on else "off"
    vault.records.extras.set(name, CONFIRM_EXTRA, setting, action="confirm", detail=word)
    stop = f"(tokendeck confirm {name} off stops it)"
    if once:
        return Report(err=said(f"{name} now asks at its first use in each session, and at each use outside one {stop}"))
    if on:
        return Report(err=said(f"{name} now asks before each use, whoever reads it {stop}"))
    return Report(err=said(f"{name} no longer asks before use"))


def _table() -> dict[str, Command]:
    from vault.services import file_commands, leak_fix_requests, scan_requests, signin_store, verify

    return {
        "ready": ready,
        "add-check": add_check,
        "add": add,
        "describe": describe,
        "rm": rm,
        "rename": rename,
        "revoke-plan": revoke_plan,
        "revoke": revoke,
        "provider-add": provider_add,
        "provider-rm": provider_rm,
        "git-map-host": git_map,
        "git-unmap": git_unmap,
        "git-list": git_list,
        "confirm": confirm,
        **file_commands.COMMANDS,
        **signin_store.COMMANDS,
        **verify.COMMANDS,
        **scan_requests.COMMANDS,
        **leak_fix_requests.COMMANDS,
    }


def run(vault: Vault, op: str, payload: str) -> Report:
    """Do the request ``op`` with its JSON ``payload`` on ``vault``.

    Raises:
        InvalidInput: no such request, or a payload that is not the request's fields
            (nothing was done); and whatever the command raises.
    """
    from vault.core.outside import Unparsable, load_json

    function = _table().get(op)
    if function is None:
        raise InvalidInput(f"the agent takes no request {op!r}; nothing was done")
    try:
        request = load_json(payload)
    except Unparsable:
        request = None
    if not isinstance(request, dict):
        raise InvalidInput(f"a malformed {op} request (not a JSON object); nothing was done")
    _check(op, function, request)
    return function(vault, **request)


def _check(op: str, function: Command, request: dict[str, Any]) -> None:
    """Every field is one of ``function``'s keyword parameters, of its type; none is missing."""
    import inspect

    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters.values())[1:]
    known = {p.name for p in parameters}
    for key, value in request.items():
        if key not in known or not _fits(value, hints[key]):
            raise InvalidInput(f"a malformed {op} request (field {str(key)[:40]!r}); nothing was done")
    for p in parameters:
        if p.default is inspect.Parameter.empty and p.name not in request:
            raise InvalidInput(f"a malformed {op} request (no {p.name}); nothing was done")


def _fits(value: object, hint: Any) -> bool:
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, each) for each in typing.get_args(hint))
    if origin is list:
        (inner,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(each, inner) for each in value)
    if origin is dict:
        key, inner = typing.get_args(hint)
        return isinstance(value, dict) and all(_fits(k, key) and _fits(v, inner) for k, v in value.items())
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)
