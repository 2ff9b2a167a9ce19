"""Signing in from the TUI: pick a provider, register its app if needed, then wait
for the browser (or a device code) while a countdown runs.

The sign-in itself is :func:`vault.services.signin.login`, run in a thread worker with
:class:`TuiSignIn`, which turns the flow's callbacks into messages nested on
:class:`SignInScreen`.  ``login`` stores nothing until the flow has finished, so a
refused, failed or cancelled sign-in leaves the vault as it was and the screen
ready to try again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar, Literal

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Checkbox, ContentSwitcher, Label, OptionList, Static
from textual.widgets.option_list import Option

from screens.app import VaultApp
from screens.dialogs.confirm import ConfirmDialog
from screens.logic.provider_choices import ProviderChoice, provider_choices
from screens.messages import VaultChanged
from screens.signin_flow import (
    BrowserFailed,
    DeviceCodeReady,
    Failed,
    Notice,
    ReplaceAccount,
    SignedIn,
    TuiSignIn,
    UrlReady,
    countdown,
)
from screens.widgets.footer import KeysFooter
from screens.widgets.mcp_url import McpUrlForm
from screens.widgets.registration import RegistrationForm
from screens.widgets.tick_box import TickBox
from screens.widgets.title_header import TitleHeader
from vault.core.model import Credential
from vault.errors import AccountChanged, ProviderError, VaultError, plain_words
from vault.services.signin import DEFAULT_TIMEOUT

View = Literal["pick", "register", "mcp", "wait"]

MCP_OPTION = "mcp-url"
"""The provider list's entry for signing in to an MCP server from its URL."""


