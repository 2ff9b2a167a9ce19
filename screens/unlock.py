"""Opening the vault: unlock (passphrase, or automatically from the keyring or the
environment) and first run (create a vault).  The KDF runs in a worker."""

from __future__ import annotations

from textual import getters, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, RadioButton, RadioSet, Static

from screens.app import VaultApp
from vault import Vault
from vault.core.keys import keyring_usable
from vault.errors import VaultError
from vault.services.opening import init_vault, open_vault


class UnlockScreen(Screen[None]):
    """Asks for the passphrase.

    Args:
        locked: shown after a lock, so the title says so.
        problem: why the app could not open the vault without asking.
    """

    app = getters.app(VaultApp)
    passphrase = getters.query_one("#passphrase", Input)
    problem = getters.query_one("#problem", Label)

    def __init__(self, *, locked: bool = False, problem: str = "", why: str = "") -> None:
        super().__init__()
        self.locked = locked
        self.initial_problem = problem
        self.why = why

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="unlock-box", classes="box"):
            yield Static("The vault is locked." if self.locked else "Unlock your vault", classes="title")
            yield Static(str(self.app.paths.home), classes="muted", markup=False)
            if self.why:
                yield Static(self.why, id="why", classes="muted", markup=False)
            yield Input(placeholder="passphrase", password=True, id="passphrase")
            yield Label(self.initial_problem, id="problem", classes="problem", markup=False)
            yield Button("Unlock", id="unlock", variant="primary")
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.unlock(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.unlock(self.passphrase.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock")
    def unlock(self, passphrase: str) -> None:
        """Open the vault (the KDF takes a moment) and hand it to the app."""
        try:
            vault = open_vault(self.app.paths.home, passphrase, env={}, clock=self.app.clock)
        except VaultError as exc:
            self.app.call_from_thread(self._failed, exc.message)
            return
        self.app.call_from_thread(self.app.unlocked, vault, passphrase)

    def _failed(self, message: str) -> None:
        self.problem.update(message)
        self.passphrase.value = ""
        self.passphrase.focus()


class FirstRunScreen(Screen[None]):
    """No vault yet: pick how it is protected and create it."""

    app = getters.app(VaultApp)
    problem = getters.query_one("#problem", Label)

    def compose(self) -> ComposeResult:
        usable, _why = keyring_usable()  # its reason names keyring's classes: not for this screen
        self._keyring_usable = usable
        yield Header()
        with Center(), Vertical(id="first-run-box", classes="box"):
            yield Static("Create your vault", classes="title")
            yield Static(str(self.app.paths.home), classes="muted", markup=False)
            with RadioSet(id="mode"):
                yield RadioButton("a random key in the OS keyring", value=usable, disabled=not usable, id="keyring")
                yield RadioButton("a passphrase", value=not usable, id="passphrase-mode")
            if not usable:
                yield Static("No OS keyring works here, so the vault is protected by a passphrase.", classes="muted")
            yield Input(placeholder="new passphrase", password=True, id="new")
            yield Input(placeholder="repeat it", password=True, id="repeat")
            yield Label("", id="problem", classes="problem")
            yield Button("Create", id="create", variant="primary")
        yield Footer()

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

    def _create(self) -> None:
        keyring = self.query_one("#keyring", RadioButton).value
        new, repeat = self.query_one("#new", Input).value, self.query_one("#repeat", Input).value
        if not keyring:
            if not new:
                self.problem.update("Choose a passphrase.")
                return
            if new != repeat:
                self.problem.update("The passphrases do not match.")
                return
        self.create("keyring" if keyring else "passphrase", None if keyring else new)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock")
    def create(self, mode: str, passphrase: str | None) -> None:
        try:
            vault: Vault = init_vault(self.app.paths.home, mode=mode, passphrase=passphrase,  # type: ignore[arg-type]
                                      clock=self.app.clock)  # fmt: skip
        except VaultError as exc:
            self.app.call_from_thread(self.problem.update, exc.message)
            return
        self.app.call_from_thread(self.app.unlocked, vault, passphrase)
