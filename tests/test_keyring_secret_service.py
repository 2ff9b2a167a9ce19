"""The keyring mode against a real Secret Service: Debian's gnome-keyring on a private D-Bus bus.

Everything else in the suite uses an in-memory keyring; this module runs the shipped
``tokendeck`` command in subprocesses, with keyring's SecretService backend talking over
D-Bus to a ``gnome-keyring-daemon`` that lives only for this module (its own bus, HOME,
XDG dirs and keyring files in a temp dir, so no real keyring is touched).  The Secret
Service is inspected directly with ``secretstorage`` to prove where the key really is.

``tests/system-deps.sh`` installs the daemons where it can.  Without them the module is
skipped, except when ``CI`` is set: there a skip would hide a broken setup, so it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.system import unavailable

pytestmark = pytest.mark.slow

SECRETS_NAME = "org.freedesktop.secrets"
KEYRING_SERVICE = "tokendeck"  # vault.keys.KEYRING_SERVICE, spelled out: a rename must show here
STARTUP_TIMEOUT = 15.0
COMMAND_TIMEOUT = 60.0
PASSPHRASE = "a long passphrase for the secret service test"
NEW_PASSPHRASE_ENV = "TOKENDECK_NEW_PASSPHRASE"
TOKEN = "ghp_secretservice0123456789"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
"""A session bus with no service directories: nothing is ever auto-started on it (in
particular not a second gnome-keyring-daemon behind our back)."""


@dataclass(frozen=True)
class SecretService:
    """A running private bus with gnome-keyring on it."""

    address: str
    base_env: dict[str, str]
    """Environment for tokendeck subprocesses: the private bus, temp HOME and XDG dirs."""

    def connect(self) -> Any:
        """A new jeepney connection to the private bus (close it)."""
        from jeepney.io.blocking import open_dbus_connection

        return open_dbus_connection(bus=self.address)

    def items(self, username: str | None = None) -> list[tuple[dict[str, str], str]]:
        """The tokendeck items in the Secret Service: (attributes, secret) pairs."""
        import secretstorage

        query = {"service": KEYRING_SERVICE}
        if username is not None:
            query["username"] = username
        for _ in range(20):  # gnome-keyring may still list an item it is deleting: ask again
            with closing(self.connect()) as conn:
                try:
                    found = []
                    for item in secretstorage.search_items(conn, query):
                        if item.is_locked():
                            item.unlock()
                        found.append((item.get_attributes(), item.get_secret().decode()))
                    return found
                except secretstorage.exceptions.ItemNotFoundException:
                    time.sleep(0.05)
        raise AssertionError("the Secret Service kept listing an item it says does not exist")

    def delete(self, username: str) -> int:
        """Delete the tokendeck items for ``username`` by hand; returns how many."""
        import secretstorage

        with closing(self.connect()) as conn:
            items = list(secretstorage.search_items(conn, {"service": KEYRING_SERVICE, "username": username}))
            for item in items:
                item.delete()
            return len(items)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_for_secret_service(service: SecretService, procs: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
    """Poll until gnome-keyring owns its bus name and its default collection is unlocked."""
    import secretstorage
    from secretstorage.exceptions import SecretStorageException

    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "nothing tried yet"
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode} while starting:\n{_read_logs(logs)}")
        try:
            with closing(service.connect()) as conn:
                if secretstorage.check_service_availability(conn):
                    if not secretstorage.Collection(conn).is_locked():
                        return
                    last = "the default collection is locked"
                else:
                    last = f"{SECRETS_NAME} has no owner"
        except (OSError, ConnectionError, SecretStorageException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    pytest.fail(f"the Secret Service did not come up within {STARTUP_TIMEOUT:.0f}s ({last}):\n{_read_logs(logs)}")


def _read_logs(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in sorted(logs.glob("*.log")))


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    """A private D-Bus session bus with an unlocked gnome-keyring Secret Service on it."""
    dbus_daemon = shutil.which("dbus-daemon")
    keyring_daemon = shutil.which("gnome-keyring-daemon")
    if dbus_daemon is None or keyring_daemon is None:
        unavailable("dbus-daemon or gnome-keyring-daemon is not installed")
    try:
        import jeepney  # noqa: F401 - only checking that it is there
        import secretstorage  # noqa: F401
    except ImportError as exc:
        unavailable(f"the secretstorage/jeepney packages are missing ({exc})")

    root = tmp_path_factory.mktemp("secret-service")
    dirs = {name: root / name for name in ("home", "data", "config", "cache", "runtime", "logs")}
    for path in dirs.values():
        path.mkdir(mode=0o700)
    socket = dirs["runtime"] / "bus"
    if len(str(socket)) > 100:
        pytest.fail(f"the temp dir is too deep for a unix socket path: {socket}")
    address = f"unix:path={socket}"
    config = root / "bus.conf"
    config.write_text(BUS_CONFIG.format(address=address))

    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "HOME": str(dirs["home"]),
        "XDG_DATA_HOME": str(dirs["data"]),
        "XDG_CONFIG_HOME": str(dirs["config"]),
        "XDG_CACHE_HOME": str(dirs["cache"]),
        "XDG_RUNTIME_DIR": str(dirs["runtime"]),
        "DBUS_SESSION_BUS_ADDRESS": address,
    }
    service = SecretService(address, env)
    with ExitStack() as stack:
        bus_log = stack.enter_context((dirs["logs"] / "dbus-daemon.log").open("wb"))
        keyring_log = stack.enter_context((dirs["logs"] / "gnome-keyring-daemon.log").open("wb"))
        procs: dict[str, subprocess.Popen[bytes]] = {}
        bus = subprocess.Popen(
            [dbus_daemon, "--nofork", "--nosyslog", f"--config-file={config}"],
            stdin=subprocess.DEVNULL,
            stdout=bus_log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        stack.callback(_stop, bus)
        procs["dbus-daemon"] = bus
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not socket.exists():
            if bus.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dbus-daemon did not create {socket}:\n{_read_logs(dirs['logs'])}")
            time.sleep(0.05)

        keyring = subprocess.Popen(
            # --foreground keeps it our child, so teardown can stop it; --unlock reads the
            # new login keyring's password from stdin and leaves it unlocked.
            [keyring_daemon, "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=keyring_log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        stack.callback(_stop, keyring)  # runs before the bus is stopped
        procs["gnome-keyring-daemon"] = keyring
        assert keyring.stdin is not None
        with keyring.stdin:
            keyring.stdin.write(b"keyring password for tests")

        _wait_for_secret_service(service, procs, dirs["logs"])
        yield service


# --------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def _tokendeck_argv() -> list[str]:
    script = shutil.which("tokendeck", path=os.path.dirname(sys.executable))
    if script is not None:
        return [script]
    return [sys.executable, "-c", "from vault.cli import run; run()"]


@dataclass(frozen=True)
class Tokendeck:
    """Runs the installed ``tokendeck`` in a subprocess on the private Secret Service.

    The environment is built from scratch: the private bus, keyring's SecretService
    backend, temp HOME/XDG dirs, this vault's ``TOKENDECK_HOME`` and no
    ``TOKENDECK_PASSPHRASE*`` unless a call passes one.
    """

    service: SecretService
    home: Path
    argv: list[str]

    def __call__(self, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> Run:
        full_env = {
            **self.service.base_env,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
            "TOKENDECK_HOME": str(self.home),
            **(env or {}),
        }
        done = subprocess.run(
            [*self.argv, *args],
            input=stdin.encode(),
            capture_output=True,
            env=full_env,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.fixture
def tokendeck(secret_service: SecretService, tmp_path: Path) -> Tokendeck:
    """``tokendeck`` with a fresh vault home of its own."""
    return Tokendeck(secret_service, tmp_path / "vault", _tokendeck_argv())


def _meta(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "vault.json").read_text())
    return data


def _ok(result: Run) -> Run:
    assert result.code == 0, f"exit {result.code}\nstdout: {result.out}\nstderr: {result.err}"
    return result


def _is_hex_key(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


def _opens_with_raw_key(db: Path, hex_key: str) -> bool:
    """Whether SQLCipher, used directly, decrypts ``db`` with this raw key."""
    import sqlcipher3

    conn = sqlcipher3.connect(str(db))
    try:
        conn.execute("PRAGMA cipher_log_level = NONE").fetchall()
        conn.execute(f"PRAGMA key = \"x'{hex_key}'\"")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlcipher3.DatabaseError:
            return False
        return bool(version)
    finally:
        conn.close()


def _vault_users(service: SecretService, vault_id: str) -> list[str]:
    """The keyring users of every tokendeck item belonging to this vault, old or new."""
    return [a["username"] for a, _ in service.items() if a["username"].startswith(f"vault-{vault_id}")]


def _snapshot(home: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file in the vault home: inode, mtime and bytes (so even a same-bytes rewrite shows)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(home.iterdir())}


# ----------------------------------------------------------------------- tests


def test_init_keeps_the_key_in_the_secret_service(secret_service: SecretService, tokendeck: Tokendeck) -> None:
    created = _ok(tokendeck("init"))
    assert "keyring" in created.err

    meta = _meta(tokendeck.home)
    assert meta["mode"] == "keyring"
    user = meta["keyring_user"]
    assert user
    items = secret_service.items(user)
    assert len(items) == 1, items
    attributes, key = items[0]
    assert attributes["service"] == KEYRING_SERVICE
    assert attributes["username"] == user
    assert _is_hex_key(key)
    assert key not in (tokendeck.home / "vault.json").read_text()

    _ok(tokendeck("add", "gh", "--provider", "github-pat", stdin=f"{TOKEN}\n"))
    assert _ok(tokendeck("token", "gh")).out == f"{TOKEN}\n"
    listed = _ok(tokendeck("list"))
    assert listed.out.splitlines()[0].split() == ["NAME", "PROVIDER", "ACCOUNT", "STATUS", "EXPIRES"]
    assert listed.out.splitlines()[1].split()[:2] == ["gh", "github-pat"]
    assert TOKEN not in listed.out + listed.err

    # The key in the Secret Service is the one that encrypts the file, and it did not change.
    assert secret_service.items(user) == items
    assert _opens_with_raw_key(tokendeck.home / "vault.db", key)


def test_moving_to_a_passphrase_and_back_to_the_keyring(secret_service: SecretService, tokendeck: Tokendeck) -> None:
    _ok(tokendeck("init"))
    first_user = _meta(tokendeck.home)["keyring_user"]
    vault_id = _meta(tokendeck.home)["vault_id"]
    [(_, first_key)] = secret_service.items(first_user)
    _ok(tokendeck("add", "gh", "--provider", "github-pat", stdin=f"{TOKEN}\n"))

    _ok(tokendeck("passphrase", "change", env={NEW_PASSPHRASE_ENV: PASSPHRASE}))
    meta = _meta(tokendeck.home)
    assert meta["mode"] == "passphrase"
    assert "keyring_user" not in meta
    assert secret_service.items(first_user) == []
    assert _vault_users(secret_service, vault_id) == []
    assert not _opens_with_raw_key(tokendeck.home / "vault.db", first_key)
    locked = tokendeck("token", "gh")
    assert (locked.code, locked.out) == (3, "")
    assert _ok(tokendeck("token", "gh", env={"TOKENDECK_PASSPHRASE": PASSPHRASE})).out == f"{TOKEN}\n"

    _ok(tokendeck("passphrase", "change", "--keyring", env={"TOKENDECK_PASSPHRASE": PASSPHRASE}))
    meta = _meta(tokendeck.home)
    assert meta["mode"] == "keyring"
    new_user = meta["keyring_user"]
    assert new_user != first_user
    [(attributes, new_key)] = secret_service.items(new_user)
    assert attributes["service"] == KEYRING_SERVICE
    assert _is_hex_key(new_key)
    assert new_key != first_key
    assert _vault_users(secret_service, vault_id) == [new_user]
    assert _opens_with_raw_key(tokendeck.home / "vault.db", new_key)
    assert _ok(tokendeck("token", "gh")).out == f"{TOKEN}\n"


def test_a_vanished_keyring_item_locks_the_vault_and_writes_nothing(
    secret_service: SecretService, tokendeck: Tokendeck
) -> None:
    _ok(tokendeck("init"))
    _ok(tokendeck("add", "gh", "--provider", "github-pat", stdin=f"{TOKEN}\n"))
    user = _meta(tokendeck.home)["keyring_user"]
    before = _snapshot(tokendeck.home)
    assert {"vault.db", "vault.json"} <= before.keys()

    assert secret_service.delete(user) == 1
    assert secret_service.items(user) == []

    result = tokendeck("list")
    assert result.code == 3, result
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    assert "keyring" in result.err
    assert _snapshot(tokendeck.home) == before
