"""The keys, in one place."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# tokendeck

| key | on the list | on a credential |
|---|---|---|
| `enter` | open the credential | |
| `j` `k` | down, up (or the arrows) | |
| `g` `G` | first, last row (or Home, End) | |
| `/` | filter by name, provider or account | |
| `o` `O` | sort by the next column, reverse the order (or click a header) | |
| `r` | refresh now | refresh now |
| `R` | refresh everything due | |
| `x` | revoke (asks first) | revoke (asks first) |
| `d` | delete (asks first) | delete (asks first) |
| `n` | rename | rename |
| `a` | add a static token | |
| `s` | sign in to a provider | |
| `l` | sign in again (a row that needs it) | |
| `v` | | reveal the token for a few seconds |
| `c` | | copy the token (cleared from the clipboard later) |
| `ctrl+l` | lock the vault | lock the vault |
| `ctrl+t` | light / dark theme | |
| `ctrl+p` | every action, by name | |
| `ctrl+q` | quit | quit |

A countdown takes the colour of the status beside it: yellow while expiring or due,
red once expired or failing.  A passphrase vault locks itself after 5 minutes without a
key press.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog"):
            yield Markdown(HELP)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
