"""Tests that need a program the system may lack (tests/system-deps.sh installs them): they
skip where it is missing, except when ``CI`` is set, where a skip would hide a broken setup."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Skip, or under CI fail, with ``reason``."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this test may not be skipped; see tests/system-deps.sh)")
    pytest.skip(f"{reason}; run tests/system-deps.sh as root to install it")
