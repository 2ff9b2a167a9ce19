"""Finding the files in ``assets/`` whether tokendeck runs from a checkout or a wheel.

The repository keeps them in a top-level ``assets/``; the wheel carries them as
``vault/assets`` (see ``[tool.hatch.build.targets.wheel.force-include]``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).parents[1] / "assets"
_CHECKOUT = Path(__file__).parents[2] / "assets"


def assets_dir() -> Path:
    """The directory holding the stylesheets, ``providers.toml`` and callback pages."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def asset(name: str) -> Path:
    """The path of one asset file, e.g. ``asset("app.tcss")``."""
    return assets_dir() / name
