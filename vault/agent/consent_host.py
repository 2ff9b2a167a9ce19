"""The reads the agent asks the user about outside a forward's own socket (issue 36): a ``proxy
run --confirm`` proxy's token for a request (the question names its host), and any read of a
credential that asks before each use (:mod:`vault.services.consent_setting`) by a process in no
session.  Mixed into :class:`vault.agent.server.Agent`; the asking itself is the forwards'
(:func:`vault.agent.forwarding.ask_first`), one rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vault.agent import forwarding
from vault.agent.consent import Confirmations
from vault.agent.forwarding import Asking, Forward
from vault.services.read_log import reader_of

if TYPE_CHECKING:
    from vault.agent.switchboard import Call
    from vault.services.tokens import Vault


class ConsentHost:
    """What the agent asks the user about on its own socket."""

    confirmations: Confirmations
    _run: Callable[[str, Callable[[Vault], list[str]]], list[str]]
    answer: Callable[..., list[str]]

    def _needing(self, call: Call) -> tuple[list[str], list[str], list[str]] | list[str]:
        """The credentials a read hands out, those of them that ask before each use, and those
        that ask once per session; or the error answer when the vault cannot say."""
        op, args = call.fields[2], call.fields[3:]

        def needing(vault: Vault) -> list[str]:
            return forwarding.needing_fields(vault, forwarding.names_read(vault, op, args))

        checked = self._run(op, needing)
        if checked[0] != "0":
            return checked
        return forwarding.split_needing(checked)

    def proxy_read(self, forward_id: str, view: Forward, call: Call) -> None:
        """The proxy of a ``proxy run`` session reads a token for a request (``token NAME HOST``):
        with ``--confirm`` (or a credential that asks first) once the user allowed it, the question
        naming the host the request goes to."""
        fields, op = call.fields, call.fields[2]
        found = self._needing(call)
        if not isinstance(found, tuple):
            call.reply(found)
            return
        names, required, once = found
        host = fields[4] if op == "token" and len(fields) > 4 else None
        purpose = f"a proxied request to {host}" if host else "a token read"
        program = f"{view.host}, through tokendeck proxy run"
        reader = reader_of(call.peer_pid)
        asking = Asking(forward_id, view, self.confirmations, self._run, op, reader, program, purpose)

        def go(again: Call) -> None:
            again.reply(self.answer(fields, call.peer_pid))

        forwarding.ask_first(asking, call, names, required, go, once)

    def direct_read(self, call: Call) -> bool:
        """A read by a process in no session: when it hands out a credential that asks before
        each use, ask (the request then waits) and say True; else False, and it is served as
        any other."""
        found = self._needing(call)
        if not isinstance(found, tuple) or not (found[1] or found[2]):
            return False
        names, each, once = found
        required = [*each, *once]  # a read in no session is its own: once is each time
        from vault.core.peers import peer

        who = peer(call.peer_pid) if call.peer_pid is not None else None
        reader = reader_of(call.peer_pid)
        view = Forward(reader, frozenset(), direct=True)
        program = who.shown() if who is not None else reader
        op, pid = call.fields[2], call.peer_pid
        asking = Asking(f"reader-{pid}", view, self.confirmations, self._run, op, reader, program, pid=pid)

        def go(again: Call) -> None:
            again.reply(self.answer(call.fields, call.peer_pid))

        forwarding.ask_first(asking, call, names, required, go)
        return True
