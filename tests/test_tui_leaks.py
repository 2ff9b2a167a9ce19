"""The TUI's Leaks screen (``L`` on the list, and the palette): the scan of the usual places, its
findings grouped by credential, and the fixes ``tokendeck scan --fix`` offers, each asked in a
ConfirmDialog; a yes applies it (audited), a no changes nothing (audited as declined)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import OptionList

from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.help import HelpScreen
from screens.leaks import LeaksScreen
from screens.main import make_app
from tests.support.tui import FAKE_SECRETS
from tests.test_tui_keys import wait_for_hits
from vault import Vault
from vault.core.clock import FrozenClock

pytestmark = pytest.mark.anyio

HISTORY = "ls\nexport OPENAI_API_KEY=sk-test-0\ngit status\n"


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "user"
    home.mkdir()
    (home / ".bash_history").write_text(HISTORY)
    monkeypatch.setenv("HOME", str(home))
    return home


def lines(screen: LeaksScreen) -> list[str]:
    listed = screen.query_one("#leaks", OptionList)
    return [str(o.prompt) for o in listed.options]


def fix_audit(vault: Vault) -> list[tuple[str, str | None, str | None]]:
    return [(e.outcome, e.credential, e.detail) for e in vault.records.audit_log(actions=["scan-fix"])]


async def press_and_settle(pilot: object, app: object, key: str) -> None:
    """Press ``key`` and wait for the work it starts (a scan, a fix) and the screen after it."""
    await pilot.press(key)  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def open_leaks(pilot: object, app: object) -> LeaksScreen:
    await press_and_settle(pilot, app, "L")
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, LeaksScreen)
    return screen


async def to_fix(pilot: object, screen: LeaksScreen, starts: str) -> None:
    listed = screen.query_one("#leaks", OptionList)
    for _ in range(len(listed.options)):
        index = listed.highlighted
        if index is not None and str(listed.get_option_at_index(index).prompt).strip().startswith(starts):
            return
        await pilot.press("down")  # type: ignore[attr-defined]
    raise AssertionError(f"no fix {starts!r} in {lines(screen)}")


async def test_l_lists_the_findings_by_credential_with_their_fixes(
    samples: tuple[Vault, FrozenClock], user_home: Path
) -> None:
    app = make_app(*samples)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_leaks(pilot, app)
        shown = lines(screen)
        assert shown[0] == "openai: 1 live copy"
        note = str(screen.query_one("#leaks-note").render())
        assert note.startswith("1 live and 0 old copies in 1 file"), note  # it said "1 files"
        assert shown[1].strip() == f"{user_home}/.bash_history:2: openai static token (LIVE, raw)"
        assert "→ Replace openai's token with a new one?" in [s.strip() for s in shown]
        assert f"→ Remove the entries holding it from {user_home}/.bash_history?" in [s.strip() for s in shown]
        assert all(secret not in " ".join(shown) for secret in FAKE_SECRETS)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        keys = " ".join(str(o.prompt) for o in help_screen.query_one("#help-keys", OptionList).options)
        assert "apply the highlighted fix" in keys and "scan the usual places again" in keys and "Close" in keys


async def test_the_help_and_the_palette_of_the_list_name_the_leaks_screen(
    samples: tuple[Vault, FrozenClock], user_home: Path
) -> None:
    app = make_app(*samples)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        keys = " ".join(str(o.prompt) for o in app.screen.query_one("#help-keys", OptionList).options)
        assert "scan for copies of the vault" in keys
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Find leaked")
        await wait_for_hits(pilot)
        shown = str(app.screen.query_one(CommandList).get_option_at_index(0).prompt)
        assert "Find leaked copies" in shown and "key L" in shown
        await press_and_settle(pilot, app, "enter")
        assert isinstance(app.screen, LeaksScreen)


async def test_a_confirmed_scrub_removes_the_entry_and_is_audited(
    samples: tuple[Vault, FrozenClock], user_home: Path
) -> None:
    vault, _clock = samples
    app = make_app(*samples)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_leaks(pilot, app)
        await to_fix(pilot, screen, "→ Remove the entries")
        await press_and_settle(pilot, app, "enter")
        assert isinstance(app.screen, ConfirmDialog)
        await press_and_settle(pilot, app, "y")
        assert (user_home / ".bash_history").read_text() == "ls\ngit status\n"
        assert ("scrubbed", "openai", f"path={user_home}/.bash_history") in fix_audit(vault)
        assert any(s.strip().startswith("✓ Remove the entries") for s in lines(screen))


async def test_a_declined_fix_changes_nothing(samples: tuple[Vault, FrozenClock], user_home: Path) -> None:
    vault, _clock = samples
    before = vault.get("openai")
    app = make_app(*samples)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_leaks(pilot, app)
        for starts in ("→ Replace openai's token", "→ Remove the entries"):
            await to_fix(pilot, screen, starts)
            await press_and_settle(pilot, app, "enter")
            assert isinstance(app.screen, ConfirmDialog)
            await press_and_settle(pilot, app, "n")
        assert (user_home / ".bash_history").read_text() == HISTORY
        assert vault.get("openai").access_token == before.access_token
        assert [e[0] for e in fix_audit(vault)] == ["declined", "declined"]
