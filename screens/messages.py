"""Messages that cross screens.  A widget's own intents live on the widget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the refresher pulls in the HTTP stack; the list must not wait for it
    from vault.services.refresher import RefreshEvent


@dataclass
class VaultChanged(Message):
    """Something in the vault changed; lists re-read it.

    Attributes:
        highlight: a credential to put the cursor on (a new sign-in, a rename).
    """

    highlight: str | None = None


@dataclass
class CredentialDeleted(Message):
    """A credential is gone from the vault: a screen showing it goes back, lists re-read.

    Attributes:
        name: the credential that was deleted.
    """

    name: str


@dataclass
class CredentialRenamed(Message):
    """A credential has a new name: a screen showing it follows, lists re-read.

    Attributes:
        old: the name it had.
        new: the name it has now.
    """

    old: str
    new: str


@dataclass
class CredentialBusy(Message):
    """A long action on a credential started or ended (``app.busy`` says which is running):
    screens showing it redraw its status.

    Attributes:
        name: the credential.
    """

    name: str


@dataclass
class RefresherReported(Message):
    """The background refresher finished a refresh or raised a warning."""

    event: RefreshEvent
