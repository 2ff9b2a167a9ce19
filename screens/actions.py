"""Actions on one credential, shared by the list and the detail screen.

Each blocking call runs in a thread worker on the app (so it outlives the screen
that started it); expected errors reach the app's worker router, which shows
them.  Destructive actions ask first with a :class:`ConfirmDialog` and act only
on yes.  What an action changed is told to the screens as a message
(:mod:`screens.messages`), and each screen decides what that means for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from screens.app import VaultApp
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.prompt import PromptDialog
from screens.messages import CredentialDeleted, CredentialRenamed, VaultChanged
from vault.core.masking import check_new_name
from vault.errors import VaultError

if TYPE_CHECKING:
    from vault import Vault
    from vault.core.model import Credential
    from vault.services.undo import Undo


USES_SAID = 3
"""How many uses of a credential the revoke question names (the detail screen shows them all)."""


def _changed(app: VaultApp, highlight: str | None = None) -> None:
    app.screen.post_message(VaultChanged(highlight))


def _while_busy(app: VaultApp, name: str, doing: str, work: Callable[[], None]) -> Callable[[], None]:
    """``work`` for a thread worker, with ``name`` shown as ``doing`` until it ends, however it ends."""

    def run() -> None:
        try:
            work()
        finally:
            with contextlib.suppress(RuntimeError):  # the app may have stopped meanwhile
                app.call_from_thread(app.set_busy, name, None)

    app.set_busy(name, doing)
    return run


def sign_in_again(app: VaultApp, credential: Credential) -> None:
    """Sign in to ``credential``'s provider with its stored registration, replacing its tokens
    in place: its name, its export bindings and its audit trail stay."""
    from screens.signin import SignInScreen

    app.push_screen(SignInScreen(again=credential.name, provider=credential.provider))


async def confirm_refresh(app: VaultApp, name: str) -> None:
    """Refresh ``name`` now (the ``r`` key); one a restore holds (:mod:`vault.core.restored`) only
    after a question that names the risk, as ``tokendeck refresh NAME`` is the user's word."""
    try:
        credential = await app.read(lambda vault: vault.get(name), name=f"read {name}")
    except VaultError as exc:
        app.report(exc)
        return
    if credential.kind == "static":  # nothing wrong, nothing to do: said calmly, not as an error
        app.notify(f"{name} is a static token: there is nothing to refresh; t gives it a new value.", markup=False)
        return
    if not credential.held_after_restore:
        refresh(app, name)
        return
    from vault.services.refreshing import held_reason

    body = (
        f"{name} was {held_reason(credential)}. Refresh it only if this copy is the one in use: if the token "
        "was used since the backup (another machine, the vault this restore replaced), the provider may revoke "
        "the whole grant, that copy too. Otherwise sign in again."
    )
    app.push_screen(
        ConfirmDialog(f"Refresh {name}, restored from a backup?", body, yes="Refresh"),
        lambda yes: refresh(app, name, confirmed=True) if yes else None,
    )


def refresh(app: VaultApp, name: str, *, confirmed: bool = False) -> None:
    def work() -> None:
        from vault.services.refreshing import refresh as do_refresh

        credential = do_refresh(app.unlocked_vault, name, force=True, confirmed=confirmed)
        left = app.clock.now()
        from vault.core.timefmt import relative

        when = relative(credential.expires_at, left) if credential.expires_at else "no expiry"
        app.call_from_thread(app.notify, f"{name} refreshed; expires {when}", title="Refreshed", markup=False)
        app.call_from_thread(_changed, app, name)

    app.run_worker(
        _while_busy(app, name, "refreshing", work), thread=True, group="refresh", exit_on_error=False,
        name=f"refresh {name}",
    )  # fmt: skip


def verify(app: VaultApp, name: str) -> None:
    """Ask ``name``'s provider whether its token still works (``tokendeck verify NAME``): the
    answer in a notification, the row's status updated (a refused token: revoked)."""

    def work() -> None:
        from vault.services.verify import verify as check

        (found,) = check(app.unlocked_vault, [name])
        severity = {"refused": "error", "could_not_check": "warning"}.get(found.outcome, "information")
        app.call_from_thread(
            app.notify, f"{name}: {found.detail}", title=found.words.capitalize(),
            severity=severity, markup=False,
        )  # fmt: skip
        app.call_from_thread(_changed, app, name)

    app.run_worker(
        _while_busy(app, name, "verifying", work), thread=True, group="refresh", exit_on_error=False,
        name=f"verify {name}",
    )  # fmt: skip


