"""Who keeps the tokens fresh while the TUI is open, and what the status line says about it.

After unlock the app joins the agent for its vault, starting it if need be (the passphrase
the user typed travels on a pipe), or, without one, runs a background refresher of its own.
While it is open, a watcher thread (:meth:`screens.app.VaultApp.follow_vault`) asks the vault every
second whether another process committed, and pings the agent every few seconds: when the
agent stops or is locked by someone else, the TUI refreshes by itself and says so; when it
is back, the TUI leaves the refreshing to it again.  Ctrl+L locks the agent too; the TUI's idle
timer locks only its own view (:mod:`screens.locking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from screens.logic.failures import failing_segment
from vault.core.model import Credential, next_renewal
from vault.core.timefmt import relative

WATCH_SECONDS = 1.0
"""How often the TUI asks the vault whether another process committed (a change shows within 2 s)."""
AGENT_CHECK_SECONDS = 2.0
"""How often the TUI pings its agent (``active`` after a key press: the agent's idle clock counts
the user at the TUI, not a TUI left open)."""

AGENT_NEWS_AT_ONCE = 3
"""More of the agent's warnings than this in one change (its first scan of a big vault) are
told in one notification that names the first few, instead of one each."""


@dataclass(frozen=True)
class AgentState:
    """What a ping found: the agent's pid (None: none answers) and whether it is unlocked."""

    pid: int | None
    unlocked: bool = False

    @property
    def serving(self) -> bool:
        """It answers and holds the key: it refreshes, and clients get tokens from it."""
        return self.pid is not None and self.unlocked


def ping_agent(home: str, *, active: bool = True) -> AgentState:
    """Ask the agent for ``home`` how it is; ``active`` tells it a user is here (a request, for
    its idle clock)."""
    from vault.agent import wire

    answer = wire.call("ping", *(["active"] if active else []), home=home, opt_out=False)
    if answer is None or answer[0] != "0" or len(answer) < 3:
        return AgentState(None)
    return AgentState(int(answer[1]), answer[2] == "unlocked")


def join_agent(home: str, passphrase: str | None, *, created: bool = False) -> tuple[AgentState, str | None]:
    """The agent for ``home``, started (or unlocked) first if it is not serving; and why it
    could not be, if it could not.

    ``created``: the vault was just made here (the first run).  An agent that answers for
    ``home`` then predates it: it serves (or refuses with) a removed vault's key, so it is
    stopped and one is started for the new vault.
    """
    from vault.agent.launch import start_in_background, stop

    state = ping_agent(home)
    if created and state.pid is not None:
        stop(home)
        state = ping_agent(home)
    if state.serving:
        return state, None
    problem = start_in_background(home, passphrase)
    return ping_agent(home), problem


def agent_not_started(problem: str) -> str:
    """What the TUI says when the agent it started did not start: the agent's reason, never a
    verdict on the passphrase that has just opened the vault here (the TUI proved it)."""
    problem = problem.rstrip(". ")
    if "passphrase" in problem.lower():  # the TUI opened the vault with it: the agent met another vault
        problem = "it could not open the vault this TUI has open (did the vault change on disk?)"
    return f"The agent could not start: {problem}; tokens are still read here directly."


def lock_agent(home: str, reason: str = "tui") -> bool:
    """Lock the agent for ``home`` (its log names ``reason``: ``tui`` is the TUI's Ctrl+L); whether
    one answered."""
    from vault.agent import wire

    answer = wire.call("lock", reason, home=home, opt_out=False)
    return answer is not None and answer[0] == "0"


@dataclass(frozen=True)
class Watched:
    """What the status line re-reads every second, picked once per load of the list: the
    credentials whose last refresh failed (only they can be failing:
    :attr:`~vault.core.model.Credential.refresh_erred`) and the next renewal (it follows from the
    stored facts, not the clock).  So a tick looks at a few credentials, not at all 10,000."""

    erred: tuple[Credential, ...] = ()
    upcoming: tuple[str, float] | None = None

    @classmethod
    def of(cls, credentials: Sequence[Credential]) -> Watched:
        return cls(tuple(c for c in credentials if c.refresh_erred), next_renewal(credentials))


def refresher_status(
    watched: Watched, now: float, *, by: str | None, last: str | None, problem: str | None,
    joined: int | None = None,
) -> list[str]:  # fmt: skip
    """The status line's words about refreshing: who does it, what fails, what is next, the last outcome.

    Args:
        watched: the credentials' :class:`Watched` facts (:meth:`Watched.of`).
        by: who refreshes (``the agent (pid 42)``, ``this TUI``), or None for nobody.
        last: the latest outcome (``gh refreshed``), if any.
        problem: why the usual refresher is not doing it (``the agent stopped``), if so.
        joined: the agent whose key opened this TUI's vault (no passphrase asked), if so.
    """
    agent = f"the agent (pid {joined})" if joined is not None else None
    if agent is not None and by == agent:  # one agent does both: say it once (80 columns are few)
        parts = [f"unlocked and refreshed by {agent}"]
    else:
        parts = [f"unlocked by {agent}"] if agent else []
        parts.append(f"refreshed by {by}" if by else "nothing refreshes in the background")
    if problem:
        parts[-1] += f" ({problem})"
    failing = failing_segment(watched.erred, now, retrying=by is not None)
    if failing:
        parts.append(failing)
    upcoming = watched.upcoming if by else None
    if upcoming is not None:
        name, at = upcoming
        parts.append(f"next: {name} {relative(at, now) if at > now else 'now'}")
    if last:
        parts.append(f"last: {last}")
    return parts
