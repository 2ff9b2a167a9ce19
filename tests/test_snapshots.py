"""Snapshot tests: SVG screenshots of the TUI, kept in ``tests/__snapshots__/test_snapshots/``.

Update them only with ``make snapshots``, after reading ``snapshot_report.html``.
Everything that could move is pinned: the clock is frozen, the credentials are
created at fixed times, the background refresher is off (its "next run" would
read the wall clock's pace), no sign-in flow runs (the waiting views get fixed
URLs and codes), and text cursors do not blink.  Every picture is taken at
100×30 and at 80×24, the smallest terminal the TUI promises to fit; the pictures of
issue 16's work (:class:`TestCraft`) at 200×50 too, where the side panel shows.

No picture shows a token: :func:`test_no_snapshot_shows_a_secret` checks every SVG.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from screens.app import VaultApp
from screens.detail import DetailScreen
from screens.dialogs.confirm import ConfirmDialog
from screens.logic.settings import TuiSettings
from screens.main import make_app
from screens.signin import SignInScreen
from screens.signin_flow import DeviceCodeReady, ReplaceAccount, UrlReady
from screens.token_list import TokenListScreen
from screens.unlock import UnlockScreen
from screens.widgets.credential_table import CredentialTable
from tests.support.tui import EVERY_STATUS_ORDER, FAKE_SECRETS, add_every_status, new_vault
from vault import Vault, init_vault
from vault.core.clock import FrozenClock
from vault.core.model import STATUSES, ClientRegistration
from vault.core.secret import Secret

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Awaitable[None]]
S = TypeVar("S", bound=Screen[Any])

SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_snapshots"

QUIET = TuiSettings(refresher=False)
"""No background refresher: its status-line text would depend on real time passing."""

sizes = pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=["100x30", "80x24"])
themes = pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])

PASSPHRASE = "snapshot passphrase"
SHOWN_HOME = "~/.local/share/tokendeck"
"""Stands in for the vault home on the unlock screen (the real one is a fresh temporary directory)."""

CLIENT_SECRET = "fake-client-secret"
AUTHORIZE_URL = (
    "https://github.com/login/oauth/authorize?response_type=code&client_id=Ov23liFAKEclient"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&scope=repo+read%3Aorg"
    "&state=fixed-state&code_challenge=fixed-challenge&code_challenge_method=S256"
)
USER_CODE = "WDJB-MJHT"
VERIFICATION_URI = "https://github.com/login/device"
DEVICE_CODE_LIFETIME = 900.0


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text cursors start steady, so a screenshot never lands mid-blink.

    Textual 8 has no app-wide switch; ``cursor_blink`` is a per-widget reactive,
    so this changes its class default (checked by :func:`test_cursors_do_not_blink`).
    """
    for widget in (Input, TextArea):
        monkeypatch.setattr(widget.cursor_blink, "_default", False)


def test_cursors_do_not_blink() -> None:
    assert Input().cursor_blink is False
    assert TextArea().cursor_blink is False


def test_no_snapshot_shows_a_secret() -> None:
    """No test reveals a token, so no stored picture may contain one (nor the passphrase)."""
    pictures = sorted(SNAPSHOTS.glob("*.svg"))
    assert pictures, "no snapshots stored"
    for picture in pictures:
        text = html.unescape(picture.read_text(encoding="utf-8")).replace("\xa0", " ")
        for secret in (*FAKE_SECRETS, CLIENT_SECRET, PASSPHRASE):
            assert secret not in text, f"{picture.name} shows {secret!r}"


# ------------------------------------------------------------------ helpers


@pytest.fixture
def opened() -> Iterator[tuple[Vault, FrozenClock]]:
    """An empty keyring vault on a frozen clock."""
    vault, clock = new_vault()
    with vault:
        yield vault, clock


@pytest.fixture
def every_status(opened: tuple[Vault, FrozenClock]) -> VaultApp:
    """The list with a credential in every status: expired, expiring, active, needs login, error, revoked."""
    vault, clock = opened
    add_every_status(vault, clock)
    assert {c.status_at(clock.now()) for c in vault.credentials()} == set(STATUSES)
    vault.records.set_client(
        ClientRegistration(
            provider="github", base="github", client_id="Ov23liFAKEclient", client_secret=Secret(CLIENT_SECRET)
        )
    )
    return make_app(vault, clock, settings=QUIET)


def screen_of(app: App[Any], kind: type[S]) -> S:
    """The app's current screen, which must be a ``kind``."""
    screen = app.screen
    assert isinstance(screen, kind), f"expected {kind.__name__}, got {type(screen).__name__}"
    return screen


async def select(pilot: Pilot[None], name: str) -> None:
    """Put the list's cursor on ``name``'s row."""
    table = screen_of(pilot.app, TokenListScreen).query_one("#tokens", CredentialTable)
    table.move_cursor(table.row_keys.index(name))
    await pilot.pause()


