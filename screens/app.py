"""The Textual application: what every screen reaches through ``self.app``.

The app owns the open vault (or none, while locked), the clock, the settings, the
background refresher (or the agent that does it), locking and joining the agent
(:mod:`screens.locking`), and the one worker error router
(:meth:`VaultApp.on_worker_state_changed`).  It never imports a screen: the screens it
shows by itself (unlock, first run, the list, help) are handed to it as
:class:`~screens.locking.Routes` by :func:`screens.main.make_app`, the one factory the CLI
and the tests share.  Every screen imports this module; nothing here imports them back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from screens.clipboard import Copier
from screens.forward_questions import ForwardQuestions
from screens.keys import KeyLine
from screens.locking import Locking, Routes
from screens.logic.failures import FailureNotices, Notice, event_kind, needs_the_person, notice_for, summary
from screens.logic.refreshing import (
    AGENT_CHECK_SECONDS,
    AGENT_NEWS_AT_ONCE,
    WATCH_SECONDS,
    AgentState,
    agent_not_started,
    join_agent,
    ping_agent,
)
from screens.logic.settings import TuiSettings
from screens.messages import CredentialBusy, RefresherReported, VaultChanged
from screens.palette import ActionCommands, Command
from screens.theming import apply_saved_theme, keep_theme
from screens.undo import Undoer
from vault import Vault
from vault.core.clock import Clock, SystemClock
from vault.core.keys import VaultMeta, passphrase_from_environment
from vault.core.paths import VaultPaths
from vault.core.resources import asset
from vault.errors import NeedsSignIn, ProviderError, VaultError, VaultLocked, clipped, plain_words

if TYPE_CHECKING:  # the refresher pulls in the HTTP stack: loaded after the list is up
    from textual.theme import Theme

    from vault.core.model import AuditEvent
    from vault.services.refresher import RefreshEvent

T = TypeVar("T")

_OUTCOMES = {"ok": "refreshed", "dead_grant": "needs sign-in", "client_error": "refused (app settings)"}
"""How a refresh's audit outcome reads on the status line."""


class AppCommands(ActionCommands):
    """The command palette's entries for the app itself (each screen adds its own)."""

    def commands(self) -> list[Command]:
        app = self.app
        commands: list[Command] = []
        if isinstance(app, VaultApp):
            if app.vault is not None:
                commands.append(("Lock the vault", "close it and ask for the passphrase again", app.action_lock))
            commands += [
                ("Toggle light / dark theme", "", app.action_toggle_theme),
                ("Help: keys", "", app.action_help),
            ]
        return commands


