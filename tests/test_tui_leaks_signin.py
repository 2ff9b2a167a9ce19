"""The Leaks screen's revoke-and-sign-in-again, against the loopback authorization server and the
fake browser: the leaked grant is revoked at the server, the sign-in screen signs in again, and
the audit shows both steps (``scan-fix`` revoked, then signed-in)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import OptionList

from screens.dialogs.confirm import ConfirmDialog
from screens.leaks import LeaksScreen
from screens.main import make_app
from tests.support.authserver import AuthServer
from tests.test_tui_leaks import to_fix
from tests.test_tui_signin import CLIENT_ID, SIZE, opened, registered, until, vault_credential
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio
__all__ = ["opened", "registered"]  # the fixtures, used by name


async def test_revoke_then_sign_in_again_from_the_leaks_screen(
    registered: tuple[Vault, FrozenClock], auth_server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, clock = registered
    clock.at = time.time()
    vault.records.save(vault_credential(auth_server.issue_token(CLIENT_ID), clock.now()), action="login")
    leaked = vault.get("work").refresh_token
    assert leaked is not None
    user = tmp_path / "user"
    user.mkdir()
    (user / ".zsh_history").write_text(f": 1700000000:0;curl -d refresh_token={leaked.reveal()} x\n")
    monkeypatch.setenv("HOME", str(user))
    app = make_app(vault, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LeaksScreen) and bool(
            app.screen.query_one("#leaks", OptionList).option_count), "the findings")  # fmt: skip
        found = app.screen
        assert isinstance(found, LeaksScreen)
        screen: LeaksScreen = found
        await to_fix(pilot, screen, "→ Revoke work's grant at acme and sign in again?")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen and screen.is_current and not screen.signing_in
                    and vault.get("work").stored_status == "active", "revoked and signed in again")  # fmt: skip
        await app.workers.wait_for_complete()
    assert auth_server.token_state(leaked.reveal()) == "revoked"
    after = vault.get("work").refresh_token
    assert after is not None and after != leaked
    rows = [(e.outcome, e.credential) for e in vault.records.audit_log(actions=["scan-fix"])]
    assert rows == [("revoked", "work"), ("signed-in", "work")]