def with_theme(theme: str, then: RunBefore | None = None) -> RunBefore:
    """Switch to ``theme`` (with ``ctrl+t``, as a user would), then run ``then``."""

    async def run_before(pilot: Pilot[None]) -> None:
        if pilot.app.theme != theme:
            await pilot.press("ctrl+t")
        assert pilot.app.theme == theme
        if then is not None:
            await then(pilot)

    return run_before


# --------------------------------------------------------------------- tests


class TestUnlock:
    @pytest.fixture
    def locked_app(self, home: Path) -> VaultApp:
        """A passphrase vault with no passphrase in the environment: the app asks for it."""
        clock = FrozenClock(1_780_000_000.0)
        with init_vault(home, mode="passphrase", passphrase=PASSPHRASE, clock=clock) as vault:
            vault.records.add_static("gh", provider="github-pat", token=FAKE_SECRETS[0])
        return make_app(home=home, clock=clock, settings=QUIET, env={})

    @staticmethod
    async def pin_home(pilot: Pilot[None]) -> None:
        """The unlock screen shows the vault home: swap the temporary directory for a fixed path."""
        app = pilot.app
        assert isinstance(app, VaultApp)
        await pilot.pause()
        screen = screen_of(app, UnlockScreen)
        shown = screen.query_one(".muted", Static)
        assert str(shown.render()) == str(app.paths.home)
        shown.update(SHOWN_HOME)

    @sizes
    def test_asks_for_the_passphrase(
        self, snap_compare: SnapCompare, locked_app: VaultApp, size: tuple[int, int]
    ) -> None:
        assert snap_compare(locked_app, run_before=self.pin_home, terminal_size=size)

    @sizes
    def test_wrong_passphrase(self, snap_compare: SnapCompare, locked_app: VaultApp, size: tuple[int, int]) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await self.pin_home(pilot)
            await pilot.press(*"nope", "enter")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            assert str(screen_of(pilot.app, UnlockScreen).problem.render())

        assert snap_compare(locked_app, run_before=run_before, terminal_size=size)


class TestTokenList:
    @sizes
    def test_empty_vault(
        self, snap_compare: SnapCompare, opened: tuple[Vault, FrozenClock], size: tuple[int, int]
    ) -> None:
        vault, clock = opened
        assert snap_compare(make_app(vault, clock, settings=QUIET), terminal_size=size)

    @themes
    @sizes
    def test_every_status(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int], theme: str
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            table = screen_of(pilot.app, TokenListScreen).query_one("#tokens", CredentialTable)
            assert table.row_keys == EVERY_STATUS_ORDER

        assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)

    @sizes
    def test_filtered(self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("slash", *"git")

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)


