"""Exporting a credential from the TUI: the same export as ``tokendeck export``.

The form asks what the command line's options ask (target, variable, MCP server,
URL or command, netrc host and login, file, reference or plaintext).  Enter (or
Preview) plans the export with :func:`vault.services.exports.plan_export` and
shows its diff, every secret masked as ``***``; only a previewed plan can be
written (ctrl+s, or Write), by :func:`vault.services.exports.write_export`.
Changing any field drops the plan, so what is written is what was shown.  The
``shell`` target writes no file: its line is sent to the clipboard instead.

The plan of a plaintext export holds the file's new text, token included, so it
lives only until it is written or the screen is left.
"""

from __future__ import annotations

import re
import shlex
from typing import ClassVar

from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from screens.app import VaultApp
from screens.widgets.footer import KeysFooter
from screens.widgets.guarded_input import GuardedInput
from screens.widgets.tick_box import TickBox, TickRadio
from screens.widgets.title_header import TitleHeader
from vault.errors import InvalidInput, VaultError
from vault.services.exports import (
    DEFAULT_FILES,
    FILE_TARGETS,
    MCP_TARGETS,
    PLAINTEXT_ONLY,
    TARGETS,
    Plan,
    ShellLine,
    Spec,
    check_spec,
    plan_export,
    shell_line,
    target_path,
    write_export,
)

TARGET_LABELS = {
    "shell": "shell: an export line, to paste",
    "dotenv": "dotenv: a .env file",
    "netrc": "netrc: a .netrc machine entry",
    "claude-code": "Claude Code (.mcp.json)",
    "claude-desktop": "Claude Desktop",
    "cursor": "Cursor",
    "windsurf": "Windsurf",
    "gemini": "Gemini CLI",
    "vscode": "VS Code (.vscode/mcp.json)",
    "zed": "Zed",
    "codex": "Codex (config.toml)",
}
"""Every target ``tokendeck export`` takes, as the form lists them."""

FIELDS_FOR: dict[str, tuple[str, ...]] = {
    "shell": ("var",),
    "dotenv": ("var", "file"),
    "netrc": ("host", "login", "file"),
    **{target: ("server", "var", "url", "command", "file") for target in MCP_TARGETS},
}
"""The inputs each target uses (the others are hidden, and not read)."""

ALL_FIELDS = tuple(dict.fromkeys(key for keys in FIELDS_FOR.values() for key in keys))

CHANGED = "Changed since the preview: press enter to preview again."


