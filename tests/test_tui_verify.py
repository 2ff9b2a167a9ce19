"""The TUI's ``v`` on the list (issue 33, item 7): ask the selected credential's provider
(the loopback Authlib server's ``/userinfo``) whether its token still works; the answer in a
notification, the row's status updated.  The vault: a keyring vault holding ``acme`` (live)
and ``gone`` (its token revoked at the server); after the test ``gone`` is ``revoked`` with
its tokens kept, ``acme`` unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

import vault
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.widgets.credential_table import CredentialTable
from tests.support.authserver import AuthServer
from tests.support.seeded import CLIENT_ID, seed
from tests.support.tui import record_notices

pytestmark = pytest.mark.anyio

SIZE = (100, 30)


@pytest.fixture
def two(home: Path, auth_server: AuthServer) -> Iterator[vault.Vault]:
    opened = vault.init_vault(home, mode="keyring")
    seed(opened, auth_server, "acme")
    gone = seed(opened, auth_server, "gone")
    assert gone.access_token is not None
    answer = httpx2.post(auth_server.url("/revoke"), data={"token": gone.access_token.reveal(), "client_id": CLIENT_ID})
    assert answer.status_code == 200
    yield opened
    opened.close()


async def verify_row(app_vault: vault.Vault, name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], str]:
    """Press ``v`` on ``name``'s row: the notifications, and the row's status cell after."""
    app = make_app(app_vault, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        notices = record_notices(app, monkeypatch)
        table = app.screen.query_one("#tokens", CredentialTable)
        table.move_cursor(table.row_keys.index(name))
        await pilot.press("v")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        return notices.texts(), str(table.get_cell(name, "status"))


async def test_v_marks_a_refused_token_revoked(two: vault.Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    said, status = await verify_row(two, "gone", monkeypatch)
    assert any(text.startswith("gone: ") and "HTTP 401" in text for text in said), said
    assert status.startswith("revoked")
    stored = two.get("gone")
    assert stored.stored_status == "revoked" and stored.access_token is not None
    assert (stored.last_error or "").startswith("revoked at the provider")
    assert two.get("acme").stored_status == "active"


async def test_v_on_a_live_token_says_ok(two: vault.Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    said, status = await verify_row(two, "acme", monkeypatch)
    assert any(text.startswith("acme: accepted by") and "as alice" in text for text in said), said
    assert status.startswith("active")
    assert [e.outcome for e in two.records.audit_log(credential="acme") if e.action == "verify"] == ["ok"]
