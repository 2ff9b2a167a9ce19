"""Refresh answers the vault could not store yet: the rule that a sick disk never burns a grant.

Once a refresh request has been sent, the refresh token it carried is spent: a provider that
rotates refresh tokens (RFC 9700 §4.14.2) answers with a new pair and, on seeing the old one
again, takes it for a stolen copy and revokes the whole grant.  So when the answer cannot be
made durable (a full disk, a failing one), it is not dropped and the old token is not sent
again: the answer is held here, in the memory of the process that got it, its access token
served from here, and its save tried again before anything else is done with that
credential; no new refresh of it starts while it is held.  A process that must end while
it still holds one says so (:meth:`HeldAnswers.describe`): the pair is then lost, and the
credential will need a new sign-in.

Every refresher goes through :func:`vault.services.refreshing.refresh`, which is where this is
applied: the agent's, the TUI's, a read's and the library's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from vault.core.model import Credential
from vault.core.repository import Repository
from vault.core.secret import Secret
from vault.errors import RefreshDiscarded, VaultError


@dataclass(frozen=True)
class Held:
    """One refresh's answer, not stored yet."""

    credential: Credential
    """The credential as the answer renewed it (its new tokens)."""
    sent: Secret = field(repr=False)
    """The refresh token the request carried: what the stored row still holds."""
    detail: str
    """The audit detail of the refresh (rotated or not, scopes narrowed)."""
    reason: str
    """Why it could not be stored (no secret)."""
    since: float


class HeldAnswers:
    """The held answers of one open vault, by credential name; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}

    def __repr__(self) -> str:
        return f"HeldAnswers({sorted(self._held)!r})"

    def __bool__(self) -> bool:
        return bool(self._held)

    def hold(self, held: Held) -> None:
        with self._lock:
            self._held[held.credential.name] = held

    def get(self, name: str) -> Held | None:
        with self._lock:
            return self._held.get(name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    def store(self, vault: Repository, name: str) -> bool:
        """Try to store ``name``'s held answer; True once it is no longer held (stored, or moot:
        the credential changed meanwhile, by a new sign-in, a rename or a removal).

        Raises:
            Nothing: a failure to store it keeps it held (False).
        """
        held = self.get(name)
        if held is None:
            return True
        try:
            vault.save_refreshed(held.credential, sent_refresh_token=held.sent.reveal(), detail=held.detail)
        except RefreshDiscarded:
            pass
        except VaultError:
            return False
        with self._lock:
            if self._held.get(name) is held:
                del self._held[name]
        return True

    def store_all(self, vault: Repository) -> list[str]:
        """Try to store every held answer; the names still held."""
        for name in self.names():
            self.store(vault, name)
        return self.names()

    def describe(self) -> str | None:
        """One line for the user while answers are held (None when none is)."""
        with self._lock:
            if not self._held:
                return None
            names = sorted(self._held)
            reason = self._held[names[0]].reason
        which = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return (
            f"the vault cannot be written ({reason}): the refreshed tokens of {which} are held in memory "
            "and stored as soon as it can be; no new refresh starts until then"
        )

    def lost(self) -> str | None:
        """What a process that ends now, still holding answers, must tell its user (None: nothing held)."""
        names = self.names()
        if not names:
            return None
        return (
            f"the refreshed tokens of {', '.join(names)} could not be stored (the vault cannot be written) and are "
            "lost with this process; their old refresh tokens were already spent, so each will need a new sign-in "
            "(tokendeck list says which) once the disk is fixed"
        )
