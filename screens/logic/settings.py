"""What a user may tune in the TUI: ``tui.toml`` beside the vault (all optional)."""

from __future__ import annotations

from dataclasses import dataclass

from vault.core.paths import VaultPaths
from vault.settings import REFRESH_INTERVAL


@dataclass(frozen=True)
class TuiSettings:
    """What a user may tune.  Times are seconds.

    Attributes:
        auto_lock_after: lock a passphrase vault after this much idle time (None: never).
        clipboard_clear_after: a copied token is cleared from the clipboard after this.
        reveal_for: a revealed token is masked again after this.
        refresh_interval: how often the background refresher runs.
        refresher: run the background refresher at all.
        agent: start ``tokendeck agent`` when the TUI opens (``tokendeck tui``; tests
            build apps without it); a running agent does the refreshing instead.
        theme: the Textual theme last chosen (ctrl+t or the palette's theme picker, which
            write it here); None: Textual's default.
    """

    auto_lock_after: float | None = 300.0
    clipboard_clear_after: float = 30.0
    reveal_for: float = 10.0
    refresh_interval: float = REFRESH_INTERVAL
    refresher: bool = True
    agent: bool = True
    theme: str | None = None


SETTINGS_FILE = "tui.toml"
"""Optional, beside the vault: ``auto_lock_after = "10m"``, ``reveal_for = "5s"``, ``refresher = false``..."""
MAX_SETTINGS = 1 << 20
"""The largest settings file read."""

RETIRED = {
    "soon": "the countdown's colour follows the credential's status now (see docs/tui.md, Statuses)",
    "expiring": "the countdown's colour follows the credential's status now (see docs/tui.md, Statuses)",
}
"""Settings that were taken out, and why: a file that still has one is told, not ignored."""


def load_settings(paths: VaultPaths) -> TuiSettings:
    """Read ``tui.toml`` from the vault home; times are durations ("5m") or seconds.

    Raises:
        InvalidInput: an unknown key, or a value that is not a duration or a boolean.
    """
    import dataclasses

    from vault.core.outside import read_settings_file
    from vault.core.timefmt import parse_duration
    from vault.errors import InvalidInput

    path = paths.home / SETTINGS_FILE
    raw = read_settings_file(path, MAX_SETTINGS)
    if raw is None:
        return TuiSettings()
    fields = {f.name: f for f in dataclasses.fields(TuiSettings)}
    values: dict[str, object] = {}
    for key, value in raw.items():
        if key in RETIRED:
            raise InvalidInput(f"{path}: {key!r} is no longer a setting: {RETIRED[key]}; remove it")
        if key not in fields:
            raise InvalidInput(f"{path}: unknown setting {key!r} (known: {', '.join(fields)})")
        if key in ("refresher", "agent"):
            if not isinstance(value, bool):
                raise InvalidInput(f"{path}: {key} must be true or false")
            values[key] = value
        elif key == "theme":
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f'{path}: theme must be a theme\'s name, such as "textual-light"')
            values[key] = value.strip()
        elif key == "auto_lock_after" and value in (False, "never"):
            values[key] = None
        elif isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            values[key] = float(value)
        elif isinstance(value, str):
            values[key] = parse_duration(value)
        else:
            raise InvalidInput(f'{path}: {key} must be a duration such as "5m" or a number of seconds')
    return dataclasses.replace(TuiSettings(), **values)  # type: ignore[arg-type]


def save_theme(paths: VaultPaths, theme: str) -> None:
    """Set ``theme`` in ``tui.toml``, keeping the rest of the file as it is (comments and
    all); the file is replaced atomically.

    Raises:
        OSError: it cannot be written.
        InvalidInput: it is not TOML (it is left alone).
    """
    import tomllib

    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    from vault.core.outside import Unparsable, load_toml, read_file
    from vault.core.paths import write_private_atomic
    from vault.errors import InvalidInput, NotFound, VaultError

    path = paths.home / SETTINGS_FILE
    try:
        text = read_file(path, MAX_SETTINGS).decode("utf-8")
        load_toml(text)  # nesting bounded before tomlkit (which recurses) sees it
        document = tomlkit.parse(text)
    except NotFound:
        document = tomlkit.document()
    except VaultError as exc:
        raise InvalidInput(f"{exc.message}; the theme was not saved") from None
    except (UnicodeDecodeError, TOMLKitError, tomllib.TOMLDecodeError, Unparsable) as exc:
        raise InvalidInput(f"{path} is not readable TOML ({type(exc).__name__}); the theme was not saved") from None
    if document.get("theme") == theme:
        return
    document["theme"] = theme
    write_private_atomic(path, tomlkit.dumps(document).encode("utf-8"))
