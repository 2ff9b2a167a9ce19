"""``vault`` is the core: importable without the UI or the network stack, and the
hot ``token`` path loads only what it needs.  Checked in fresh interpreters."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import vault

FORBIDDEN = ("textual", "rich", "screens", "httpx", "authlib", "google")
REPO = Path(__file__).resolve().parent.parent


def loaded_roots(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


NETWORK_LAYER = (
    "vault.oauth",
    "vault.services.signin",
    "vault.cli.signin",
    "vault.services.tokens",
    "vault.services.refresher",
    "vault.integrations.httpx_auth",
)
"""Modules that exist to talk HTTP: they may load httpx and Authlib, nothing else may."""


def all_vault_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(vault.__path__, "vault."))


WITHOUT_CLICK = "import sys\nsys.modules['click'] = None\n"
"""httpx loads its optional command line (click + rich) when click is installed; only the
test tools (Flask) bring click, so the probe hides it, as in an installed product."""


def test_every_vault_error_lives_in_errors_py() -> None:
    """So the agent can send any of them and the client rebuild it (vault.errors.from_fields)."""
    import importlib
    import inspect

    from vault.errors import VaultError

    elsewhere = {
        f"{module}.{name}"
        for module in all_vault_modules()
        for name, value in vars(importlib.import_module(module)).items()
        if inspect.isclass(value) and issubclass(value, VaultError) and value.__module__ == module
        and module != "vault.errors"
    }  # fmt: skip
    assert not elsewhere


def test_no_vault_module_loads_the_ui() -> None:
    modules = all_vault_modules()
    assert "vault.cli" in modules and "vault.oauth.flows" in modules
    roots = loaded_roots(WITHOUT_CLICK + "\n".join(f"import {m}" for m in modules))
    assert roots.isdisjoint(("textual", "rich", "screens", "google")), roots


def test_the_core_loads_no_network_stack() -> None:
    core = [m for m in all_vault_modules() if not m.startswith(NETWORK_LAYER)]
    assert "vault.core.store" in core and "vault.core.providers" in core
    roots = loaded_roots("\n".join(f"import {m}" for m in core))
    assert roots.isdisjoint(FORBIDDEN), roots & set(FORBIDDEN)


def test_token_for_a_passphrase_vault_loads_neither_keyring_nor_ui(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": "pass phrase",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    setup = (
        "import vault\n"
        "with vault.init_vault(mode='passphrase') as v:\n"
        "    v.add_static('gh', provider='github-pat', token='ghp_x')\n"
    )
    subprocess.run([sys.executable, "-c", setup], check=True, env=env, cwd=REPO, timeout=60)
    roots = loaded_roots(
        "import contextlib, io\n"
        "from vault.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert main(['token', 'gh']) == 0\n"
        "assert out.getvalue() == 'ghp_x\\n'",
        env,
    )
    assert roots.isdisjoint((*FORBIDDEN, "keyring", "platformdirs")), roots
