"""A token pasted in the wrong field of the TUI is never shown (issue 33, item 3): each field
that can refuse a value (the add form's name, provider, expiry and server URL, the rename
dialog, the new token's expiry) is given fake tokens of every shape; nothing of the token (no
8-character piece of it) is on the screen, in a field's drawing, in the form's message, in a
toast or in the audit log, and the vault is unchanged.  A plain field that holds a token draws
it as dots (:class:`screens.widgets.guarded_input.GuardedInput`), the filter included."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Label, Static

from screens.add_token import AddTokenScreen
from screens.app import VaultApp
from screens.dialogs.prompt import PromptDialog
from screens.dialogs.rotate import RotateDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from tests.support.fake_tokens import FAKE_TOKENS, leaked
from tests.support.tui import add_samples, new_vault
from vault.services.tokens import Vault

pytestmark = pytest.mark.anyio
SIZE = (100, 30)
TOKENS = list(FAKE_TOKENS.items())


def on_screen(app: VaultApp) -> str:
    """Everything the user can see: the screenshot, each label's and field's drawing, the toasts."""
    parts = [app.export_screenshot()]
    for screen in app.screen_stack:
        parts += [str(w.content) for w in screen.query(Static)]
        parts += [str(w._value) for w in screen.query(Input)]  # what the field draws
    parts += [n.message for n in app._notifications]
    return "\n".join(parts)


def held(opened: Vault) -> list[tuple[object, ...]]:
    return sorted(
        (c.name, c.provider, c.account, c.expires_at, c.access_token.reveal() if c.access_token else None)
        for c in opened.credentials()
    )


def audit(opened: Vault) -> str:
    return "\n".join(repr(event) for event in opened.records.audit_log())


def assert_unseen(app: VaultApp, opened: Vault, what: str, token: str) -> None:
    piece = leaked(token, on_screen(app), audit(opened))
    assert piece is None, f"part of a fake {what} is on the screen or in the audit log"


@pytest.mark.parametrize(
    ("field_id", "base"),
    [
        ("name", {"provider": "api-key"}),
        ("provider", {"name": "new-one"}),
        ("expires", {"name": "new-one", "provider": "api-key"}),
        ("server-url", {"name": "new-one", "provider": "jira-dc", "username": "ada"}),
    ],
)
async def test_the_add_form_refuses_a_token_in_a_plain_field_and_never_shows_it(
    field_id: str, base: dict[str, str]
) -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    before = held(opened)
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, AddTokenScreen)
        for key, value in base.items():
            screen.query_one(f"#{key}", Input).value = value
        screen.query_one("#token", Input).value = "fake-static-value"
        await pilot.pause()
        for what, token in TOKENS:
            field = screen.query_one(f"#{field_id}", Input)
            field.value = token  # as a paste puts it there
            field.focus()
            await pilot.pause()
            assert_unseen(app, opened, what, token)  # drawn as dots while typed
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen is screen, f"a fake {what} in {field_id} was taken"
            problem = str(screen.query_one("#problem", Label).content)
            assert problem and problem != "Adding…", what
            assert_unseen(app, opened, what, token)
        await pilot.press("escape")
    assert held(opened) == before


async def test_renaming_to_a_token_is_refused_in_the_dialog_and_never_shown() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    before = held(opened)
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        for what, token in TOKENS:
            dialog.query_one("#answer", Input).value = token
            await pilot.pause()
            assert_unseen(app, opened, what, token)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen is dialog, f"renamed to a fake {what}"
            said = str(dialog.query_one("#prompt-problem", Label).content)
            assert "looks like a secret" in said or "invalid name" in said, what
            assert_unseen(app, opened, what, token)
        await pilot.press("escape")
    assert held(opened) == before


async def test_a_token_as_the_new_expiry_is_refused_and_never_shown() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    before = held(opened)
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RotateDialog)
        dialog.query_one("#new-token", Input).value = "fake-new-value"
        for what, token in TOKENS:
            expiry = dialog.query_one("#new-expiry", Input)
            expiry.value = token
            expiry.focus()
            await pilot.pause()
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen is dialog, f"a fake {what} was taken as an expiry"
            assert str(dialog.query_one("#rotate-problem", Label).content), what
            assert_unseen(app, opened, what, token)
        await pilot.press("escape")
    assert held(opened) == before


async def test_a_token_typed_into_the_filter_is_drawn_as_dots() -> None:
    opened, clock = new_vault()
    add_samples(opened, clock)
    app = make_app(opened, clock, settings=TuiSettings(refresher=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        for what, token in TOKENS:
            app.screen.query_one("#filter", Input).value = token
            await pilot.pause()
            assert_unseen(app, opened, what, token)
        app.screen.query_one("#filter", Input).value = "git"
        await pilot.pause()
        assert "git" in str(app.screen.query_one("#filter", Input)._value)  # an ordinary filter is shown
