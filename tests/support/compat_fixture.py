"""Build (and describe) the checked-in vault home in ``tests/fixtures/compat-v1``: a small
passphrase vault written by the code as it was before ``Vault`` held its parts, which
``tests/test_compat_fixture.py`` opens with today's code.

Re-run it only to make a new fixture on purpose (the old one is the point)::

    python -m tests.support.compat_fixture tests/fixtures/compat-v1

It writes ``vault.db`` and ``vault.json`` (the files a home needs to open: see
``vault/core/paths.py``) at the test KDF cost, which ``vault.json`` records, so opening it
is fast.  Everything it stores is in :data:`EXPECTED`, which the test reads back.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

PASSPHRASE = "compat fixture passphrase"
"""The fixture's passphrase (a test secret, nothing else)."""

AT = 1_800_000_000.0
"""The frozen time it was built at (2027-01-15T08:00:00Z)."""

KDF_ITER = 2
"""The test KDF cost (``tests/conftest.py``'s ``TEST_KDF_ITER``), recorded in ``vault.json``."""

EXPECTED: dict[str, Any] = {
    "static": {
        "name": "openai",
        "provider": "api-key",
        "token": "sk-compat-fixture-static-0001",
        "account": "dev@example.com",
        "expires_at": AT + 90 * 86400,
    },
    "oauth": {
        "name": "github",
        "provider": "github",
        "account": "octocat",
        "access_token": "gho_compatFixtureAccess0001",
        "refresh_token": "ghr_compatFixtureRefresh0001",
        "id_token": None,
        "token_type": "Bearer",
        "scopes": ("repo", "read:org"),
        "expires_at": AT + 3600,
        "refresh_expires_at": AT + 180 * 86400,
        "extras": {"redirect_uri": "http://127.0.0.1/callback"},
    },
    "client": {
        "provider": "github",
        "base": "github",
        "client_id": "Iv1.compatfixture",
        "client_secret": "compat-fixture-client-secret",
    },
    "binding": {"credential": "github", "target": "dotenv", "path": "/tmp/compat-fixture.env", "key": "GH_TOKEN"},
    "git_host": ("github.com", "github", "x-access-token"),
    "audit": [
        ("init", "ok", None),
        ("add", "ok", "openai"),
        ("provider-add", "ok", None),
        ("save", "ok", "github"),
        ("export", "bound", "github"),
        ("git-host", "mapped", "github"),
        ("token", "handed-out", "github"),
        ("refresh", "failed", "github"),
    ],
}


def build(home: Path) -> None:
    """Make the fixture vault at ``home`` (which must not exist yet)."""
    from vault.core import keys
    from vault.core.clock import FrozenClock
    from vault.core.model import ClientRegistration, Credential
    from vault.core.secret import Secret
    from vault.services.opening import init_vault

    keys.KDF_ITER = KDF_ITER
    clock = FrozenClock(AT)
    s, o, c, b = EXPECTED["static"], EXPECTED["oauth"], EXPECTED["client"], EXPECTED["binding"]
    with init_vault(home, mode="passphrase", passphrase=PASSPHRASE, env={}, clock=clock) as v:
        v.records.add_static(
            s["name"], provider=s["provider"], token=s["token"], account=s["account"], expires_at=s["expires_at"]
        )
        v.records.set_client(
            ClientRegistration(c["provider"], c["base"], c["client_id"], client_secret=Secret(c["client_secret"]))
        )
        v.records.save(
            Credential(
                name=o["name"],
                provider=o["provider"],
                kind="oauth",
                account=o["account"],
                access_token=Secret(o["access_token"]),
                refresh_token=Secret(o["refresh_token"]),
                token_type=o["token_type"],
                scopes=o["scopes"],
                expires_at=o["expires_at"],
                refresh_expires_at=o["refresh_expires_at"],
                extras=o["extras"],
                created_at=AT,
                updated_at=AT,
                last_refreshed_at=AT,
            ),
            replace=False,
        )
        v.records.links.add_export_binding(
            b["credential"], target=b["target"], path=b["path"], key=b["key"], options={}
        )
        host, name, user = EXPECTED["git_host"]
        v.records.links.map_git_host(host, name, user)
        v.records.record("token", "handed-out", credential="github", detail="reader=compat-fixture")
        v.records.record("refresh", "failed", credential="github", detail="network: compat fixture")


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "fixtures" / "compat-v1"
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        build(home)
        target.mkdir(parents=True, exist_ok=True)
        for name in ("vault.db", "vault.json"):
            shutil.copyfile(home / name, target / name)
        left = sorted(p.name for p in home.iterdir() if p.name not in ("vault.db", "vault.json"))
    print(f"wrote {target} (not copied: {left})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
