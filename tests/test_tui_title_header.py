"""The title bar survives a title change while its screen is torn down (CI saw Textual's own Header
raise ``NoMatches: No nodes match 'HeaderTitle'`` there, and drop an un-awaited coroutine)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.widgets import Header
from textual.widgets._header import HeaderTitle

from screens.widgets.title_header import TitleHeader

pytestmark = pytest.mark.anyio


class Titled(App[None]):
    def __init__(self, header: type[Header]) -> None:
        super().__init__()
        self.header = header

    def compose(self) -> ComposeResult:
        yield self.header()


async def change_the_title_without_its_child(header: type[Header]) -> None:
    app = Titled(header)
    async with app.run_test() as pilot:
        await app.query_one(header).query_one(HeaderTitle).remove()  # as when its screen is being replaced
        app.title = "tokendeck, changed"
        await pilot.pause()


async def test_textuals_own_header_raises_there() -> None:
    """Why TitleHeader exists (if Textual fixes this, the header can go back to its own)."""
    with pytest.raises(NoMatches):
        await change_the_title_without_its_child(Header)


async def test_the_title_header_lets_it_pass() -> None:
    await change_the_title_without_its_child(TitleHeader)