class TestRefreshing:
    """Who refreshes, what is next, what happened last, and the rows that say they are busy or
    need a new sign-in.  The refresher's state is pinned (nothing runs), the clock is frozen."""

    @staticmethod
    def pinned(agent_pid: int | None, problem: str | None, busy: str | None = None) -> RunBefore:
        async def run_before(pilot: Pilot[None]) -> None:
            app = pilot.app
            assert isinstance(app, VaultApp)
            app.agent_pid, app.agent_problem = agent_pid, problem
            if agent_pid is None:
                app._refresher = object()  # stands in for a running refresher of the TUI's own
            app.last_refresh_report = "google refreshed"
            if busy is not None:
                app.set_busy(busy, "refreshing")
            await pilot.pause()
            screen = screen_of(app, TokenListScreen)
            screen.refresh_times()
            await pilot.pause()
            words = str(screen.status_line.render())  # one line: at 80 and 100 columns the last outcome gives way
            assert screen.status_line.size.height == 1 and "1 failing" in words

        return run_before

    @sizes
    def test_the_agent_refreshes(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        """Agent mode; the cursor is on a needs-login row, so the footer offers "Sign in again"."""
        assert snap_compare(every_status, run_before=self.pinned(4242, None), terminal_size=size)

    @sizes
    def test_the_tui_took_over_and_a_row_is_refreshing(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        run_before = self.pinned(None, "the agent is not running", busy="google")
        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @sizes
    def test_a_needs_login_credential_offers_sign_in_again(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        async def open_azure(pilot: Pilot[None]) -> None:
            await select(pilot, "azure")
            await pilot.press("enter")
            screen = screen_of(pilot.app, DetailScreen)
            assert screen.name_shown == "azure" and screen.check_action("sign_in_again", ()) is True

        assert snap_compare(every_status, run_before=open_azure, terminal_size=size)


class TestDetail:
    @themes
    @sizes
    def test_oauth_credential(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int], theme: str
    ) -> None:
        async def open_google(pilot: Pilot[None]) -> None:
            await select(pilot, "google")
            await pilot.press("enter")
            assert screen_of(pilot.app, DetailScreen).name_shown == "google"

        assert snap_compare(every_status, run_before=with_theme(theme, open_google), terminal_size=size)


class TestSignIn:
    """The waiting views.  No flow runs: ``sign_in`` (the worker) does nothing, and the
    test posts the messages the flow would, with a fixed URL and user code."""

    @pytest.fixture(autouse=True)
    def no_flow(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def sign_in(screen: SignInScreen, key: str, device: bool, cancel: object) -> None:
            """Stands in for the worker that runs ``vault.services.signin.login``."""

        monkeypatch.setattr(SignInScreen, "sign_in", sign_in)

    @sizes
    def test_waiting_for_the_browser(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("s", "enter")  # the registered github is highlighted first
            screen = screen_of(pilot.app, SignInScreen)
            assert screen.view == "wait"
            screen.post_message(UrlReady(AUTHORIZE_URL))
            await pilot.pause()

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @themes
    @sizes
    def test_waiting_for_a_device_code(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int], theme: str
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("s", "d", "enter")
            screen = screen_of(pilot.app, SignInScreen)
            assert screen.view == "wait"
            screen.post_message(DeviceCodeReady(USER_CODE, VERIFICATION_URI, None, DEVICE_CODE_LIFETIME))
            await pilot.pause()

        assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)

    @sizes
    def test_signing_in_again_as_another_account_asks(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        """Issue 33: the question the sign-in's worker waits on, naming both accounts."""
        from concurrent.futures import Future

        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("s", "enter")
            screen = screen_of(pilot.app, SignInScreen)
            answer: Future[bool] = Future()
            screen.post_message(ReplaceAccount("staging-idp", "carol@acceptance.test", "alice@acceptance.test", answer))
            await pilot.pause()
            assert isinstance(pilot.app.screen, ConfirmDialog) and not answer.done()

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @sizes
    def test_the_mcp_server_form(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("s", "m")
            screen = screen_of(pilot.app, SignInScreen)
            assert screen.view == "mcp"
            await pilot.press(*"https://mcp.example.com/mcp")

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)


class TestConfirm:
    @themes
    @sizes
    def test_revoke_asks_first(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int], theme: str
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await select(pilot, "github")
            await pilot.press("x")
            screen_of(pilot.app, ConfirmDialog)

        assert snap_compare(every_status, run_before=with_theme(theme, run_before), terminal_size=size)


# --------------------------------------------------- issue 16: at three sizes

three_sizes = pytest.mark.parametrize("size", [(80, 24), (100, 30), (200, 50)], ids=["80x24", "100x30", "200x50"])

EXPORT_DIR = Path("/tmp/tokendeck-snapshot-export")  # noqa: S108 - a fixed path, so the diff's header is too
"""Where the export screen's preview points: the picture shows the path.  Only read (the file
is never there), so parallel runs cannot disturb it."""


class TestCraft:
    """The list sorted and grouped, the side panel (200 columns), the export screen with its
    preview, the add form with jira-dc chosen, the help screen, and a dialog with its footer."""

    @three_sizes
    def test_sorted_and_grouped(self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("p", "o")  # grouped by provider, by name inside each group
            await select(pilot, "linear")

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @three_sizes
    def test_side_panel(self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await select(pilot, "google")  # the panel shows from 140 columns on

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @three_sizes
    def test_export_preview(self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]) -> None:
        from textual.widgets import Button, Select

        from screens.export import ExportScreen

        EXPORT_DIR.mkdir(exist_ok=True)

        async def run_before(pilot: Pilot[None]) -> None:
            await select(pilot, "github")
            await pilot.press("e")
            screen = screen_of(pilot.app, ExportScreen)
            screen.query_one("#target", Select).value = "dotenv"
            await pilot.pause()
            screen.query_one("#file", Input).value = str(EXPORT_DIR / ".env")
            screen.query_one("#preview-button", Button).press()
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.2)

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @three_sizes
    def test_add_form_with_jira_dc(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        from screens.add_token import AddTokenScreen

        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("a")
            screen_of(pilot.app, AddTokenScreen)
            await pilot.press(*"jira-work", "tab", *"jira-dc", "tab")  # typed, as a person would
            await pilot.pause()

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @three_sizes
    def test_help(self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]) -> None:
        from screens.dialogs.help import HelpScreen

        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("question_mark")
            screen_of(pilot.app, HelpScreen)

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)

    @three_sizes
    def test_a_dialog_with_its_footer(
        self, snap_compare: SnapCompare, every_status: VaultApp, size: tuple[int, int]
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await select(pilot, "gitlab")
            await pilot.press("d")
            screen_of(pilot.app, ConfirmDialog)

        assert snap_compare(every_status, run_before=run_before, terminal_size=size)
