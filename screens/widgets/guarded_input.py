"""A plain-text input that hides what it holds once that looks like a secret.

A token pasted into the wrong field (the name, the expiry, the filter) would otherwise sit
on the screen in clear.  :class:`GuardedInput` draws its value as the password field does
while :func:`vault.core.masking.secret_kind` says it could be a secret (the one rule for what
may be repeated back), and as typed again once it no longer does.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from vault.core.masking import secret_kind


class GuardedInput(Input):
    """An :class:`~textual.widgets.Input` whose text is masked while it looks like a secret."""

    @property
    def looks_secret(self) -> bool:
        """Whether the value could be a secret, so it is drawn as dots."""
        return not self.password and secret_kind(self.value) is not None

    @property
    def _value(self) -> Text:
        if self.looks_secret:
            return Text("•" * len(self.value), no_wrap=True, overflow="ignore", end="")
        return super()._value
