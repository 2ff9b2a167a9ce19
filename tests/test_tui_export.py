"""Pilot tests for exporting from the TUI: the export screen (the same export as
``tokendeck export``, previewed with every secret masked, written only as previewed),
and the list's copy keys (``y`` the token, ``Y`` a shell line that holds none).

Every export is written into real files under the test's temporary directory."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, Select, Static

from screens.export import ExportScreen, suggested_var
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.token_list import TokenListScreen
from tests.support.cli import CliRunner
from tests.support.tui import SAMPLE_ORDER
from vault import Vault
from vault.core.clock import FrozenClock
from vault.export.launcher import tokendeck_command

pytestmark = pytest.mark.anyio

SIZE = (100, 30)
GITHUB_TOKEN = "ghp_test2"
OPENAI_TOKEN = "sk-test-0"
QUIET = TuiSettings(refresher=False, clipboard_clear_after=30)


async def open_export(pilot: Pilot[None], name: str = "github") -> ExportScreen:
    """From the list: the cursor on ``name``, then ``e``."""
    await pilot.press(*["down"] * SAMPLE_ORDER.index(name), "e")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ExportScreen) and screen.credential == name
    return screen


def fill(screen: ExportScreen, target: str, **fields: str) -> None:
    screen.query_one("#target", Select).value = target
    for key, value in fields.items():
        screen.query_one(f"#{key}", Input).value = value


def shown(screen: ExportScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def preview(pilot: Pilot[None], screen: ExportScreen) -> None:
    await pilot.pause()  # what the form was just told (a target, a field) is handled first, as for a person
    screen.query_one("#preview-button", Button).press()  # it may be scrolled out of view: no click
    await pilot.pause()  # the press is a message: its handler starts the worker waited for next
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_the_variable_suggested_is_a_valid_name() -> None:
    assert suggested_var("github-work") == "GITHUB_WORK_TOKEN"
    assert suggested_var("1password") == "_1PASSWORD_TOKEN"
    assert suggested_var("---") == "TOKEN_TOKEN"


async def test_a_reference_export_writes_what_the_command_line_writes(
    samples: tuple[Vault, FrozenClock], tmp_path: Path, cli: CliRunner
) -> None:
    vault, clock = samples
    from_tui, from_cli = tmp_path / "tui" / ".mcp.json", tmp_path / "cli" / ".mcp.json"
    from_tui.parent.mkdir()
    from_cli.parent.mkdir()
    command = "npx -y @modelcontextprotocol/server-github"
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot, "openai")  # no expiry: the command line, on the real clock, takes it too
        assert screen.query_one("#var", Input).value == "OPENAI_TOKEN"  # suggested from the name
        fill(screen, "claude-code", server="github", command=command, file=str(from_tui))
        await preview(pilot, screen)
        diff = shown(screen, "#preview")
        assert "+++" in diff and "tokendeck" in diff and OPENAI_TOKEN not in diff
        assert not from_tui.exists()  # a preview writes nothing
        assert screen.query_one("#write", Button).disabled is False
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
    written = from_tui.read_text()
    assert OPENAI_TOKEN not in written
    entry = json.loads(written)["mcpServers"]["github"]
    assert entry["command"] == tokendeck_command(project=True).command and "OPENAI_TOKEN=openai" in entry["args"]
    assert vault.records.links.export_bindings("openai") == []  # a reference follows nothing
    assert [e.outcome for e in vault.records.audit_log(credential="openai") if e.action == "export"] == ["ok"]

    result = cli("export", "claude-code", "--name", "openai", "--server", "github", "--var", "OPENAI_TOKEN",
                 "--file", str(from_cli), "--command", *command.split())  # fmt: skip
    assert result.code == 0
    assert from_cli.read_text() == written


async def test_a_plaintext_dotenv_export_is_masked_in_the_preview_and_followed(
    samples: tuple[Vault, FrozenClock], tmp_path: Path
) -> None:
    vault, clock = samples
    target = tmp_path / ".env"
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        fill(screen, "dotenv", file=str(target))
        await pilot.pause()
        assert screen.query_one("#reference", RadioButton).disabled  # .env holds the token or nothing
        assert screen.query_one("#plaintext", RadioButton).value
        await preview(pilot, screen)
        assert "GITHUB_TOKEN='***'" in shown(screen, "#preview")
        assert GITHUB_TOKEN not in shown(screen, "#preview")
        screen.query_one("#write", Button).press()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert target.read_text() == f"GITHUB_TOKEN='{GITHUB_TOKEN}'\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    [binding] = vault.records.links.export_bindings("github")
    assert (binding.target, binding.path, binding.key) == ("dotenv", str(target), "GITHUB_TOKEN")


async def test_a_change_after_the_preview_must_be_previewed_again(
    samples: tuple[Vault, FrozenClock], tmp_path: Path
) -> None:
    vault, clock = samples
    target = tmp_path / ".env"
    target.write_text("KEEP=1\n")
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        fill(screen, "dotenv", file=str(target))
        await preview(pilot, screen)
        screen.query_one("#var", Input).value = "OTHER"
        await pilot.pause()
        assert screen.query_one("#write", Button).disabled
        assert "preview again" in shown(screen, "#preview")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Preview first" in str(screen.query_one("#export-problem", Label).render())
        assert isinstance(app.screen, ExportScreen)
    assert target.read_text() == "KEEP=1\n"  # nothing written
    assert vault.records.links.export_bindings("github") == []


@pytest.mark.parametrize(
    ("target", "fields", "said"),
    [
        ("netrc", {}, "netrc needs --host HOST"),
        ("claude-code", {"server": ""}, "claude-code needs --server SERVER"),
        ("dotenv", {"var": "1BAD"}, "is not a valid environment variable name"),
        ("claude-code", {"server": "gh", "url": "http://example.com/mcp"}, "https"),
        ("claude-code", {"server": "gh", "command": "npx 'unclosed"}, "--command"),
    ],
)
async def test_bad_input_is_one_message_and_writes_nothing(
    samples: tuple[Vault, FrozenClock], tmp_path: Path, target: str, fields: dict[str, str], said: str
) -> None:
    vault, clock = samples
    audit_before = vault.records.audit_log(credential="github")
    path = tmp_path / "target-file"
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        fill(screen, target, file=str(path), **fields)
        await preview(pilot, screen)
        assert said in str(screen.query_one("#export-problem", Label).render())
        assert screen.query_one("#write", Button).disabled
    assert not path.exists()
    assert (
        vault.records.links.export_bindings("github") == []
        and vault.records.audit_log(credential="github") == audit_before
    )


async def test_plaintext_into_a_file_git_tracks_needs_force(samples: tuple[Vault, FrozenClock], tmp_path: Path) -> None:
    import subprocess

    vault, clock = samples
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # noqa: S603, S607
    target = tmp_path / ".env"
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        fill(screen, "dotenv", file=str(target))
        await preview(pilot, screen)
        assert "git" in str(screen.query_one("#export-problem", Label).render())
        assert screen.query_one("#write", Button).disabled
        screen.query_one("#force").value = True  # type: ignore[attr-defined]
        await preview(pilot, screen)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert target.read_text() == f"GITHUB_TOKEN='{GITHUB_TOKEN}'\n"


async def test_the_shell_target_sends_its_line_to_the_clipboard(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        fill(screen, "shell")
        await preview(pilot, screen)
        line = 'export GITHUB_TOKEN="$(tokendeck token github)"'
        assert line in shown(screen, "#preview")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.clipboard == line and isinstance(app.screen, TokenListScreen)


async def test_the_export_form_is_driven_by_keys_alone(samples: tuple[Vault, FrozenClock], tmp_path: Path) -> None:
    """A token's form starts on .env with the cursor in a field: typed, enter to preview, ctrl+s to write."""
    vault, clock = samples
    target = tmp_path / ".env"
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot)
        assert screen.target == "dotenv"  # a PAT goes to a .env by default, not into an MCP config
        assert app.focused is screen.query_one("#var", Input)  # enter previews from here, not a dropdown
        placeholders = [i.placeholder for i in screen.query(Input)]
        assert not [p for p in placeholders if p.startswith("--")], placeholders  # words, not flags
        screen.query_one("#file", Input).focus()
        await pilot.press(*str(target), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "GITHUB_TOKEN='***'" in shown(screen, "#preview")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert target.read_text() == f"GITHUB_TOKEN='{GITHUB_TOKEN}'\n"


async def test_enter_previews_from_every_field_and_still_picks_from_an_open_list(
    samples: tuple[Vault, FrozenClock], tmp_path: Path
) -> None:
    """Issue 34: enter previews from any field (Target, the mode, the checkbox), as the screen
    promises; space or down opens the Target list, where enter picks; on Write, enter writes."""
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot)
        screen.query_one("#file", Input).value = str(tmp_path / ".env")
        for field in ("#target", "#mode", "#force"):
            screen.query_one("#preview", Static).update("")
            screen.query_one(field).focus()
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "GITHUB_TOKEN=" in shown(screen, "#preview"), field
        assert screen.target == "dotenv" and not screen.query_one("#force", Checkbox).value  # nothing toggled
        screen.query_one("#target").focus()
        await pilot.press("space")  # the list opens...
        await pilot.pause()
        assert screen.query_one("#target", Select).expanded
        await pilot.press("down", "enter")  # ...and enter picks the option under its cursor
        await pilot.pause()
        assert not screen.query_one("#target", Select).expanded and screen.target != "dotenv"
        screen.query_one("#target", Select).value = "dotenv"
        await pilot.pause()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen.query_one("#write", Button).focus()
        await pilot.press("enter")  # a button does what it says
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, TokenListScreen)
    assert (tmp_path / ".env").read_text().startswith("GITHUB_TOKEN=")