class SignInScreen(Screen[None]):
    """Sign in to a provider; lands back on the list with the new credential highlighted.

    Args:
        timeout: how long the browser sign-in may take (seconds).
        again: sign in again for this credential: its tokens are replaced in place, so its
            name, export bindings and audit trail stay.
        provider: with ``again``, the credential's provider (its stored registration is used).
    """

    app = getters.app(VaultApp)
    switcher = getters.query_one("#views", ContentSwitcher)
    providers = getters.query_one("#providers", OptionList)
    device = getters.query_one("#device", Checkbox)
    problem = getters.query_one("#problem", Label)
    form = getters.query_one("#register", RegistrationForm)
    mcp_form = getters.query_one("#mcp", McpUrlForm)
    time_left = getters.query_one("#time-left", Static)

    SUB_TITLE = "Sign in"
    AUTO_FOCUS: ClassVar[str | None] = "#providers"
    HOLDS_NOTICES: ClassVar[bool] = True
    """A form: a refresher's notices wait until it is gone (:meth:`VaultApp.tell_background`)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel sign-in"),
        Binding("escape", "back", "Back"),
        Binding("d", "toggle_device", "Device code"),
        Binding("e", "edit", "Edit registration"),
        Binding("c", "copy_url", "Copy URL"),
        Binding("m", "mcp", "MCP server"),
    ]

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, again: str | None = None, provider: str | None = None
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.again = again
        self.again_provider = provider
        self._choices: dict[str, ProviderChoice] = {}
        self._cancel: threading.Event | None = None
        self._deadline: float | None = None
        self._url: str | None = None
        self._waiting_for: str | None = None
        self._came_from: View = "pick"
        """The view a failed or cancelled sign-in goes back to (the MCP form keeps its URL to fix)."""

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield TitleHeader()
        with ContentSwitcher(initial="pick", id="views"):
            with Vertical(id="pick"):
                yield Static("Sign in to a provider", classes="title")
                yield Static(
                    "Enter signs in with your browser.  Providers you have not registered yet ask for your "
                    "app's client ID first.",
                    classes="muted",
                )
                yield OptionList(id="providers")
                yield TickBox("Use a device code instead of this computer's browser (d)", id="device")
            yield RegistrationForm(id="register")
            yield McpUrlForm(id="mcp")
            with Vertical(id="wait"):
                yield Static("", id="wait-title", classes="title", markup=False)
                yield Static("", id="wait-hint", markup=False)
                yield Static("", id="user-code", markup=False)
                yield Static("", id="wait-url", markup=False)
                yield Static("", id="time-left", markup=False)
                yield Static("c copies the URL  ·  escape cancels", classes="muted")
        yield Label("", id="problem", classes="problem", markup=False)
        yield KeysFooter()

    async def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)
        self.say("Loading the providers…")
        await self.load_choices(select=f"reg:{self.again_provider}" if self.again_provider else None)
        self.say("")
        if self.again is not None and self.again_provider is not None:
            choice = self._choices.get(f"reg:{self.again_provider}") or self._choices.get(f"new:{self.again_provider}")
            if choice is None:
                self.say(f"{self.again_provider} is not a provider tokendeck knows any more; pick one to sign in to.")
            else:
                self.choose(choice)

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()  # a flow still waiting stops within a tenth of a second

    async def load_choices(self, select: str | None = None) -> None:
        """(Re)read the registrations (in a worker) and list every provider, registered ones first."""
        try:
            choices = await self.app.read(provider_choices, name="read the registrations")
        except VaultError as exc:
            self.app.report(exc)
            return
        self._choices = {c.option_id: c for c in choices}
        options: list[Option | None] = []
        registered = [c for c in choices if c.registration is not None]
        if registered:
            options.append(Option(Text("Registered", style="bold underline"), disabled=True))
            options += [Option(c.prompt(), id=c.option_id) for c in registered]
            options.append(None)
        options.append(Option(Text("Built in (needs your own app)", style="bold underline"), disabled=True))
        options += [Option(c.prompt(), id=c.option_id) for c in choices if c.registration is None]
        options.append(None)
        options.append(Option(Text("MCP server", style="bold underline"), disabled=True))
        options.append(Option("Any MCP server, from its URL (m)", id=MCP_OPTION))
        self.providers.set_options(options)
        target = select or (registered[0].option_id if registered else None)
        if target is not None and target in self._choices:
            self.providers.highlighted = self.providers.get_option_index(target)
        elif self.providers.option_count > 1:
            self.providers.highlighted = 1
        self._sync_device()

    # ----------------------------------------------------------------- state

    @property
    def view(self) -> View:
        current = self.switcher.current
        return current if current in ("register", "mcp", "wait") else "pick"  # type: ignore[return-value]

    def show(self, view: View) -> None:
        self.switcher.current = view
        self.refresh_bindings()
        if view == "pick":
            self.providers.focus()

    def highlighted_choice(self) -> ProviderChoice | None:
        option = self.providers.highlighted_option
        return None if option is None or option.id is None else self._choices.get(option.id)

    def _sync_device(self) -> None:
        choice = self.highlighted_choice()
        capable = choice is not None and choice.has_device_flow
        self.device.display = capable
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.view if self.is_mounted else "pick"
        if action == "toggle_device":
            choice = self.highlighted_choice() if view == "pick" else None
            return choice is not None and choice.has_device_flow
        if action == "edit":
            choice = self.highlighted_choice() if view == "pick" else None
            return choice is not None and choice.registration is not None
        if action == "copy_url":
            return view == "wait" and self._url is not None
        if action == "cancel":
            return view == "wait"
        if action == "mcp":
            return view == "pick"
        if action == "back":
            return view != "wait"
        return True

    def say(self, text: str) -> None:
        """Show a problem (plain text: it may carry a provider's own words)."""
        self.problem.update(text)

    # ---------------------------------------------------------------- choose

    @on(OptionList.OptionHighlighted, "#providers")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._sync_device()

    @on(OptionList.OptionSelected, "#providers")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == MCP_OPTION:
            self.action_mcp()
            return
        choice = self._choices.get(event.option.id or "")
        if choice is not None:
            self.choose(choice)

    def choose(self, choice: ProviderChoice) -> None:
        """Sign in with a registered provider, or ask for the app's registration first."""
        self.say("")
        if choice.problem is not None:
            self.say(f"{choice.key} cannot be used: {choice.problem}. Press e to register its app again.")
            return
        if choice.registration is None:
            self.open_form(choice)
            return
        device_only = choice.provider is not None and choice.provider.device_only
        self.start(choice.key, device=(self.device.value and choice.has_device_flow) or device_only)

    def action_toggle_device(self) -> None:
        self.device.toggle()

    def action_edit(self) -> None:
        choice = self.highlighted_choice()
        if choice is not None and choice.registration is not None:
            self.open_form(choice)

    # -------------------------------------------------------------- register

    def open_form(self, choice: ProviderChoice) -> None:
        """Ask for the client ID (and secret) of the user's app at ``choice``."""
        try:
            self.form.load(choice, device=self.device.value)
        except VaultError as exc:
            self.say(exc.message)
            return
        self.say("")
        self.show("register")
        self.form.focus_first()

    @on(RegistrationForm.Problem)
    def _form_problem(self, message: RegistrationForm.Problem) -> None:
        self.say(message.text)

    @on(RegistrationForm.Saved)
    async def _registered(self, message: RegistrationForm.Saved) -> None:
        await self.load_choices(select=f"reg:{message.key}")
        self.app.notify(f"Stored your app for {message.key}.", title="Registered", markup=False)
        choice = self._choices.get(f"reg:{message.key}")
        self.start(message.key, device=message.device and choice is not None and choice.has_device_flow)

    # ------------------------------------------------------------ MCP server

    def action_mcp(self) -> None:
        """Ask for an MCP server's URL."""
        self.say("")
        self.mcp_form.reset()
        self.show("mcp")
        self.mcp_form.focus_first()

    @on(McpUrlForm.Problem)
    def _mcp_problem(self, message: McpUrlForm.Problem) -> None:
        self.say(message.text)

    @on(McpUrlForm.Submitted)
    def _mcp_submitted(self, message: McpUrlForm.Submitted) -> None:
        self._wait(f"Signing in to {message.url}…", "Asking the server where to sign in…")
        self.sign_in_mcp(message.url, message.client_id, self._started(message.url, came_from="mcp"))

    # ---------------------------------------------------------------- sign in

    def start(self, key: str, *, device: bool) -> None:
        """Run the sign-in in a worker and show the waiting view."""
        again = f" again, for {self.again}" if self.again and key == self.again_provider else ""
        self._wait(f"Signing in to {key}{again}…", "Asking for a device code…" if device else "Opening your browser…")
        self.sign_in(key, device, self._started(key))

    def _wait(self, title: str, hint: str) -> None:
        """Show the waiting view, with ``title`` and ``hint``."""
        self.say("")
        self.query_one("#wait-title", Static).update(title)
        self.query_one("#wait-hint", Static).update(hint)
        self.query_one("#user-code", Static).display = False
        self._show_url_line("")
        self._deadline = self.app.clock.now() + self.timeout
        self.tick()
        self.show("wait")

    def _started(self, what: str, came_from: View = "pick") -> threading.Event:
        """A sign-in to ``what`` begins (from the view ``came_from``): its cancel switch (escape sets it)."""
        self._came_from = came_from
        self._cancel = threading.Event()
        self._url = None
        self._waiting_for = what
        self.refresh_bindings()
        return self._cancel

    @work(thread=True, exclusive=True, exit_on_error=False, group="signin")
    def sign_in(self, key: str, device: bool, cancel: threading.Event) -> None:
        """``login`` blocks until the browser comes back, the code is approved, or it fails."""
        from vault.services.signin import login

        ui = TuiSignIn(self, cancel)
        self._report(
            lambda: login(
                self.app.unlocked_vault,
                key,
                ui,
                name=self.again if key == self.again_provider else None,  # in place: name and bindings kept
                device=device,
                timeout=self.timeout,
                cancel=cancel,
                notice=ui.notice,
                confirm=ui.confirm_replace,
            )
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="signin")
    def sign_in_mcp(self, url: str, client_id: str | None, cancel: threading.Event) -> None:
        """``login_mcp``: discovery, registration when needed, then the browser sign-in."""
        from vault.services.mcp_signin import login_mcp

        ui = TuiSignIn(self, cancel)
        self._report(
            lambda: login_mcp(
                self.app.unlocked_vault,
                url,
                ui,
                client_id=client_id,
                timeout=self.timeout,
                cancel=cancel,
                notice=ui.notice,
                confirm=ui.confirm_replace,
            )  # fmt: skip
        )

    def _report(self, sign_in: Callable[[], Credential]) -> None:
        """Run ``sign_in`` (on the worker's thread) and post how it ended."""
        try:
            credential = sign_in()
        except VaultError as exc:
            if isinstance(exc, AccountChanged):
                kept = f"Kept {exc.name} as {exc.stored}; the sign-in as {exc.signed} was not stored."
                self.post_message(Failed(kept, "declined"))
            elif isinstance(exc, ProviderError):
                self.post_message(Failed(plain_words(exc), exc.code))
            else:
                self.post_message(Failed(exc.message))
            return
        self.post_message(SignedIn(credential.name, credential.account, credential.provider))

    def tick(self) -> None:
        """Update the time left from the app's clock."""
        if self._deadline is None:
            return
        self.time_left.update(f"Time left: {countdown(self._deadline - self.app.clock.now())}")

    def _show_url_line(self, text: str) -> None:
        """The URL line of the waiting view, hidden when empty (no blank gap)."""
        line = self.query_one("#wait-url", Static)
        line.update(text)
        line.display = bool(text)

    @on(UrlReady)
    def _url_ready(self, message: UrlReady) -> None:
        self._url = message.url
        self.query_one("#wait-hint", Static).update(
            "Finish signing in with your browser. If it did not open, open this URL yourself:"
        )
        self._show_url_line(message.url)
        self.refresh_bindings()

    @on(BrowserFailed)
    def _browser_failed(self, message: BrowserFailed) -> None:
        self.query_one("#wait-hint", Static).update("No browser could be started. Open this URL yourself:")

    @on(DeviceCodeReady)
    def _device_code(self, message: DeviceCodeReady) -> None:
        self._url = message.verification_uri_complete or message.verification_uri
        self._deadline = self.app.clock.now() + message.expires_in
        self.query_one("#wait-hint", Static).update(f"On any device, open {message.verification_uri} and enter")
        code = self.query_one("#user-code", Static)
        code.update(message.user_code)
        code.display = True
        complete = message.verification_uri_complete
        self._show_url_line(f"or open {complete}" if complete else "")
        self.tick()
        self.refresh_bindings()

    @on(Notice)
    def _notice(self, message: Notice) -> None:
        self.app.notify(message.text, title="Sign-in", severity="warning", markup=False)

    @on(ReplaceAccount)
    def _replace_account(self, message: ReplaceAccount) -> None:
        """The sign-in is another account: nothing is stored until the user says yes."""
        body = (
            f"{message.name} holds {message.stored}; this sign-in is {message.signed}.\n\n"
            f"Replacing it makes every script, export and forward that uses {message.name} act as "
            f"{message.signed}. Cancel keeps {message.stored} and throws this sign-in away."
        )
        dialog = ConfirmDialog(f"Replace {message.stored} with {message.signed}?", body, yes="Replace")

        def answered(yes: bool | None) -> None:
            if not message.answer.done():
                message.answer.set_result(bool(yes))

        self.app.push_screen(dialog, answered)

    @on(SignedIn)
    def _signed_in(self, message: SignedIn) -> None:
        self._finish()
        who = f"as {message.account}" if message.account else f"to {message.provider}"
        self.app.notify(f"Signed in {who}; stored as {message.name}.", title="Signed in", markup=False)
        below = self.app.screen_stack[-2] if self.app.screen is self and len(self.app.screen_stack) > 1 else None
        if self.app.screen is self:
            self.app.pop_screen()
        if below is not None:
            below.post_message(VaultChanged(highlight=message.name))

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        was_waiting = self._waiting_for is not None
        self._finish()
        if message.code == "cancelled":
            self.say("The sign-in was cancelled; nothing was stored.")
        elif message.code == "declined":
            self.say(message.text)
        else:
            self.say(message.text + ("  Press enter to try again." if was_waiting else ""))
        if self.view == "wait":
            self.show(self._came_from)
            if self._came_from == "mcp":
                self.mcp_form.focus_first()

    def _finish(self) -> None:
        self._cancel = None
        self._deadline = None
        self._url = None
        self._waiting_for = None
        self.refresh_bindings()

    # ---------------------------------------------------------------- keys

    def action_copy_url(self) -> None:
        if self._url is not None:
            self.app.copier.copy_line(self._url, "the sign-in URL, whole")

    def action_cancel(self) -> None:
        """Escape while waiting: the flow stops at its next check (a tenth of a second) and stores nothing."""
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self.query_one("#wait-title", Static).update("Cancelling…")

    def action_back(self) -> None:
        """Escape: leave a form, or close the screen."""
        if self.view in ("register", "mcp"):
            self.form.clear_secret()
            self.say("")
            self.show("pick")
            return
        self.app.pop_screen()
