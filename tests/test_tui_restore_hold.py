"""The TUI's ``r`` on a credential a restore holds (:mod:`vault.core.restored`) asks first,
naming the risk: no sends nothing to the provider, yes is the user's word (as ``tokendeck
refresh NAME``) and refreshes it, clearing the mark."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from screens.dialogs.confirm import ConfirmDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from tests.support.authserver import AuthServer
from tests.support.seeded import seed
from vault.core.restored import RESTORED_EXTRA, hold_reason

pytestmark = pytest.mark.anyio

SIZE = (100, 30)
QUIET = TuiSettings(refresher=False)


@pytest.fixture
def held_vault(home: Path, auth_server: AuthServer) -> Iterator[vault.Vault]:
    opened = vault.init_vault(home, mode="keyring")
    seed(opened, auth_server, "acme", expires_in=3600)
    credential = opened.get("acme")
    mark = {RESTORED_EXTRA: {"backup_made": "2026-12-01T10:00:00Z", "spent": False}}
    reason = hold_reason("acme", "2026-12-01T10:00:00Z", spent=False)
    opened.records.save(
        dataclasses.replace(credential, extras={**credential.extras, **mark}, last_error=reason),
        replace=True,
        action="restore",
    )
    yield opened
    opened.close()


@pytest.mark.parametrize("answer", ["n", "y"])
async def test_r_on_a_held_row_asks_and_only_yes_refreshes(
    held_vault: vault.Vault, auth_server: AuthServer, answer: str
) -> None:
    app = make_app(held_vault, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "restored from a backup" in app.screen.body and "revoke the whole grant" in app.screen.body
        await pilot.press(answer)
        await app.workers.wait_for_complete()
        await pilot.pause()
    after = held_vault.get("acme")
    if answer == "n":
        assert auth_server.token_request_count("refresh_token") == 0 and after.held_after_restore
    else:
        assert auth_server.token_request_count("refresh_token") == 1 and not after.held_after_restore
        assert after.status_at(held_vault.clock.now()) == "active"
