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


def test_every_file_that_drives_the_app_is_in_the_tui_tier() -> None:
    """A new Pilot or snapshot test file joins the ``tui`` tier, so ``make check`` stays quick."""
    driving = {
        p.name for p in TESTS.glob("test_*.py") if "run_test(" in p.read_text() or "snap_compare" in p.read_text()
    }
    driving.discard(Path(__file__).name)
    driving -= {name for name in driving if "pytest.mark.slow" in (TESTS / name).read_text()}  # its own tier
    assert sorted(driving - TIERS["tui"] - TIERS["interop"]) == []
