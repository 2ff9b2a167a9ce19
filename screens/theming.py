"""The theme the person chose, kept in ``tui.toml``: applied at start, saved on every change
(ctrl+t, the palette's picker)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from vault.errors import VaultError

if TYPE_CHECKING:
    from textual.app import App
    from textual.theme import Theme

    from screens.logic.settings import TuiSettings
    from vault.core.paths import VaultPaths


def apply_saved_theme(app: App[Any], saved: str | None) -> None:
    """Start in the theme ``tui.toml`` names (one that does not exist is a warning)."""
    if saved is None or saved == app.theme:
        return
    if saved in app.available_themes:
        app.theme = saved
    else:
        app.notify(f"tui.toml: there is no theme {saved!r}; using the default.", severity="warning", markup=False)


def keep_theme(app: App[Any], paths: VaultPaths, settings: TuiSettings, theme: Theme) -> TuiSettings:
    """Save ``theme`` in ``tui.toml`` for next time; the settings as they now are (a failure to
    save is a warning, never an error, and leaves them as they were)."""
    from screens.logic.settings import save_theme

    if theme.name == settings.theme:
        return settings
    try:
        save_theme(paths, theme.name)
    except (OSError, VaultError) as exc:
        app.notify(f"The theme was not saved: {getattr(exc, 'message', None) or exc}", severity="warning",
                   markup=False)  # fmt: skip
        return settings
    return replace(settings, theme=theme.name)
