"""The tier lists in ``tests/conftest.py`` name files that exist: a renamed or removed test file
would otherwise silently leave its tier (and ``make check`` would start running process tests,
or ``pytest -n`` two wall-clock tests at once)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ONE_AT_A_TIME, TIERS

TESTS = Path(__file__).parent


def test_every_file_named_by_a_tier_exists() -> None:
    named = set(ONE_AT_A_TIME).union(*TIERS.values())
    missing = sorted(name for name in named if not (TESTS / name).is_file())
    assert missing == [], f"tests/conftest.py names test files that do not exist: {missing}"
