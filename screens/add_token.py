"""Adding a static token (a personal access token or an API key) from the TUI.

Everything that can be checked without the vault's write lock is checked on
the spot, with a message in the form; the write itself runs in a worker.  The
token is typed into a masked field and never shown, logged or put in a message.
"""

from __future__ import annotations

from typing import ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

from screens.app import VaultApp
from screens.messages import VaultChanged
from screens.widgets.footer import KeysFooter
from screens.widgets.guarded_input import GuardedInput
from screens.widgets.title_header import TitleHeader
from vault.core.masking import echo
from vault.core.model import check_token
from vault.core.providers import catalog
from vault.core.secret import Secret
from vault.errors import InvalidInput, VaultError
from vault.services import static_tokens
from vault.services.static_tokens import StaticToken

FIELDS = ("name", "provider", "account", "expires", "token", "server-url", "username")
"""The form's inputs, by id, in tab order.  The fields a provider adds (Jira Data Center's
server and username) come after the token, so choosing the provider never moves the Token
field from under a person typing: the secret cannot land in a plain-text field."""


class SuggestingInput(GuardedInput):
    """An input whose completion Tab accepts, and moves on (:meth:`AddTokenScreen.action_next_field`):
    one Tab always leaves the field, so a person who counts Tabs to reach the Token field reaches
    it, and the secret never lands in a plain-text field (it used to take a second Tab after a
    completion)."""

    def accept_suggestion(self) -> None:
        suggestion = self._suggestion  # Textual's own completion, as the right arrow accepts it
        if suggestion and suggestion != self.value and self.cursor_at_end:
            self.action_cursor_right()


def static_kinds() -> list[str]:
    """The built-in static-token providers (github-pat, jira-dc, api-key)."""
    return [key for key, provider in catalog().items() if provider.kind == "static"]


