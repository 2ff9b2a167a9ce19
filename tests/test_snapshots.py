"""Snapshot tests: SVG screenshots of the TUI, kept in ``tests/__snapshots__/test_snapshots/``.

Update them only with ``make snapshots``, after reading ``snapshot_report.html``.
Everything that could move is pinned: the clock is frozen, the credentials are
created at a fixed time, and text cursors do not blink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from textual.widgets import Input, TextArea

from screens.app import VaultApp, make_app
from tests.support.tui import add_samples, new_vault

SIZE = (100, 30)

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text cursors start steady, so a screenshot never lands mid-blink.

    Textual 8 has no app-wide switch; ``cursor_blink`` is a per-widget reactive,
    so this changes its class default (checked by :func:`test_cursors_do_not_blink`).
    """
    for widget in (Input, TextArea):
        monkeypatch.setattr(widget.cursor_blink, "_default", False)


def test_cursors_do_not_blink() -> None:
    assert Input().cursor_blink is False
    assert TextArea().cursor_blink is False


class TestTokenList:
    @pytest.fixture
    def samples_app(self) -> Iterator[VaultApp]:
        vault, clock = new_vault()
        with vault:
            add_samples(vault, clock)
            yield make_app(vault, clock)

    @pytest.fixture
    def empty_app(self) -> Iterator[VaultApp]:
        vault, clock = new_vault()
        with vault:
            yield make_app(vault, clock)

    def test_expired_expiring_active_and_no_expiry(self, snap_compare: SnapCompare, samples_app: VaultApp) -> None:
        assert snap_compare(samples_app, terminal_size=SIZE)

    def test_empty_vault(self, snap_compare: SnapCompare, empty_app: VaultApp) -> None:
        assert snap_compare(empty_app, terminal_size=SIZE)
