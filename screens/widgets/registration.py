"""The registration form of the sign-in screen: the client ID (and secret) of the
user's own app at a provider, or a whole server for the OpenID Connect template.

It follows the rules ``tokendeck provider add`` follows
(:mod:`vault.services.registration`): discovery and the vault write run in a worker,
and every refusal leaves the vault as it was.  It tells its screen what happened by
messages: :class:`RegistrationForm.Problem` for a line to show,
:class:`RegistrationForm.Saved` once the app is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import getters, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Static

from screens.app import VaultApp
from screens.logic.provider_choices import ProviderChoice
from screens.widgets.guarded_input import GuardedInput
from screens.widgets.tick_box import TickBox
from vault import Vault
from vault.core.model import ClientRegistration
from vault.core.providers import Provider, builtin, resolve
from vault.core.secret import Secret
from vault.errors import VaultError
from vault.services.registration import RegistrationRequest, prepare, store


@dataclass(frozen=True)
class RegistrationEntry:
    """What the user typed into the registration form (the secret already wrapped).

    Attributes:
        request: the registration asked for (checked by :mod:`vault.services.registration`).
        client_secret: the app's secret, if one was typed.
        device: the user wants the device flow (GitHub needs no secret for it).
    """

    request: RegistrationRequest
    client_secret: Secret | None
    device: bool = False


def register(vault: Vault, entry: RegistrationEntry) -> ClientRegistration:
    """Check and store a registration by the rules ``tokendeck provider add`` follows
    (discovery first; every failure leaves the vault as it was).

    Raises:
        InvalidInput: a bad name, client ID, secret, parameter or endpoint.
        ProviderError: discovery failed.
    """
    prepared = prepare(vault.records, entry.request)
    return store(vault.records, prepared, entry.client_secret, device=entry.device)


def _filled(provider: Provider, registration: ClientRegistration | None) -> Provider:
    """``provider`` with its placeholders filled from its defaults, for showing
    (a built-in GitLab's ``{base_url}`` in its register URL)."""
    if registration is not None or not provider.params:
        return provider
    try:
        return resolve(ClientRegistration(provider=provider.key, base=provider.key, client_id="-"))
    except VaultError:
        return provider


class RegistrationForm(VerticalScroll):
    """The form for one provider's app; :meth:`load` fills it for a choice."""

    app = getters.app(VaultApp)
    client_id = getters.query_one("#client-id", Input)
    client_secret = getters.query_one("#client-secret", Input)

    class Problem(Message):
        """A line for the screen to show: what is missing, or why nothing was stored."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text
            """One line, shown as plain text (it may carry a provider's own words)."""

    class Saved(Message):
        """A registration was stored; the sign-in starts next."""

        def __init__(self, key: str, device: bool) -> None:
            super().__init__()
            self.key = key
            """The provider name to sign in to."""
            self.device = device
            """Use the device flow."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's own name)
        super().__init__(id=id)
        self._editing: ProviderChoice | None = None
        self._device = False

    def compose(self) -> ComposeResult:
        yield Static("", id="register-title", classes="title", markup=False)
        yield Static("", id="register-help", markup=False)
        yield Static("", id="register-url", classes="muted", markup=False)
        with Horizontal(classes="row template"):
            yield Label("Name", classes="field")
            yield GuardedInput(placeholder="a name for this provider, e.g. acme", id="provider-name")
        with Horizontal(classes="row template"):
            yield Label("Issuer URL", classes="field")
            yield GuardedInput(placeholder="e.g. https://login.example.com", id="issuer")
        yield Vertical(id="params")
        with Horizontal(classes="row"):
            yield Label("Client ID", classes="field")
            yield GuardedInput(placeholder="your app's client ID", id="client-id")
        with Horizontal(classes="row", id="secret-row"):
            yield Label("Secret", classes="field")
            yield Input(placeholder="client secret", password=True, id="client-secret")
        with Horizontal(classes="row", id="client-type-row"):
            yield Label("", classes="field")
            yield TickBox("", id="client-type")
        yield Button("Save and sign in", id="save", variant="primary")

    def say(self, text: str) -> None:
        self.post_message(self.Problem(text))

    def clear_secret(self) -> None:
        """Forget a secret typed but not saved (leaving the form, or once it is stored)."""
        self.client_secret.value = ""

    def load(self, choice: ProviderChoice, *, device: bool) -> None:
        """Fill the form for the user's app at ``choice`` (its stored registration, if any).

        Raises:
            VaultError: the stored registration names a base that is no longer built in.
        """
        registration = choice.registration
        base = builtin(registration.base) if registration else choice.provider
        if base is None:
            return
        self._editing = choice
        self._device = device
        provider = choice.provider or base
        template = base.template and registration is None
        title = "Register a server" if template else f"Register your {provider.name} app"
        if registration is not None:
            title = f"Change the app registered for {choice.key}"
        self.query_one("#register-title", Static).update(title)
        self.query_one("#register-help", Static).update(provider.help or "")
        where = None if template else _filled(provider, registration).register_url
        self.query_one("#register-url", Static).update(f"Register it at {where}" if where else "")
        self.query_one("#register-url", Static).display = bool(where)
        for row in self.query(".template"):
            row.display = template
        for field_id in ("#provider-name", "#issuer"):
            self.query_one(field_id, Input).value = ""
        params = self.query_one("#params", Vertical)
        params.remove_children()
        stored = registration.params if registration else {}
        params.mount_all(
            Horizontal(
                Label(key.replace("_", " ").capitalize().replace(" url", " URL"), classes="field"),
                GuardedInput(value=stored.get(key, default), placeholder=key, id=f"param-{key}", classes="param"),
                classes="row",
            )
            for key, default in base.params.items()
        )
        kind = base.device_client_type
        self.query_one("#client-type-row").display = kind is not None
        if kind is not None:  # Google: only a "TVs and Limited Input devices" client takes device codes
            box = self.query_one("#client-type", Checkbox)
            box.label = f"A '{base.device_client_name or kind}' client (device code)"
            box.value = registration is not None and registration.overrides.get("client_type") == kind
        self.client_id.value = registration.client_id if registration else ""
        self.client_secret.value = ""
        self.query_one("#secret-row").display = provider.client_secret != "none"
        if registration is not None and registration.client_secret is not None:
            self.client_secret.placeholder = "client secret (leave empty to keep the stored one)"
        elif provider.client_secret == "required":
            self.client_secret.placeholder = "client secret (required)"
        else:
            self.client_secret.placeholder = "client secret (optional: leave empty if your app has none)"

    def focus_first(self) -> None:
        """Focus the first field to fill: the server's name for the template, else the client ID."""
        choice = self._editing
        template = (
            choice is not None and choice.registration is None and bool(choice.provider and choice.provider.template)
        )
        (self.query_one("#provider-name", Input) if template else self.client_id).focus()

    @on(Button.Pressed, "#save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        self.save()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.save()

    def save(self) -> None:
        """Check what can be checked at once, then store the registration in a worker."""
        choice = self._editing
        if choice is None or not self.display:
            return
        registration = choice.registration
        base = registration.base if registration else choice.key
        template = registration is None and choice.provider is not None and choice.provider.template
        name = self.query_one("#provider-name", Input).value.strip() if template else choice.key
        if not name:
            self.say("Enter a name for this provider (letters, digits and . _ @ + -).")
            self.query_one("#provider-name", Input).focus()
            return
        if not self.client_id.value.strip():
            self.say("Enter the client ID of your app (its public identifier); nothing was stored.")
            self.client_id.focus()
            return
        params = {
            widget.id.removeprefix("param-"): widget.value.strip()
            for widget in self.query(".param").results(Input)
            if widget.id is not None
        }
        secret = self.client_secret.value
        issuer = self.query_one("#issuer", Input).value.strip()
        kind = builtin(base).device_client_type
        device_client = kind is not None and self.query_one("#client-type", Checkbox).value
        overrides = {} if kind is None else {"client_type": kind if device_client else "desktop"}
        request = RegistrationRequest(
            name=name,
            client_id=self.client_id.value,
            base=base,
            params=params,
            issuer=issuer if template and issuer else None,
            existing=registration,
            overrides=overrides,
        )
        device = self._device or device_client  # such a client has no browser sign-in
        entry = RegistrationEntry(request, Secret(secret) if secret else None, device=device)
        self.say("Checking…")
        self.query_one("#save", Button).disabled = True
        self.store(entry)

    @work(thread=True, exclusive=True, exit_on_error=False, group="signin")
    def store(self, entry: RegistrationEntry) -> None:
        """Discovery and the vault write happen off the UI thread."""
        try:
            register(self.app.unlocked_vault, entry)
        except VaultError as exc:
            self.post_message(self.Finished(None, exc.message))
            return
        self.post_message(self.Finished(entry, None))

    class Finished(Message):
        """The worker is done (the form's own message: it becomes Saved or Problem)."""

        def __init__(self, entry: RegistrationEntry | None, problem: str | None) -> None:
            super().__init__()
            self.entry = entry
            self.problem = problem

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        message.stop()
        self.query_one("#save", Button).disabled = False
        if message.entry is None:
            self.say(message.problem or "")
            return
        self.clear_secret()
        self.post_message(self.Saved(message.entry.request.name, message.entry.device))
