"""The Leaks screen (``L`` on the list): ``tokendeck scan`` of the usual places under the home
directory, run in a worker with its progress shown, then what it found grouped by credential
(live first) and the fixes that fit each, the same fixes ``tokendeck scan --fix`` asks
(:mod:`vault.services.leak_fixes`, :mod:`vault.services.leak_files`,
:mod:`vault.services.leak_fix_requests`).  ``enter`` on a fix asks in a
:class:`~screens.dialogs.confirm.ConfirmDialog` (a token's replacement then in the rotate
dialog, a sign-in again on the sign-in screen); a no changes nothing and is audited as declined.
Never a secret on screen: where, whose, what kind."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from screens import actions
from screens.app import VaultApp
from screens.dialogs.confirm import ConfirmDialog
from screens.messages import VaultChanged
from screens.widgets.footer import KeysFooter
from vault.core.phrases import counted
from vault.errors import VaultError, printable
from vault.services import leak_fixes
from vault.services.leak_fixes import Facts, Fix
from vault.services.scan_match import Matcher
from vault.services.scanning import Finding, Outcome

SCANNING = "Scanning the usual places under your home directory..."
NOTHING = "No copies of the vault's secrets in the usual places."
YES = {
    leak_fixes.ROTATE: "Replace", leak_fixes.REVOKE: "Revoke", leak_fixes.REFRESH: "Refresh",
    leak_fixes.REWRITE: "Rewrite", leak_fixes.REMOVE: "Remove", leak_fixes.SCRUB: "Remove",
}  # fmt: skip
"""Each fix's yes button."""


