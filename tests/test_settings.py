"""vault.settings: the one place for environment variable names and the timing budget."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from vault import settings

REPO = Path(__file__).resolve().parent.parent
ENV_NAMES = {value for name, value in vars(settings).items() if name.endswith("_ENV") and isinstance(value, str)}
ENV_PREFIXES = ("TOKENDECK_", "XDG_", "OAUTHLIB_", "DBUS_")


def string_literals(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_every_environment_variable_is_named_in_settings_only() -> None:
    assert {"TOKENDECK_HOME", "TOKENDECK_PASSPHRASE", "TOKENDECK_NO_AGENT", "XDG_DATA_HOME"} <= ENV_NAMES
    found = {}
    for path in [*REPO.glob("vault/**/*.py"), *REPO.glob("screens/**/*.py")]:
        if path.name == "settings.py" and path.parent.name == "vault":
            continue
        names = {s for s in string_literals(path) if s in ENV_NAMES or s.startswith(ENV_PREFIXES)}
        if names:
            found[str(path.relative_to(REPO))] = names
    assert not found, f"environment variable names outside vault/settings.py: {found}"


def test_the_timing_budget_holds_together() -> None:
    s = settings
    one_try = s.PROVIDER_TIMEOUT  # one whole exchange: its deadline; the connect step is shorter
    assert one_try >= s.PROVIDER_CONNECT_TIMEOUT
    assert s.REFRESH_ATTEMPTS * one_try + (s.REFRESH_ATTEMPTS - 1) * s.MAX_BACKOFF <= s.LONGEST_REFRESH
    # A reader waits out one exchange and its write, then is told (issue 30), not a whole retrying refresh.
    assert s.PROVIDER_TIMEOUT + s.VAULT_BUSY_TIMEOUT < s.REFRESH_LOCK_WAIT < s.LONGEST_REFRESH
    assert s.LONGEST_REQUEST >= s.REFRESH_LOCK_WAIT + s.LONGEST_REFRESH  # ...then do our own
    assert s.AGENT_IN_FLIGHT_WAIT > s.LONGEST_REQUEST  # locking never cuts a refresh short
    assert s.AGENT_STOP_WAIT > s.AGENT_IN_FLIGHT_WAIT
    assert s.AGENT_ANSWER_TIMEOUT > s.LONGEST_REQUEST  # a slow refresh is not a dead agent


def test_the_budget_is_what_the_code_waits() -> None:
    from vault.agent import wire
    from vault.core import locks, store
    from vault.oauth import http

    assert inspect.signature(locks.credential_lock).parameters["wait"].default == settings.REFRESH_LOCK_WAIT
    assert inspect.signature(wire.call).parameters["timeout"].default == settings.AGENT_ANSWER_TIMEOUT
    assert http.TIMEOUT.read == http.TIMEOUT.write == settings.PROVIDER_TIMEOUT
    assert http.TIMEOUT.connect == settings.PROVIDER_CONNECT_TIMEOUT
    assert store.BUSY_TIMEOUT_SECONDS == settings.VAULT_BUSY_TIMEOUT


def test_settings_imports_nothing() -> None:
    """The fast path loads it: it must stay a page of constants."""
    tree = ast.parse(Path(settings.__file__).read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