async def test_y_copies_the_token_and_capital_y_a_line_without_it(samples: tuple[Vault, FrozenClock]) -> None:
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "y")  # github
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.clipboard == GITHUB_TOKEN
        await pilot.press("Y")
        assert app.clipboard == 'export GITHUB_TOKEN="$(tokendeck token github)"'
        screen = app.screen
        assert isinstance(screen, TokenListScreen)
        assert not any(GITHUB_TOKEN in str(w.render()) for w in screen.query(Static))  # never shown


async def test_the_freshness_warning_is_shown_as_the_command_line_shows_it(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 33, item 5: an hour-long OAuth token exported to a stdio entry (and a shell line) is
    warned about in the preview and in the notice after the write, which it does not block."""
    from tests.support.tui import new_vault
    from vault import Credential, Secret

    vault, clock = new_vault()
    now = clock.now()
    with vault:
        vault.records.save(
            Credential(
                name="github-work", provider="github", kind="oauth", access_token=Secret("gho_fresh_test"),
                refresh_token=Secret("ghr_fresh_test"), expires_at=now + 3600, created_at=now, updated_at=now,
                last_refreshed_at=now,
            )
        )  # fmt: skip
        warning = "github-work's access token lasts about 1h: Claude Code starts the server with one token"
        target = tmp_path / ".mcp.json"
        notices: list[str] = []
        app = make_app(vault, clock, settings=QUIET)
        monkeypatch.setattr(app, "notify", lambda message, **_: notices.append(message))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ExportScreen) and screen.credential == "github-work"
            fill(screen, "claude-code", server="gh", command="node server.js", file=str(target))
            await preview(pilot, screen)
            assert warning in shown(screen, "#preview") and not target.exists()
            await pilot.press("ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, TokenListScreen)
            [notice] = notices
            assert warning in notice and "wrote a reference to github-work" in notice

            await pilot.press("e")
            await pilot.pause()
            again = app.screen
            assert isinstance(again, ExportScreen)
            fill(again, "shell")
            await preview(pilot, again)
            assert "github-work's access token lasts about 1h: the shell keeps the one it got" in shown(
                again, "#preview"
            )
        assert "gho_fresh_test" not in target.read_text() and "gh" in json.loads(target.read_text())["mcpServers"]
        assert vault.records.get("github-work").access_token == Secret("gho_fresh_test")  # the vault as it was


async def test_preview_and_write_are_on_screen_at_80x24(samples: tuple[Vault, FrozenClock]) -> None:
    """The form's buttons stay in view below the fields, whichever target shows the most fields."""
    vault, clock = samples
    app = make_app(vault, clock, settings=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot)
        fill(screen, "claude-code")  # the most fields
        await pilot.pause()
        for button in ("#preview-button", "#write"):
            region = screen.query_one(button, Button).region
            assert region.height > 0 and region.bottom <= 23, (button, region)  # above the footer
