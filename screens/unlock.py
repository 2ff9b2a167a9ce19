"""Opening the vault: unlock (passphrase, or automatically from the keyring or the
environment, or from an unlocked agent: :mod:`screens.locking`) and first run (create a
vault).  The KDF runs in a worker."""

from __future__ import annotations

from typing import ClassVar

from textual import getters, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static
from textual.worker import Worker, WorkerState

from screens.app import VaultApp
from screens.widgets.footer import KeysFooter
from screens.widgets.tick_box import TickRadio
from screens.widgets.title_header import TitleHeader
from vault import Vault
from vault.core.keys import keyring_usable
from vault.errors import VaultError
from vault.services.opening import init_vault, open_vault

Opened = tuple[Vault, str | None, int | None]
"""What an opening worker returns: the vault, the passphrase typed (for an agent to start), and
the agent whose key opened it instead (no passphrase asked)."""


class _OpeningScreen(Screen[None]):
    """Hands the vault its worker opened to the app once that worker has finished.

    Not from inside the worker: the app then replaces this screen, which cancels the screen's
    workers, the opening one included, while it was still returning.
    """

    app = getters.app(VaultApp)
    HOLDS_NOTICES: ClassVar[bool] = True
    """A form: a refresher's notices wait until it is gone (:meth:`VaultApp.tell_background`)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "unlock" and event.state == WorkerState.SUCCESS and event.worker.result:
            vault, passphrase, joined = event.worker.result
            self.app.unlocked(vault, passphrase, joined)


class UnlockScreen(_OpeningScreen):
    """Asks for the passphrase.

    Args:
        locked: shown after a lock, so the title says so.
        problem: why the app could not open the vault without asking.
        agent: an unlocked agent (its pid) after the TUI locked only its view: Enter with no
            passphrase opens the vault from it again.
    """

    passphrase = getters.query_one("#passphrase", Input)
    problem = getters.query_one("#problem", Label)

    def __init__(self, *, locked: bool = False, problem: str = "", why: str = "", agent: int | None = None) -> None:
        super().__init__()
        self.locked = locked
        self.initial_problem = problem
        self.why = why
        self.agent = agent

    def compose(self) -> ComposeResult:
        yield TitleHeader()
        with Center(), Vertical(id="unlock-box", classes="box"):
            yield Static("The vault is locked." if self.locked else "Unlock your vault", classes="title")
            yield Static(str(self.app.paths.home), classes="muted", markup=False)
            if self.why:
                yield Static(self.why, id="why", classes="muted", markup=False)
            if self.agent is not None:
                hint = f"The agent (pid {self.agent}) is unlocked: Enter opens the vault without the passphrase."
                yield Static(hint, id="agent-hint", classes="muted", markup=False)
            placeholder = "passphrase" if self.agent is None else "passphrase (or just Enter)"
            yield Input(placeholder=placeholder, password=True, id="passphrase")
            yield Label(self.initial_problem, id="problem", classes="problem", markup=False)
            yield Button("Unlock", id="unlock", variant="primary")
        yield KeysFooter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.unlock(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.unlock(self.passphrase.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock", description="unlock")
    def unlock(self, passphrase: str) -> Opened | None:
        """Open the vault (the KDF takes a moment); None after a refusal, shown on the screen.
        No passphrase, after a view lock: from the agent, while it is unlocked."""
        if not passphrase and self.agent is not None:
            from vault.agent.joining import join_unlocked

            joined = join_unlocked(self.app.paths.home, self.app.clock)
            if joined is not None:
                return joined[0], None, joined[1]
            self.app.call_from_thread(self._failed, "The agent is locked now (or gone): type the passphrase.")
            return None
        try:
            vault = open_vault(self.app.paths.home, passphrase, env={}, clock=self.app.clock)
        except VaultError as exc:
            self.app.call_from_thread(self._failed, exc.message)
            return None
        return vault, passphrase, None

    def _failed(self, message: str) -> None:
        self.problem.update(message)
        self.passphrase.value = ""
        self.passphrase.focus()


class FirstRunScreen(_OpeningScreen):
    """No vault yet: pick how it is protected and create it."""

    problem = getters.query_one("#problem", Label)

    def compose(self) -> ComposeResult:
        usable, _why = keyring_usable()  # its reason names keyring's classes: not for this screen
        self._keyring_usable = usable
        yield TitleHeader()
        with Center(), Vertical(id="first-run-box", classes="box"):
            yield Static("Create your vault", classes="title")
            yield Static(str(self.app.paths.home), classes="muted", markup=False)
            with RadioSet(id="mode") as choice:
                yield TickRadio("a random key in the OS keyring", value=usable, disabled=not usable, id="keyring")
                yield TickRadio("a passphrase", value=not usable, id="passphrase-mode")
            choice.display = usable  # with no keyring there is nothing to choose (and 80x24 has no room)
            if not usable:
                yield Static("No OS keyring works here, so the vault is protected by a passphrase.", classes="muted")
            with Horizontal(id="passphrases"):
                yield Input(placeholder="new passphrase", password=True, id="new")
                yield Input(placeholder="repeat it", password=True, id="repeat")
            yield Label("", id="problem", classes="problem")
            yield Button("Create", id="create", variant="primary")
        yield KeysFooter()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._create()

    def on_mount(self) -> None:
        if not self._keyring_usable:
            self.query_one("#new", Input).focus()  # the passphrase is the only choice: start there

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "new":
            self.query_one("#repeat", Input).focus()  # enter in the first field moves to the second
            return
        self._create()

    creating = False
    """A create worker runs: a second Enter (the key takes a moment) must not start another."""

    def _create(self) -> None:
        if self.creating:
            return
        keyring = self.query_one("#keyring", RadioButton).value
        new, repeat = self.query_one("#new", Input).value, self.query_one("#repeat", Input).value
        if not keyring:
            if not new:
                self.problem.update("Choose a passphrase.")
                return
            if not repeat:  # not a mismatch yet: the second field is still to be filled in
                self.problem.update("Type the passphrase again in the second field, to be sure of it.")
                self.query_one("#repeat", Input).focus()
                return
            if new != repeat:
                self.problem.update("The passphrases do not match.")
                return
        self.creating = True
        self.query_one("#create", Button).disabled = True
        self.problem.update("Creating the vault…")
        self.create("keyring" if keyring else "passphrase", None if keyring else new)

    def _not_created(self, message: str) -> None:
        self.creating = False
        self.query_one("#create", Button).disabled = False
        self.problem.update(message)

    def _warn(self, message: str) -> None:
        """What creating the vault has to say (a short passphrase), from the worker's thread."""
        self.app.call_from_thread(self.app.notify, message[:1].upper() + message[1:], severity="warning", timeout=15)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock", description="create the vault")
    def create(self, mode: str, passphrase: str | None) -> Opened | None:
        try:
            vault: Vault = init_vault(self.app.paths.home, mode=mode, passphrase=passphrase,  # type: ignore[arg-type]
                                      clock=self.app.clock, notice=self._warn)  # fmt: skip
        except VaultError as exc:
            self.app.call_from_thread(self._not_created, exc.message)
            return None
        self.app.created_here = True  # an agent answering for this home predates the vault
        return vault, passphrase, None
