"""The sign-in screen's form for an MCP server: nothing but the server's URL (and, for an
authorization server without dynamic registration, the client ID registered there).

The form only checks that something was typed; what the URL leads to is
:func:`vault.services.mcp_signin.login_mcp`'s to judge (the 401, the metadata, every
URL in it checked before use), run by the screen once :class:`McpUrlForm.Submitted`
arrives.
"""

from __future__ import annotations

from textual import getters, on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from screens.widgets.guarded_input import GuardedInput

HELP = (
    "tokendeck asks the server which authorization server protects it, registers itself there "
    "when the server allows it, and opens your browser to sign in. The token is bound to this "
    "server (RFC 8707) and stays in the vault; tokendeck mcp-bridge NAME hands it to your coding agent."
)


class McpUrlForm(VerticalScroll):
    """The URL of an MCP server to sign in to, and an optional client ID."""

    url = getters.query_one("#mcp-url", Input)
    client_id = getters.query_one("#mcp-client-id", Input)

    class Submitted(Message):
        """The user asked to sign in to ``url``."""

        def __init__(self, url: str, client_id: str | None) -> None:
            super().__init__()
            self.url = url
            """The MCP server's URL, as typed (stripped)."""
            self.client_id = client_id
            """The client ID to use instead of registering one, if typed."""

    class Problem(Message):
        """A line for the screen to show: what is missing."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield Static("Sign in to an MCP server", classes="title")
        yield Static(HELP, id="mcp-help", markup=False)
        with Horizontal(classes="row"):
            yield Label("Server URL", classes="field")
            yield GuardedInput(placeholder="e.g. https://mcp.example.com/mcp", id="mcp-url")
        with Horizontal(classes="row"):
            yield Label("Client ID", classes="field")
            yield GuardedInput(placeholder="optional: only if the server cannot register tokendeck", id="mcp-client-id")
        yield Button("Sign in", id="mcp-sign-in", variant="primary")

    def reset(self) -> None:
        self.url.value = ""
        self.client_id.value = ""

    def focus_first(self) -> None:
        self.url.focus()

    @on(Button.Pressed, "#mcp-sign-in")
    def _pressed(self, event: Button.Pressed) -> None:
        self.submit()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        url = self.url.value.strip()
        if not url:
            self.post_message(self.Problem("Enter the MCP server's URL (https://…); nothing was stored."))
            self.url.focus()
            return
        self.post_message(self.Submitted(url, self.client_id.value.strip() or None))
