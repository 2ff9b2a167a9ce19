"""The list's rules without an app: the status line fitted to one line, the order kept across a
reload, names cut in the middle so they stay apart (issue 34, items 4, 5 and the small items)."""

from __future__ import annotations

from screens.logic.list_order import kept_in_place, ordered
from screens.logic.status_line import SEPARATOR, fit_status
from screens.widgets.cell_fit import distinct_tail, middle_cut
from tests.support.tui import T0
from vault.core.model import Credential
from vault.core.secret import Secret

WORDS = ["refreshed by the agent (pid 4242)", "1 failing", "next: dropbox now", "last: google refreshed"]


def test_the_status_line_drops_whole_phrases_least_important_first() -> None:
    whole = SEPARATOR.join(["11 credentials", *WORDS])
    assert fit_status("11 credentials", WORDS, len(whole)) == whole
    assert fit_status("11 credentials", WORDS, len(whole) - 1) == SEPARATOR.join(["11 credentials", *WORDS[:3]])
    assert fit_status("11 credentials", WORDS, 70) == SEPARATOR.join(["11 credentials", *WORDS[:2]])
    assert fit_status("11 credentials", WORDS, 40) == SEPARATOR.join(["11 credentials", "1 failing"])
    assert fit_status("11 credentials", WORDS, 10) == "11 creden…"  # narrower than the count alone


def credential(name: str, provider: str, expires: float) -> Credential:
    return Credential(name=name, provider=provider, kind="static", access_token=Secret(f"t-{name}"),
                      expires_at=expires, created_at=T0, updated_at=T0)  # fmt: skip


def test_a_reload_keeps_the_order_shown_and_slots_new_credentials_in() -> None:
    now = T0
    shown = ["alpha", "bravo", "charlie"]  # by expiry, when they were shown
    stored = [credential("alpha", "x", now + 900), credential("bravo", "x", now + 300),
              credential("charlie", "y", now + 600), credential("delta", "y", now + 400)]  # fmt: skip
    fresh = ordered(stored, now, ("attention", False), grouped=False)
    assert [c.name for c in fresh] == ["bravo", "delta", "charlie", "alpha"]  # what a re-sort would do
    kept = kept_in_place(shown, fresh, grouped=False)
    assert [c.name for c in kept] == ["alpha", "bravo", "delta", "charlie"]  # delta before charlie, as sorted
    grouped = kept_in_place(shown, ordered(fresh, now, ("attention", False), grouped=True), grouped=True)
    assert [c.provider for c in grouped] == ["x", "x", "y", "y"]  # each provider's rows stay together


def test_groups_follow_the_sort_arrow() -> None:
    rows = [credential("a1", "aws", T0 + 1), credential("g1", "gh", T0 + 2), credential("a2", "aws", T0 + 3)]
    up = ordered(rows, T0, ("provider", False), grouped=True)
    down = ordered(rows, T0, ("provider", True), grouped=True)
    assert [c.provider for c in up] == ["aws", "aws", "gh"] and [c.provider for c in down] == ["gh", "aws", "aws"]


def test_names_cut_in_the_middle_stay_apart() -> None:
    names = ["corp-sso-billing-eu-prod", "corp-sso-billing-eu-staging", "corp-sso-errors-us-prod"]
    for width in (12, 16, 20):
        tail = distinct_tail(names, width)
        shown = [middle_cut(name, width, tail) for name in names]
        assert len(set(shown)) == 3 and all(len(s) <= width and "…" in s for s in shown), shown
    assert middle_cut("short", 10, 5) == "short"
    # the end is what tells these apart: a cut keeping only the start would read the same
    pair = ["svc001-corp-sso-billing-platform-eu-prod", "svc001-corp-sso-billing-platform-eu-staging"]
    tail = distinct_tail(pair, 20)
    assert middle_cut(pair[0], 20, tail) != middle_cut(pair[1], 20, tail)