class AddTokenScreen(Screen[None]):
    """A form for a static token; lands back on the list with the new row highlighted."""

    app = getters.app(VaultApp)
    problem = getters.query_one("#problem", Label)

    SUB_TITLE = "Add a token"
    AUTO_FOCUS: ClassVar[str | None] = "#name"
    HOLDS_NOTICES: ClassVar[bool] = True
    """A form: a refresher's notices wait until it is gone (:meth:`VaultApp.tell_background`)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Priority: the app moves the focus when it reads the Tab, before it hands the next key
        # to a field. Keys that arrive in one burst (auto-type, fast typing) are all handed to the
        # field focused when each is read; a Tab handled by the field itself came too late, and
        # what followed it (the secret) landed in the field before.
        Binding("tab", "next_field", "Next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
    ]

    def action_next_field(self) -> None:
        if isinstance(self.focused, SuggestingInput):
            self.focused.accept_suggestion()
        self.focus_next()

    class Added(Message):
        """The token is stored."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name
            """The new credential's name."""

    class Refused(Message):
        """The vault refused the token; nothing was stored."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text
            """Why, as plain text."""

    def compose(self) -> ComposeResult:
        kinds = static_kinds()
        yield TitleHeader()
        with VerticalScroll(id="add-token"):
            yield Static("Add a static token", classes="title")
            yield Static("The token is kept encrypted in the vault; it is never shown here.", classes="muted")
            with Horizontal(classes="row"):
                yield Label("Name", classes="field")
                yield GuardedInput(placeholder="e.g. github-work", id="name")
            with Horizontal(classes="row"):
                yield Label("Provider", classes="field")
                yield SuggestingInput(
                    placeholder=f"{', '.join(kinds)} or your own",
                    id="provider",
                    suggester=SuggestFromList(kinds, case_sensitive=False),
                )
            yield Static("", id="provider-help", classes="muted", markup=False)
            with Horizontal(classes="row"):
                yield Label("Account", classes="field")
                yield GuardedInput(placeholder="optional, e.g. octocat", id="account")
            with Horizontal(classes="row"):
                yield Label("Expires", classes="field")
                yield GuardedInput(placeholder="optional: 2026-12-31 or 90d", id="expires")
            with Horizontal(classes="row"):
                yield Label("Token", classes="field")
                yield Input(placeholder="paste it here (hidden)", password=True, id="token")
            with Vertical(id="jira"):  # after the token: see FIELDS
                with Horizontal(classes="row"):
                    yield Label("Server URL", classes="field")
                    yield GuardedInput(placeholder="e.g. https://jira.example.com", id="server-url")
                with Horizontal(classes="row"):
                    yield Label("Username", classes="field")
                    yield GuardedInput(placeholder="your username on that server", id="username")
            yield Button("Add", id="add", variant="primary")
        yield Label("", id="problem", classes="problem", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self._provider_changed()

    def value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value

    def optional(self, field_id: str) -> str | None:
        """An optional field's text; None when left blank."""
        return self.value(field_id).strip() or None

    def say(self, text: str) -> None:
        """Show a problem as plain text (names are the user's, never markup)."""
        self.problem.update(text)

    @on(Input.Changed, "#provider")
    def _provider_changed(self) -> None:
        provider = self.value("provider").strip()
        entry = catalog().get(provider)
        needs = entry.requires if entry is not None and entry.kind == "static" else ()
        self.query_one("#jira", Vertical).display = bool(needs)
        # register_help speaks of command-line flags; here the form has the fields, so only say where.
        where = entry.register_url if entry is not None and entry.kind == "static" else None
        help_text = f"Create one at {where}" if where else None
        provider_help = self.query_one("#provider-help", Static)
        provider_help.update(help_text or "")
        provider_help.display = bool(help_text)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.submit()

    @on(Button.Pressed, "#add")
    def _add_pressed(self, event: Button.Pressed) -> None:
        self.submit()

    def action_cancel(self) -> None:
        self.query_one("#token", Input).value = ""
        self.app.pop_screen()

    def check(self) -> tuple[StaticToken, Secret]:
        """Read the form and check it by the rules ``tokendeck add`` follows (no vault read here).

        Raises:
            InvalidInput: with a message for the user (never quoting the token).
        """
        name, provider, token = self.value("name").strip(), self.value("provider").strip(), self.value("token")
        if not name and not provider and not token:
            raise InvalidInput("The form is empty: enter a name, a provider and the token.")
        if not name:
            raise InvalidInput("Enter a name for the token.")
        if not provider:
            raise InvalidInput(f"Enter the provider: {', '.join(static_kinds())}, or a name of your own.")
        server_fields = self.query_one("#jira").display  # shown where the provider requires them
        checked = static_tokens.check(
            name,
            provider,
            now=self.app.clock.now(),
            account=self.optional("account"),
            expires=self.optional("expires"),
            server_url=self.optional("server-url") if server_fields else None,
            username=self.optional("username") if server_fields else None,
            sign_in_hint="press escape, then s to sign in",
        )
        if not token:
            raise InvalidInput("Paste the token.")
        check_token(token)
        return checked, Secret(token)

    def submit(self) -> None:
        try:
            checked, token = self.check()
        except VaultError as exc:
            self.say(exc.message)
            return
        self.say("Adding…")
        self.query_one("#add", Button).disabled = True
        self.add(checked, token)

    @work(thread=True, exclusive=True, exit_on_error=False, group="edit")
    def add(self, checked: StaticToken, token: Secret) -> None:
        """The vault is read and written off the UI thread."""
        vault = self.app.unlocked_vault
        try:
            if vault.records.exists(checked.name):
                raise InvalidInput(f"A credential named {echo(checked.name)} already exists: choose another name.")
            static_tokens.add(vault.records, checked, token.reveal())
        except VaultError as exc:
            self.post_message(self.Refused(exc.message))
            return
        self.post_message(self.Added(checked.name))

    @on(Refused)
    def _refused(self, message: Refused) -> None:
        self.query_one("#add", Button).disabled = False
        self.say(message.text)

    @on(Added)
    def _added(self, message: Added) -> None:
        self.query_one("#token", Input).value = ""
        self.app.notify(f"Added {message.name}.", title="Added", markup=False)
        below = self.app.screen_stack[-2] if self.app.screen is self and len(self.app.screen_stack) > 1 else None
        if self.app.screen is self:
            self.app.pop_screen()
        if below is not None:
            below.post_message(VaultChanged(highlight=message.name))