class LeaksScreen(Screen[None]):
    """What the scan found, and a line per fix; ``enter`` applies the highlighted one (asks first)."""

    app = getters.app(VaultApp)
    found = getters.query_one("#leaks", OptionList)
    note = getters.query_one("#leaks-note", Static)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", key_display="esc"),
        Binding("f,enter", "fix", "Fix", tooltip="apply the highlighted fix (asks first)"),
        Binding("s", "rescan", "Scan again", tooltip="scan the usual places again"),
    ]

    def __init__(self, home: Path | None = None) -> None:
        super().__init__()
        self.home = home
        self.fixes: list[Fix] = []
        self.done: set[int] = set()
        self._matcher: Matcher | None = None
        self._last = 0.0
        self.signing_in: dict[str, Fix] = {}
        """Credentials revoked here whose sign-in again is under way (audited when it lands)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="leaks-screen"):
            yield Static("Leaks: copies of the vault's secrets", classes="title")
            yield Static(SCANNING, id="leaks-note", classes="muted", markup=False)
            yield OptionList(id="leaks")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.found.focus()
        self.scan()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_rescan(self) -> None:
        self.scan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="leaks")
    def scan(self) -> None:
        """Scan (as ``tokendeck scan`` with no PATH), audit it, and read the facts of the credentials found."""
        from vault.services import scan_requests
        from vault.services.leak_fix_requests import facts_of
        from vault.services.scan_match import matcher_of
        from vault.services.scanning import Scan, home_places

        self.app.call_from_thread(self.note.update, SCANNING)
        vault = self.app.unlocked_vault
        matcher = matcher_of(json.loads(scan_requests.material(vault).data or "{}"))
        places = home_places(self.home or Path.home())
        outcome = Scan(matcher, jobs=1, progress=self._progress).run(places)
        live = sum(1 for f in outcome.findings if f.live)
        scan_requests.done(
            vault, places=len(places), files=outcome.files + outcome.objects, findings=len(outcome.findings), live=live
        )
        facts = {n: facts_of(vault, n) for n in {f.credential for f in outcome.findings}}
        self.app.call_from_thread(self._show, outcome, matcher, facts)

    def _progress(self, outcome: Outcome) -> None:
        now = time.monotonic()
        if now - self._last >= 0.2:
            self._last = now
            text = f"Scanning: {counted(outcome.files, 'file')}, {counted(outcome.objects, 'git object')}..."
            self.app.call_from_thread(self.note.update, text)

    def _show(self, outcome: Outcome, matcher: Matcher, facts: dict[str, Facts | None]) -> None:
        self._matcher = matcher
        self.fixes, self.done = [], set()
        listed = self.found
        listed.clear_options()
        groups = leak_fixes.by_credential(outcome.findings)
        for name, found in groups:
            listed.add_options(self._group(name, found, facts.get(name)))
        live = sum(1 for f in outcome.findings if f.live)
        old = len(outcome.findings) - live
        said = f"{live} live and {counted(old, 'old copy', 'old copies')} in {counted(outcome.files, 'file')}"
        self.note.update(said if groups else NOTHING)
        first = next((i for i, o in enumerate(listed.options) if not o.disabled), None)
        if first is not None:
            listed.highlighted = first

    def _group(self, name: str, found: list[Finding], facts: Facts | None) -> list[Option]:
        live = [f for f in found if f.live]
        if live:
            head = f"{name}: {counted(len(live), 'live copy', 'live copies')}"
        else:
            head = f"{name}: {counted(len(found), 'old copy', 'old copies')} (a replaced value): no fix needed"
        options = [Option(Text(printable(head), style="bold"), disabled=True)]
        options += [Option(Text("  " + printable(leak_fixes.describe(f))), disabled=True) for f in found]
        for fix in leak_fixes.fixes_for(facts, found):
            if not fix.asks:
                options.append(Option(Text("  · " + printable(fix.note), style="dim"), disabled=True))
                continue
            self.fixes.append(fix)
            options.append(Option(Text("  → " + printable(fix.question)), id=f"fix-{len(self.fixes) - 1}"))
        return options

    def highlighted_fix(self) -> int | None:
        index = self.found.highlighted
        if index is None:
            return None
        option = self.found.get_option_at_index(index)
        return int(option.id[4:]) if option.id and option.id.startswith("fix-") else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_fix()

    def action_fix(self) -> None:
        index = self.highlighted_fix()
        if index is None:
            return
        if index in self.done:
            self.app.notify("Already done.", markup=False)
            return
        self.prepare(index)

    @work(thread=True, exit_on_error=False, group="leak-fix")
    def prepare(self, index: int) -> None:
        """What the question says (a file edit is planned first: its count, and a check that the
        named lines still hold a copy), then the question on the UI thread."""
        from vault.services import leak_files

        fix = self.fixes[index]
        holds = self._holds(fix.credential)
        path = Path(fix.path)
        body, yes, question = fix.note, YES[fix.action], fix.question
        plan: Any = None
        try:
            if fix.action == leak_fixes.REWRITE:
                plan = leak_files.mcp_spec(path, fix.target, fix.credential, holds)
                body = f"The entry {plan['server']} then reads it through tokendeck, with no secret in the file."
            elif fix.action == leak_fixes.REMOVE:
                plan = leak_files.plan_line_removal(path, fix.lines, holds)
                body = f"{counted(plan.removed, 'line')} go; nothing else in the file changes. {fix.note}"
            elif fix.action == leak_fixes.SCRUB:
                plan = leak_files.plan_history(path, fix.lines, holds)
                body, question = "Nothing else in the file changes.", leak_fixes.scrub_question(fix, plan.removed)
        except VaultError as exc:
            self.app.call_from_thread(self.app.report, exc)
            return
        dialog = ConfirmDialog(question, body or question, yes=yes)
        self.app.call_from_thread(self.app.push_screen, dialog, partial(self._answered, index, plan))

    def _holds(self, name: str) -> Callable[[str], bool]:
        matcher = self._matcher

        def holds(text: str) -> bool:
            hits = matcher.find(text.encode("utf-8", "replace")) if matcher is not None else []
            return any(h.who.credential == name and h.who.live for h in hits)

        return holds

    def _answered(self, index: int, plan: Any, yes: bool | None) -> None:
        fix = self.fixes[index]
        if not yes:
            self._audit(fix, "declined")
            return
        if fix.action == leak_fixes.ROTATE:
            self._rotate(index)
        else:
            self.apply(index, plan)

    @work(thread=True, exit_on_error=False, group="leak-audit")
    def _audit(self, fix: Fix, outcome: str) -> None:
        from vault.services.leak_fix_requests import audit

        audit(self.app.unlocked_vault, outcome=outcome, name=fix.credential, path=fix.path)

    def _rotate(self, index: int) -> None:
        fix = self.fixes[index]

        def stored(yes: bool) -> None:
            if yes:
                self._finished(index, "rotated", f"{fix.credential} holds the new token.")
            else:
                self._audit(fix, "declined")

        try:
            credential = self.app.unlocked_vault.get(fix.credential)
        except VaultError as exc:
            self.app.report(exc)
            return
        actions.rotate(self.app, credential, then=stored)

    @work(thread=True, exit_on_error=False, group="leak-fix")
    def apply(self, index: int, plan: Any) -> None:
        """Do a confirmed fix (not a rotate: its dialog stores it), audit it, say so."""
        from vault.services import file_commands, leak_files, leak_fix_requests

        fix = self.fixes[index]
        vault = self.app.unlocked_vault
        try:
            if fix.action == leak_fixes.REVOKE:
                leak_fix_requests.revoke(vault, name=fix.credential, path=fix.path)
                self.signing_in[fix.credential] = fix
                self.app.call_from_thread(self._mark, index, f"{fix.credential} was revoked: sign in again.")
                self.app.call_from_thread(actions.sign_in_again, self.app, vault.get(fix.credential))
                return
            if fix.action == leak_fixes.REFRESH:
                leak_fix_requests.refresh(vault, name=fix.credential, path=fix.path)
                said, outcome = f"{fix.credential} was refreshed: the leaked refresh token is dead.", ""
            elif fix.action == leak_fixes.REWRITE:
                done = file_commands.export(vault, spec=plan, path=fix.path)
                if done.code:
                    raise VaultError(done.err.strip().splitlines()[-1].removeprefix("tokendeck: "))
                said, outcome = f"{fix.path} reads {fix.credential} through tokendeck now.", "rewritten"
            else:
                leak_files.write_unchanged(plan)
                said = f"Removed from {fix.path}."
                outcome = "scrubbed" if fix.action == leak_fixes.SCRUB else "removed"
        except VaultError as exc:
            leak_fix_requests.audit(vault, outcome="failed", name=fix.credential, path=fix.path)
            self.app.call_from_thread(self.app.report, exc)
            return
        if outcome:
            leak_fix_requests.audit(vault, outcome=outcome, name=fix.credential, path=fix.path)
        self.app.call_from_thread(self._mark, index, said)

    def _finished(self, index: int, outcome: str, said: str) -> None:
        self._audit(self.fixes[index], outcome)
        self._mark(index, said)

    def _mark(self, index: int, said: str) -> None:
        """A done fix: its line says so, and it is not offered again."""
        self.done.add(index)
        fix = self.fixes[index]
        self.found.replace_option_prompt(f"fix-{index}", Text("  ✓ " + printable(fix.question), style="dim"))
        self.app.notify(said, title="Fixed", markup=False)

    def on_vault_changed(self, message: VaultChanged) -> None:
        """The sign-in screen, done, tells the screen beneath: a revoked credential signed in again."""
        fix = self.signing_in.pop(message.highlight or "", None)
        if fix is not None:
            self._audit(fix, "signed-in")