def refresh_due(app: VaultApp) -> None:
    def work() -> None:
        from vault.services.refresher import BackgroundRefresher
        from vault.settings import REFRESH_AHEAD

        refresher = BackgroundRefresher(app.unlocked_vault, window=REFRESH_AHEAD)  # "expiring within 5 minutes"
        events = [e for e in refresher.run_once() if e.kind != "expiring"]
        done = sum(e.kind == "refreshed" for e in events)
        problems = [f"{e.credential}: {e.kind.replace('_', ' ')}" for e in events if e.kind != "refreshed"]
        message = f"{done} refreshed" + (f"; {', '.join(problems)}" if problems else "") if events else "nothing is due"
        severity = "warning" if problems else "information"
        app.call_from_thread(app.notify, message, title="Refresh due", severity=severity, markup=False)
        app.call_from_thread(_changed, app)

    app.run_worker(work, thread=True, group="refresh", exit_on_error=False, exclusive=True, name="refresh due")


async def revoke_text(app: VaultApp, name: str) -> tuple[str, bool]:
    """What revoking will and will not do, and whether the provider can revoke by API (read in a worker)."""
    from vault.services.revoke import RevocationPlan, revocation_plan
    from vault.services.usage import used_by

    def read(vault: Vault) -> tuple[Credential, RevocationPlan, list[str]]:
        credential = vault.get(name)
        uses = used_by(vault.records, credential, now=vault.clock.now(), last_read=False)
        return credential, revocation_plan(vault, credential), uses

    credential, plan, uses = await app.read(read, name=f"plan revoking {name}")
    more = f", and {len(uses) - USES_SAID} more" if len(uses) > USES_SAID else ""
    used = f" Used by {', '.join(uses[:USES_SAID])}{more}." if uses else ""
    if plan.by_api:
        return (
            f"tokendeck will ask {credential.provider} to revoke {name}'s tokens "
            f"(the refresh token first), then erase them here. Programs using them will stop working.{used}",
            True,
        )
    where = plan.manual_url
    return (
        f"tokendeck cannot revoke {name} at the provider: {plan.why}. Its tokens stay valid there until you "
        f"revoke them{' at ' + where if where else ' on its site'}; tokendeck will only erase them here.{used}",
        False,
    )


async def confirm_revoke(app: VaultApp, name: str) -> None:
    try:
        body, _ = await revoke_text(app, name)
    except VaultError as exc:
        app.report(exc)
        return
    app.push_screen(ConfirmDialog(f"Revoke {name}?", body, yes="Revoke"), partial(_revoke_answered, app, name))


def _revoke_answered(app: VaultApp, name: str, yes: bool | None) -> None:
    if not yes:
        return

    def work() -> None:
        from vault.services.revoke import revoke

        result = revoke(app.unlocked_vault, name, erase_without_provider=True)
        if result.revoked_at_provider:
            message = f"{name} was revoked and erased."
        else:
            where = f" at {result.manual_url}" if result.manual_url else ""
            message = f"{name} was erased here; revoke it at the provider{where}."
        app.call_from_thread(app.notify, message, title="Revoked", markup=False)
        app.call_from_thread(_changed, app, name)

    app.run_worker(
        _while_busy(app, name, "revoking", work), thread=True, group="revoke", exit_on_error=False,
        name=f"revoke {name}",
    )  # fmt: skip


async def confirm_delete(app: VaultApp, name: str) -> None:
    try:
        credential = await app.read(lambda vault: vault.get(name), name=f"read {name}")
    except VaultError as exc:
        app.report(exc)
        return
    body = f"{name} and its tokens will be erased from the vault."
    if credential.kind == "oauth" and credential.access_token is not None:
        body += " They are not revoked at the provider: use revoke for that."
    app.push_screen(ConfirmDialog(f"Delete {name}?", body, yes="Delete"), partial(_delete_answered, app, name))