def suggested_var(name: str) -> str:
    """A variable name to start from: ``github-work`` → ``GITHUB_WORK_TOKEN``."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "TOKEN"
    return f"_{stem}_TOKEN" if stem[0].isdigit() else f"{stem}_TOKEN"


def default_target(mcp_server: bool) -> str:
    """Where the form starts: an MCP server's credential into Claude Code's ``.mcp.json`` (a
    bridge entry), any other token into a ``.env``."""
    return "claude-code" if mcp_server else "dotenv"


class ExportScreen(Screen[None]):
    """The export form for credential ``name`` (``mcp_server``: it signs in to an MCP server)."""

    app = getters.app(VaultApp)
    preview = getters.query_one("#preview", Static)
    problem = getters.query_one("#export-problem", Label)

    AUTO_FOCUS: ClassVar[str | None] = "#var"  # a field the person types into first
    HOLDS_NOTICES: ClassVar[bool] = True
    """A form: a refresher's notices wait until it is gone (:meth:`VaultApp.tell_background`)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "write", "Write"),
        Binding("enter", "preview", "Preview", show=False, priority=True),
    ]

    def __init__(self, name: str, *, mcp_server: bool = False) -> None:
        super().__init__()
        self.credential = name
        self._start_target = default_target(mcp_server)
        self._plaintext_forced = False
        """Plaintext was picked by a plaintext-only target (.env, .netrc), not by the person."""
        self.sub_title = f"Export {name}"
        self._plan: Plan | None = None
        self._line: ShellLine | None = None
        """The shell target's planned line."""
        self._planned_for: tuple[object, ...] | None = None
        """The form as it was when the plan shown was made."""

    def compose(self) -> ComposeResult:
        yield TitleHeader()
        with VerticalScroll(id="export"):
            yield Static(
                "Enter previews the change, every secret as ***; ctrl+s writes it.",
                classes="muted",
            )
            with Horizontal(classes="row"):
                yield Label("Target", classes="field")
                options = [(TARGET_LABELS[t], t) for t in TARGETS]
                yield Select(options, value=self._start_target, allow_blank=False, id="target")
            with RadioSet(id="mode"):
                yield TickRadio("reference: no secret in the file", value=True, id="reference")
                yield TickRadio("plaintext: the token itself, re-written on every refresh", id="plaintext")
            yield self._field("server", "MCP server", "the entry to add or change, e.g. github")
            yield self._field("var", "Variable", "e.g. GITHUB_TOKEN", suggested_var(self.credential))
            yield self._field("url", "URL", "a remote server's URL (https); blank for a stdio server")
            yield self._field("command", "Command", "a new stdio server's command line")
            yield self._field("host", "Host", "the machine, e.g. api.github.com")
            yield self._field("login", "Login", "optional (default: the entry's own)")
            yield self._field("file", "File", "the file to write")
            yield TickBox("plaintext even into a file git tracks or does not ignore", id="force")
            yield Label("", id="export-problem", classes="problem", markup=False)
            yield Static("", id="preview", markup=False)
        with Horizontal(id="export-buttons"):  # below the scrolling form: always in view
            yield Button("Preview", id="preview-button", variant="primary")
            yield Button("Write", id="write", disabled=True)
        yield KeysFooter()

    @staticmethod
    def _field(key: str, label: str, placeholder: str, value: str = "") -> Horizontal:
        return Horizontal(
            Label(label, classes="field"),
            GuardedInput(value=value, placeholder=placeholder, id=key),
            id=f"row-{key}",
            classes="row",
        )

    def on_mount(self) -> None:
        self._target_changed()

    # ------------------------------------------------------------ the form

    @property
    def target(self) -> str:
        return str(self.query_one("#target", Select).value)

    def _text(self, key: str) -> str | None:
        if key not in FIELDS_FOR[self.target]:
            return None
        return self.query_one(f"#{key}", Input).value.strip() or None

    @property
    def plaintext(self) -> bool:
        return self.query_one("#plaintext", RadioButton).value

    @on(Select.Changed, "#target")
    def _target_changed(self) -> None:
        target = self.target
        for key in ALL_FIELDS:
            self.query_one(f"#row-{key}").display = key in FIELDS_FOR[target]
        if target in FILE_TARGETS:
            self.query_one("#file", Input).placeholder = f"default: {DEFAULT_FILES[target]}"
        only_plaintext = target in PLAINTEXT_ONLY
        reference = self.query_one("#reference", RadioButton)
        reference.disabled = only_plaintext
        if only_plaintext:
            self._plaintext_forced = self._plaintext_forced or not self.plaintext
            self.query_one("#plaintext", RadioButton).value = True
        elif self._plaintext_forced:  # the target chose plaintext, not the person: back to a reference
            self._plaintext_forced = False
            reference.value = True
        self._mode_changed()

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self) -> None:
        self.query_one("#force").display = self.plaintext and self.target in FILE_TARGETS
        self._forget_plan()

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _forget_plan(self) -> None:
        """A change drops the preview: only what was shown can be written."""
        if self._planned_for == self._form():
            return  # e.g. the echo of a change made before the preview
        had = self._plan is not None or self._line is not None
        self._plan = None
        self._line = None
        self._planned_for = None
        self.query_one("#write", Button).disabled = True
        if had:
            self._show(CHANGED)

    def _form(self) -> tuple[object, ...]:
        """Everything the form says, to tell whether it changed since the preview."""
        inputs = tuple(self.query_one(f"#{key}", Input).value for key in FIELDS_FOR[self.target])
        return (self.target, self.plaintext, self.query_one("#force", Checkbox).value, *inputs)

    def spec(self) -> Spec:
        """The form as an export spec, checked by the command line's rules.

        Raises:
            InvalidInput: a missing or malformed field (worded with the option it stands for).
        """
        command = self._text("command")
        try:
            argv = tuple(shlex.split(command)) if command else ()
        except ValueError as exc:
            raise InvalidInput(f"--command: {exc}") from None
        spec = Spec(
            target=self.target,
            name=self.credential,
            var=self._text("var"),
            server=self._text("server"),
            host=self._text("host"),
            login=self._text("login"),
            command=argv,
            plaintext=self.plaintext,
            url=self._text("url"),
        )
        check_spec(spec)
        return spec

    # ------------------------------------------------------------- actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter previews from every field (the Target list, the mode, the checkbox: space
        toggles or opens those); on a button it presses it, in an open list it picks."""
        if action == "preview":
            return not isinstance(self.focused, Button) and not self.query_one("#target", Select).expanded
        return True

    @on(Button.Pressed, "#preview-button")
    async def action_preview(self) -> None:
        self._plan, self._line, self._planned_for = None, None, None
        self.query_one("#write", Button).disabled = True
        self.problem.update("")
        self._show("")
        try:
            spec = self.spec()
        except VaultError as exc:
            self.problem.update(exc.message)
            self.call_after_refresh(self.problem.scroll_visible)
            return
        force = self.query_one("#force", Checkbox).value
        form = self._form()
        path = target_path(spec.target, self._text("file")) if spec.target in FILE_TARGETS else None
        try:
            if path is None:
                self._line = await self.app.read(lambda vault: shell_line(vault, spec), name="plan the export")
                fresh = f"\n{self._line.freshness}" if self._line.freshness else ""
                shown = f"{self._line.shown}{fresh}\nWrite sends this line to the terminal's clipboard."
            else:
                plan = await self.app.read(lambda vault: plan_export(vault, spec, path, force=force), name="plan")
                self._plan, shown = plan, plan.diff or f"{path}: already up to date"
                if plan.freshness:  # how long the token stays good where the tool reads it
                    shown = f"{shown.rstrip()}\n{plan.freshness}"
        except VaultError as exc:
            self.problem.update(exc.message)
            self.call_after_refresh(self.problem.scroll_visible)
            return
        if form != self._form():  # changed while it was planned: that plan is not what the form says
            self._plan, self._line = None, None
            self._show(CHANGED)
            return
        self._planned_for = form
        self._show(shown)
        self.call_after_refresh(self.preview.scroll_visible)  # below the fold on a small terminal
        self.query_one("#write", Button).disabled = False

    @on(Button.Pressed, "#write")
    async def action_write(self) -> None:
        if self._line is not None:
            line, self._line = self._line, None
            copier = self.app.copier
            send = copier.copy_secret if line.secret else copier.copy_line
            send(line.text, f"the export line for {self.credential}")
            self.app.pop_screen()
            return
        change, self._plan = self._plan, None
        if change is None:
            self.problem.update("Preview first (enter): only a previewed change is written.")
            return
        self.query_one("#write", Button).disabled = True
        try:
            notices = await self.app.read(lambda vault: write_export(vault, change), name="write the export")
        except VaultError as exc:
            self.problem.update(exc.message)
            return
        self.app.notify("\n".join(notices), title="Exported", markup=False)
        self.app.pop_screen()

    def _show(self, preview: str) -> None:
        """The preview box shows ``preview``; with nothing previewed it is not there at all."""
        self.preview.update(preview)
        self.preview.display = bool(preview)

    def action_cancel(self) -> None:
        self._plan = None
        self._line = None
        self.app.pop_screen()
