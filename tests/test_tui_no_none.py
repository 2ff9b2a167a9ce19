"""Issue 33, item 4, in the TUI: the list and every credential's detail screen show no
``None`` for a credential whose optional facts are all missing (see tests/test_no_none.py)."""

from __future__ import annotations

import re

import pytest
from textual.widgets import DataTable, Static

from screens.detail import DetailScreen
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.tui import new_vault
from vault import Credential, Secret
from vault.core.restored import RESTORED_EXTRA

pytestmark = pytest.mark.anyio

NONE = re.compile(r"\bNone\b")


def sparse(now: float) -> list[Credential]:
    def bare(name: str, **facts: object) -> Credential:
        fields: dict[str, object] = {"provider": "github", "kind": "oauth", "access_token": Secret(f"tok-{name}")}
        fields.update(facts)
        return Credential(name=name, created_at=now, updated_at=now, **fields)  # type: ignore[arg-type]

    past = now - 60
    return [
        bare("plain"),
        bare("stranger", provider="no-such-idp"),
        bare("ended", expires_at=past),
        bare("signedout", stored_status="needs_login", refresh_token=Secret("r"), expires_at=past),
        bare("gone", stored_status="revoked", access_token=None),
        bare("broken", stored_status="error", access_token=None),
        bare("backoff", refresh_token=Secret("r"), expires_at=past, refresh_failures=2, retry_at=now + 600),
        bare("held", refresh_token=Secret("r"), expires_at=past, extras={RESTORED_EXTRA: {}}),
        bare("static", kind="static", provider="api-key"),
    ]


def texts(screen: object) -> str:
    assert isinstance(screen, TokenListScreen | DetailScreen)
    shown = [str(widget.render()) for widget in screen.query(Static)]
    for table in screen.query(DataTable):
        shown += [str(cell) for row in range(table.row_count) for cell in table.get_row_at(row)]
    return "\n".join(shown)


async def test_no_screen_says_none_about_a_sparse_credential() -> None:
    vault, clock = new_vault()
    with vault:
        for credential in sparse(clock.now()):
            vault.records.save(credential)
        app = make_app(vault, clock, settings=TuiSettings(refresher=False))
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            listed = app.screen
            assert isinstance(listed, TokenListScreen)
            assert NONE.search(texts(listed)) is None, texts(listed)
            keys = listed.query_one("#tokens", CredentialTable).row_keys
            assert len(keys) == 9
            seen = set()
            for index in range(len(keys)):
                await pilot.press("home", *["down"] * index, "enter")
                await pilot.pause()
                detail = app.screen
                assert isinstance(detail, DetailScreen)
                seen.add(detail.name_shown)
                shown = texts(detail)
                assert detail.name_shown in shown  # its facts are on the screen
                assert NONE.search(shown) is None, shown
                await pilot.press("escape")
                await pilot.pause()
            assert seen == {str(key) for key in keys}
