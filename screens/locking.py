"""Locking the TUI, and unlocking it by joining the agent (issue 31's one idle rule).

- **The view lock.** The TUI's idle timer (``auto_lock_after`` in ``tui.toml``, never longer
  than the vault's ``lock_after``: :mod:`vault.core.policy`) locks this TUI's *view*: its
  vault connection closes, tokens and the clipboard are dropped, and the unlock screen asks
  again.  The agent is not locked and its idle time is not shortened: exported MCP entries,
  ``exec``, the git helper keep working beside a TUI left open.  While the agent is unlocked,
  Enter on that screen unlocks the view from it without the passphrase (the policy allows
  it: the agent has not reached its own idle time).
- **Ctrl+L** locks everything at once, on purpose: the view and the agent, whose log says
  ``locked (the TUI's Ctrl+L, pid N)``.
- **Joining.** Opened (or unlocked again) while an unlocked agent runs, the TUI opens the
  vault with the agent's key (:mod:`vault.agent.joining`) instead of asking, and says so: a
  notice, and ``unlocked by the agent (pid N)`` on the status line.
- The agent's idle clock counts the TUI's user only when there is one: the TUI pings it
  ``active`` only after a key press or click since its last ping
  (:meth:`screens.app.VaultApp.follow_vault`), so a TUI left open does not keep the agent
  unlocked.
- **Quitting** says what keeps running and until when (:func:`quit_words`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from textual import events, work
from textual.app import App
from textual.screen import Screen

from screens.logic.refreshing import AgentState, lock_agent
from screens.logic.settings import TuiSettings
from vault import Vault
from vault.core.clock import Clock
from vault.core.paths import VaultPaths
from vault.core.timefmt import duration_text
from vault.errors import VaultError


class UnlockRoute(Protocol):
    def __call__(
        self, *, locked: bool = ..., problem: str = ..., why: str = ..., agent: int | None = ...
    ) -> Screen[Any]: ...


@dataclass(frozen=True)
class Routes:
    """The screens the app shows by itself, as factories (so it need not import them).

    Attributes:
        unlock: asks for the passphrase (``locked``: after a lock; ``problem``: why
            opening without asking failed; ``agent``: the unlocked agent Enter joins).
        first_run: creates a vault where there is none.
        home: the list of credentials, shown once the vault is open.
        help: the keys of the screen it is given.
    """

    unlock: UnlockRoute
    first_run: Callable[[], Screen[Any]]
    home: Callable[[], Screen[Any]]
    help: Callable[[Screen[Any]], Screen[Any]]


class Locking(App[None]):
    """What :class:`screens.app.VaultApp` does to lock and unlock (see the module's text)."""

    routes: Routes
    paths: VaultPaths
    vault: Vault | None
    clock: Clock
    settings: TuiSettings
    start_agent: bool
    agent_pid: int | None
    _agent_seen: AgentState | None
    last_activity: float
    lock_after: float | None = None
    """The vault's ``lock_after`` (the agent's idle time), read when the app starts."""
    joined_agent: int | None = None
    """The agent whose key opened this TUI's vault (no passphrase was asked), while it is open."""
    active_since_ping = False
    """A key press or click since the last ping: the agent's idle clock counts this user."""

    def unlocked(self, vault: Vault, passphrase: str | None = None, joined: int | None = None) -> None:
        raise NotImplementedError

    def _stop_refresher(self) -> None:
        raise NotImplementedError

    def stop_following(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ joining

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock", description="join the agent")
    def join_or_ask(self) -> None:
        """Open with the unlocked agent's key, if one runs; else show the unlock screen (no agent,
        or a locked one: a failed connect or a FALL_BACK answer, at once)."""
        from vault.agent.joining import join_unlocked

        joined = join_unlocked(self.paths.home, self.clock)
        if joined is None:
            self.call_from_thread(self.push_screen, self.routes.unlock())
            return
        vault, pid = joined
        self.call_from_thread(self.unlocked, vault, None, pid)

    def say_joined(self, pid: int) -> None:
        self.joined_agent = pid
        self.notify(f"Unlocked by the agent (pid {pid}): no passphrase was asked.", title="Agent", markup=False)

    # ------------------------------------------------------------- locking

    def action_lock(self) -> None:
        self.lock()

    def lock(self, why: str = "", *, everything: bool = True) -> None:
        """Close the vault, drop everything secret the UI holds, ask to unlock again; with
        ``everything`` (Ctrl+L) lock the agent too, else (the idle timer) only this view.
        ``why`` (an automatic lock) stays on the unlock screen for whoever comes back."""
        if self.vault is None:
            return
        self._stop_refresher()
        self.stop_following()
        agent, self.agent_pid, self._agent_seen, self.joined_agent = self.agent_pid, None, None, None
        if agent is not None and everything:
            self.run_worker(partial(lock_agent, str(self.paths.home), "tui"), thread=True, group="agent",
                            name="lock agent")  # fmt: skip
        try:
            self.vault.close()
        except VaultError as exc:  # refreshed tokens the vault could not store are lost now
            self.notify(exc.message, title=exc.title, severity="error", markup=False, timeout=30)
        self.vault = None
        if self.clipboard.strip():
            self.clear_clipboard()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(self.routes.unlock(locked=True, why=why, agent=None if everything else agent))
        words = [why or "The vault is locked."]
        if agent is not None:
            words.append(f"The agent (pid {agent}) is locked too." if everything else
                         f"The agent (pid {agent}) stays unlocked: Enter opens this view again.")  # fmt: skip
        self.notify(" ".join(words), title="Locked", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Lock is offered only while there is something to lock."""
        if action == "lock":
            return self.vault is not None
        return True

    def clear_clipboard(self) -> None:
        """Overwrite the clipboard.  A single space, not "": terminals such as tmux
        ignore an empty OSC 52 write and would keep the token."""
        self.copy_to_clipboard(" ")

    # ---------------------------------------------------------------- idle

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.last_activity = self.clock.now()
            self.active_since_ping = True
        await super().on_event(event)

    @property
    def view_lock_after(self) -> float | None:
        """When the idle timer hides the view: ``auto_lock_after``, never later than the vault's
        ``lock_after`` (a front end may hide sooner than the vault's rule, never later)."""
        limits = [limit for limit in (self.settings.auto_lock_after, self.lock_after) if limit is not None]
        return min(limits) if limits else None

    def _check_idle(self) -> None:
        limit = self.view_lock_after
        if self.vault is None or limit is None or self.vault.records.mode != "passphrase":
            return
        if self.clock.now() - self.last_activity >= limit:
            self.lock(f"Locked automatically after {duration_text(limit)} without a key press.", everything=False)


def quit_words(home: str, now: float | None = None) -> str:
    """What keeps running once the TUI is gone, and until when (printed after it exits)::

    the agent (pid 42) keeps the vault unlocked until 10:42 (after 1h without a request), or tokendeck lock
    """
    from vault.agent import wire

    answer = wire.call("ping", home=home, opt_out=False)
    if answer is None or answer[0] != "0" or len(answer) < 5:
        return "no agent runs: the vault is locked (tokendeck agent start keeps it unlocked)"
    pid, state = answer[1], answer[2]
    if state != "unlocked":
        return f"the agent (pid {pid}) keeps running, locked: tokendeck unlock"
    facts = dict(item.partition("=")[::2] for item in answer[4].split())
    if not facts.get("lock_after"):
        return f"the agent (pid {pid}) keeps the vault unlocked until tokendeck lock (its lock_after is never)"
    now = time.time() if now is None else now
    at, lock_after = now + max(float(facts.get("locks_in") or 0), 0), float(facts["lock_after"])
    shape = "%H:%M:%S" if lock_after < 600 else "%H:%M" if at - now < 20 * 3600 else "%Y-%m-%d %H:%M"
    shown, after = time.strftime(shape, time.localtime(at)), duration_text(lock_after)
    return (
        f"the agent (pid {pid}) keeps the vault unlocked until {shown} (after {after} without a request), "
        "or tokendeck lock"
    )