class VaultApp(Locking):
    """tokendeck's TUI.

    Args:
        paths: the vault home.
        routes: the screens it shows by itself (see :func:`screens.main.make_app`).
        vault: an already open vault (the CLI's keyring or environment unlock,
            and tests); otherwise the app unlocks or creates one itself.
        clock: the time source for countdowns and locking (tests freeze it).
        settings: thresholds and timers.
        env: where passphrase variables are read (default ``os.environ``).
        start_agent: start (or join) the agent once unlocked; the CLI's ``tokendeck``
            passes ``settings.agent``, tests leave it off.
    """

    TITLE = "tokendeck"
    COMMANDS = App.COMMANDS | {AppCommands}
    CSS_PATH = [asset("app.tcss"), asset("detail.tcss"), asset("signin.tcss")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, tooltip="quit tokendeck"),
        Binding("ctrl+l", "lock", "Lock", tooltip="lock the vault (and its agent)"),
        Binding("f1,question_mark", "help", "Help", key_display="?", tooltip="the keys of this screen"),
        Binding("u", "undo", "Undo", show=False, tooltip="undo the last delete, rename or new token (10 s)"),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False, tooltip="light / dark theme (kept in tui.toml)"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True, tooltip="every action, by name"),
    ]

    def __init__(
        self,
        paths: VaultPaths,
        *,
        routes: Routes,
        vault: Vault | None = None,
        clock: Clock | None = None,
        settings: TuiSettings | None = None,
        env: Mapping[str, str] | None = None,
        start_agent: bool = False,
    ) -> None:
        super().__init__()
        self.routes = routes
        self.start_agent = start_agent
        self.agent_pid: int | None = None
        """The agent doing the refreshing, when there is one (then the TUI runs no refresher)."""
        self.agent_problem: str | None = None
        """Why the agent is not the one refreshing (it stopped, it was locked), when the TUI wanted it."""
        self._agent_seen: AgentState | None = None
        self._agent_served = False
        """An agent has refreshed for this TUI before: one that serves now does so "again"."""
        self.created_here = False
        """The vault was just created on the first-run screen: an agent already answering for
        its home predates it (:func:`~screens.logic.refreshing.join_agent`)."""
        self._stop_following = threading.Event()
        self.busy: dict[str, str] = {}
        """Credentials with a long action running in this TUI, and what it is (``refreshing``)."""
        self.paths = paths
        self.vault: Vault | None = vault
        self.clock: Clock = clock or (vault.clock if vault else SystemClock())
        self.settings = settings or TuiSettings()
        self.env = os.environ if env is None else env
        self.last_activity = self.clock.now()
        self._refresher: object | None = None
        self.last_refresh_report: str | None = None
        """The refresher's latest outcome, for the list's status line."""
        self.copier = Copier(self, lambda: self.settings.clipboard_clear_after, self.clear_clipboard)
        """Copies tokens (cleared again later) and lines without a secret."""
        self.forward_questions = ForwardQuestions(self, str(self.paths.home))
        self.failure_notices = FailureNotices()
        """Which credentials' failures were told (once each), and notices held behind a dialog."""
        self.undoer = Undoer(self, lambda: self.clock, lambda: self.unlocked_vault.records, self.tell_every_screen)
        """The last delete, rename or token replace, which ``u`` puts back for a few seconds."""

    # --------------------------------------------------------------- routing

    def on_mount(self) -> None:
        from vault.core.policy import load_policy

        try:
            self.lock_after = load_policy(self.paths.home).lock_after
        except VaultError as exc:  # the agent refuses to start on it too, and says the same
            self.notify(exc.message, title="vault.toml", severity="warning", markup=False)
        apply_saved_theme(self, self.settings.theme)
        self.theme_changed_signal.subscribe(self, self._save_theme)
        self.set_interval(1.0, self._check_idle)
        self.set_interval(1.0, self._release_notices)
        if self.vault is not None:
            self.unlocked(self.vault)
            return
        from vault.services.opening import present

        try:  # a restore cut short is finished first, and said
            exists = present(self.paths.home, notice=lambda line: self.notify(line, title="Restore", markup=False))
        except VaultError as exc:
            self.push_screen(self.routes.unlock(problem=exc.message))
            return
        if not exists:
            self.push_screen(self.routes.first_run())
            return
        meta = VaultMeta.read(self.paths.meta)
        if meta.mode == "passphrase" and passphrase_from_environment(self.env) is None:
            if self.start_agent:
                self.join_or_ask()  # an unlocked agent opens it without asking
            else:
                self.push_screen(self.routes.unlock())
        else:
            self._open_without_asking()

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock")
    def _open_without_asking(self) -> None:
        """Keyring vaults and passphrases from the environment: no unlock screen unless it fails."""
        from vault.services.opening import open_early, open_vault

        try:
            vault = open_early(self.paths.home, self.clock) if self.env is os.environ else None
            if vault is None:
                vault = open_vault(self.paths.home, env=self.env, clock=self.clock)
        except VaultError as exc:
            self.call_from_thread(self.push_screen, self.routes.unlock(problem=exc.message))
            return
        self.call_from_thread(self.unlocked, vault)

    def unlocked(self, vault: Vault, passphrase: str | None = None, joined: int | None = None) -> None:
        """Show the vault: the list, the refresher (or the agent), the idle timer.

        ``passphrase`` is what the user just typed, for an agent that has to be started;
        ``joined``, the agent whose key opened it instead (no passphrase asked).
        """
        self.vault = vault
        self.last_activity = self.clock.now()
        self.failure_notices.forget_all()
        if joined is not None:
            self.say_joined(joined)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(self.routes.home())
        if self.start_agent:
            self._join_agent(vault, passphrase, self.created_here)
        elif self.settings.refresher:
            # After the first frame: the refresher brings the HTTP stack with it.
            self.call_after_refresh(self._start_refresher, vault)
        self.follow_vault(vault)

    @work(thread=True, exclusive=True, exit_on_error=False, group="agent", description="join the agent")
    def _join_agent(self, vault: Vault, passphrase: str | None, created: bool = False) -> None:
        """Use the running agent, or start (or unlock) one; if neither works, refresh here."""
        self.created_here = False
        state, problem = join_agent(str(self.paths.home), passphrase, created=created)
        if problem and not state.serving:
            self.call_from_thread(self.notify, agent_not_started(problem), title="Agent", severity="warning",
                                  markup=False)  # fmt: skip
        self.call_from_thread(self._agent_is, vault, state)

    @property
    def refreshed_by(self) -> str | None:
        """Who refreshes in the background now: ``the agent (pid 42)``, ``this TUI``, or None."""
        if self.agent_pid is not None:
            return f"the agent (pid {self.agent_pid})"
        return "this TUI" if self._refresher is not None else None

    def _agent_is(self, vault: Vault, state: AgentState) -> None:
        """What a ping found: leave the refreshing to a serving agent, or take it over (once per change)."""
        if self.vault is not vault or state == self._agent_seen:
            return
        before, self._agent_seen = self._agent_seen, state
        if state.serving:
            self.agent_pid, self.agent_problem = state.pid, None
            if self._refresher is not None:
                self._stop_refresher()
                if self._agent_served:  # back after it stopped; at a first start it is news to no one
                    self.notify(f"The agent (pid {state.pid}) refreshes tokens again.", title="Agent", markup=False)
            self._agent_served = True
            return
        self.agent_pid = None
        self.agent_problem = "the agent is locked" if state.pid is not None else "the agent is not running"
        if self.settings.refresher and self._refresher is None:
            self._start_refresher(vault)
        if before is not None and before.serving:
            self.notify(f"{self.agent_problem.capitalize()}; this TUI refreshes tokens while it is open.",
                        title="Agent", severity="warning", markup=False)  # fmt: skip

    def stop_following(self) -> None:
        self._stop_following.set()

    def follow_vault(self, vault: Vault) -> None:
        """Until the vault is locked: tell every screen when another process commits (within
        :data:`~screens.logic.refreshing.WATCH_SECONDS`), and keep an eye on the agent.  A plain
        daemon thread, not a worker: it lives as long as the vault is open, and waiting for
        the workers to finish must not wait for it."""
        self._stop_following.set()
        stop = self._stop_following = threading.Event()
        threading.Thread(target=self._follow, args=(vault, stop), name="tokendeck-watch", daemon=True).start()

    def _follow(self, vault: Vault, stop: threading.Event) -> None:
        import time

        from vault.services.watch import ChangeWatcher

        try:
            watcher = ChangeWatcher(vault.records)
        except VaultError:
            return
        next_ping = time.monotonic() + AGENT_CHECK_SECONDS
        while not stop.wait(WATCH_SECONDS) and self.vault is vault:
            try:
                events = watcher.poll()
                if events is not None:
                    self.call_from_thread(self._changed_elsewhere, events)
                if self.agent_pid is not None:
                    self.forward_questions.poll()  # tokendeck ssh --confirm, asked here too
                if self.start_agent and time.monotonic() >= next_ping:
                    next_ping = time.monotonic() + AGENT_CHECK_SECONDS
                    active, self.active_since_ping = self.active_since_ping, False
                    self.call_from_thread(self._agent_is, vault, ping_agent(str(self.paths.home), active=active))
            except VaultError:
                continue  # locked meanwhile, or busy: the next poll tells
            except RuntimeError:
                return  # the app has stopped

    def _changed_elsewhere(self, events: list[AuditEvent]) -> None:
        """Another process committed: every screen re-reads, and the agent's news is told."""
        for event in events:
            if event.action == "refresh" and event.credential:
                self.last_refresh_report = f"{event.credential} {_OUTCOMES.get(event.outcome, event.outcome)}"
        if self.agent_pid is not None:  # the TUI's own refresher reports its own events
            told = []
            from vault.services.watch import warned_until

            now = self.clock.now()
            for event in events:  # a retry that failed again, an ordinary refresh: nothing to tell
                kind = event_kind(event.action, event.outcome)
                if kind is not None and not needs_the_person(kind, warned_until(event), now):
                    continue  # a token expiring in days: on its row, not in a notification
                about = event.credential or "the vault"  # every notable event names one; never say None
                said = self.failure_notices.news(about, kind) if kind else None
                if said is not None:
                    told.append(notice_for(about, said, event.detail or event.outcome))
            if len(told) > AGENT_NEWS_AT_ONCE:  # the agent's first scan of a big vault: one toast, not 200
                bad = any(notice.severity == "error" for notice in told)
                self.tell_background(Notice("*", "burst", summary(n.kind for n in told), "error" if bad else "warning"),
                                     title="Agent")  # fmt: skip
                told = []
            for notice in told:
                self.tell_background(notice, title="Agent")
        self.tell_every_screen(VaultChanged)

    def tell_background(self, notice: Notice, *, title: str) -> None:
        """Notify of what a refresher did, unless a dialog or a form is in front: then the
        notice waits (:meth:`_release_notices`), so that it never covers the form's own error."""
        if self._covered():
            self.failure_notices.hold(replace(notice, title=title))
            return
        self.notify(clipped(notice.text), title=title, severity=_severity(notice.severity), markup=False)

    def _covered(self) -> bool:
        """Whether a dialog or a form (a screen that says ``HOLDS_NOTICES``) is in front."""
        screen: Screen[object] = self.screen
        return screen.is_modal or bool(getattr(screen, "HOLDS_NOTICES", False))

    def _release_notices(self) -> None:
        """Every second: the notices held behind a dialog or a form, once it is gone."""
        if self._covered():
            return
        for notice in self.failure_notices.release():
            self.notify(clipped(notice.text), title=notice.title, severity=_severity(notice.severity), markup=False)

    def set_busy(self, name: str, doing: str | None) -> None:
        """Say that ``doing`` (``refreshing``, ``revoking``) runs on ``name``, or None once it ended."""
        if doing is None:
            self.busy.pop(name, None)
        else:
            self.busy[name] = doing
        self.tell_every_screen(lambda: CredentialBusy(name))

    def tell_every_screen(self, message: Callable[[], Message]) -> None:
        """Post a fresh ``message()`` to every screen on the stack (a message is delivered once)."""
        for screen in self.screen_stack:
            screen.post_message(message())

    def action_undo(self) -> None:
        self.undoer.undo()

    def lock(self, why: str = "", *, everything: bool = True) -> None:
        self.undoer.forget()  # the credential kept for an undo holds its tokens
        super().lock(why, everything=everything)

    def action_help(self) -> None:
        self.push_screen(self.routes.help(self.screen), self._run_from_help)

    async def _run_from_help(self, chosen: KeyLine | None) -> None:
        """A line chosen in the help (Enter): its key's action, on the screen the help was over."""
        if chosen is not None:
            await self.run_action(chosen.action, chosen.node)

    def _save_theme(self, theme: Theme) -> None:
        """Every theme change (ctrl+t, the palette's picker) is kept in ``tui.toml`` for next time."""
        self.settings = keep_theme(self, self.paths, self.settings, theme)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    # ----------------------------------------------------------- refresher

    def _start_refresher(self, vault: Vault) -> None:
        from vault.services.refresher import BackgroundRefresher

        if self.vault is not vault:  # locked before the first frame
            return
        refresher = BackgroundRefresher(
            vault,
            interval=self.settings.refresh_interval,
            on_event=self._report,
        )
        refresher.start()
        self._refresher = refresher

    def _report(self, event: RefreshEvent) -> None:
        self.post_message(RefresherReported(event))  # thread-safe: called from the refresher's threads

    def _stop_refresher(self) -> None:
        from vault.services.refresher import BackgroundRefresher

        if isinstance(self._refresher, BackgroundRefresher):
            self._refresher.stop()
        self._refresher = None

    @property
    def refresher(self) -> object | None:
        return self._refresher

    async def read(self, reader: Callable[[Vault], T], *, name: str) -> T:
        """``reader(vault)`` run on a thread worker and awaited: the screen waits for its data,
        the UI does not (a read never blocks the event loop).

        Raises:
            VaultError: what the read raised (VaultLocked if the vault was locked meanwhile),
                for the caller to handle: it is not sent to the worker router.
        """

        def run() -> T | VaultError:
            try:
                return reader(self.unlocked_vault)
            except VaultError as exc:
                return exc

        result = await self.run_worker(run, thread=True, group="read", exit_on_error=False, name=name).wait()
        if isinstance(result, VaultError):
            raise result
        return result

    def report(self, error: VaultError) -> None:
        """Show an expected failure as a notification (the worker router's way, for reads awaited).
        A credential that needs a new sign-in is told the TUI's way to act, not the command line's."""
        message = error.message
        if isinstance(error, NeedsSignIn) and error.situation:
            act = "delete it (d) and add the new token (a)" if error.static else "press l on it to sign in again"
            message = f"{error.situation}: {act}."
        elif isinstance(error, ProviderError):
            message = plain_words(error)  # what it means first, the provider's own words below
        self.notify(message, title=error.title, severity="error", markup=False)

    @property
    def unlocked_vault(self) -> Vault:
        """The open vault, for screens that only exist while it is open.

        Raises:
            VaultLocked: the app is locked (a worker finishing after a lock).
        """
        if self.vault is None:
            raise VaultLocked("the vault is locked")
        return self.vault

    def on_refresher_reported(self, message: RefresherReported) -> None:
        """The TUI's own refresher: a failure is told once, its recovery once, never a retry."""
        if not self.screen_stack:
            return  # it reported as the app closed: no screen is left to tell
        event = message.event
        self.last_refresh_report = f"{event.credential} {event.kind.replace('_', ' ')}"
        said = self.failure_notices.news(event.credential, event.kind)
        if said is not None and needs_the_person(said, event.deadline, self.clock.now()):
            about = "the vault" if event.credential == "*" else event.credential
            self.tell_background(notice_for(about, said, event.detail), title="Refresher")
        self.screen.post_message(VaultChanged())

    async def on_unmount(self) -> None:
        self._stop_following.set()
        self._stop_refresher()

    # ------------------------------------------------------------- workers

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one error router: expected vault errors become notifications, anything else crashes."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, VaultError):
            self.report(error)
            return
        if error is not None:
            raise error


def _severity(severity: str) -> SeverityLevel:
    return "error" if severity == "error" else "warning" if severity == "warning" else "information"