def _delete_answered(app: VaultApp, name: str, yes: bool | None) -> None:
    if not yes:
        return

    def work() -> None:
        from vault.services import undo

        change = undo.delete(app.unlocked_vault.records, name)
        app.call_from_thread(app.undoer.keep, change, f"{name} was deleted.", "Deleted")
        app.call_from_thread(app.tell_every_screen, lambda: CredentialDeleted(name))

    app.run_worker(work, thread=True, group="edit", exit_on_error=False, name=f"delete {name}")


def rename(app: VaultApp, name: str) -> None:
    """Ask for the new name; the vault's refusal (taken, invalid) shows in the dialog, which stays open."""

    made: list[Undo] = []

    def attempt(new: str) -> None:
        if new != name:
            from vault.services import undo

            check_new_name(new)  # a token pasted here must not become a name (as tokendeck rename)
            made.append(undo.rename(app.unlocked_vault.records, name, new))

    app.push_screen(PromptDialog(f"Rename {name} to:", name, attempt=attempt), partial(_renamed, app, name, made))


def _renamed(app: VaultApp, name: str, made: list[Undo], new: str | None) -> None:
    if new is None or new == name:
        return
    if made:
        app.undoer.keep(made[-1], f"{name} is now {new}.", "Renamed")
    app.tell_every_screen(lambda: CredentialRenamed(name, new))


# ------------------------------------------------------------------ copying


async def stored_token(app: VaultApp, name: str) -> str | None:
    """The stored access token of ``name``, read now (in a worker); None, and a notice saying
    why, when it holds none.

    Raises:
        NotFound: it is no longer in the vault (each screen handles that its own way).
    """
    from vault.errors import NotFound

    try:
        credential = await app.read(lambda vault: vault.get(name), name=f"read {name}")
    except NotFound:
        raise
    except VaultError as exc:
        app.report(exc)
        return None
    if credential.access_token is None:
        status = credential.status_at(app.clock.now()).replace("_", " ")
        app.notify(f"{credential.name} holds no token ({status}).", title="No token", severity="warning", markup=False)
        return None
    if credential.access_token_fault is not None:  # what `tokendeck token` would not hand out either
        why = credential.access_token_fault
        app.notify(
            f"{credential.name} holds no usable token: {why}.", title="No token", severity="warning", markup=False
        )
        return None
    return credential.access_token.reveal()


async def copy_token(app: VaultApp, name: str) -> bool:
    """Copy ``name``'s stored token (cleared from the clipboard later); False if it is gone."""
    from vault.errors import NotFound

    try:
        token = await stored_token(app, name)
    except NotFound:
        return False
    if token is not None:
        app.copier.copy_secret(token, f"{name}'s token")
    return True


def copy_reference_line(app: VaultApp, name: str) -> None:
    """Copy a shell line that fetches ``name``'s token when run (it holds no secret)."""
    app.copier.copy_line(reference_line(name), "a shell line that reads the token")


def reference_line(name: str) -> str:
    """``export VAR="$(tokendeck token NAME)"``: a shell line that gets the token when run, and holds none."""
    from screens.export import suggested_var
    from vault.services.exports import reference_line as line

    return line(name, suggested_var(name))


def export(app: VaultApp, credential: Credential) -> None:
    from screens.export import ExportScreen
    from vault.core.model import MCP_URL_EXTRA

    app.push_screen(ExportScreen(credential.name, mcp_server=bool(credential.extras.get(MCP_URL_EXTRA))))


def rotate(app: VaultApp, credential: Credential, then: Callable[[bool], None] | None = None) -> None:
    """Ask for a static credential's new token and store it in place (bindings and all);
    ``then`` is told whether it was stored (the Leaks screen audits it)."""
    from screens.dialogs.rotate import RotateDialog
    from vault.core.timefmt import iso

    name = credential.name
    expiry = (iso(credential.expires_at) or "")[:10] if credential.expires_at else "no expiry"

    dialog = RotateDialog(name, expiry)

    def rotated(stored: bool | None) -> None:
        if stored:
            if dialog.undo is not None:
                app.undoer.keep(dialog.undo, f"{name} holds the new token.", "Token replaced")
                dialog.undo = None
            _changed(app, name)
        if then is not None:
            then(bool(stored))

    app.push_screen(dialog, rotated)
