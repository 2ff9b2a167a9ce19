"""What every benchmark shares: the throw-away vault's secrets, the child
environment, starting and timing cold processes, and the loopback provider.

A benchmark script starts with::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import ...  # noqa: E402

Importing this module puts the repository root on ``sys.path`` too, for
``tests.support`` (the loopback authorization server, the fake browser) when a
script runs as ``.venv/bin/python benchmarks/NAME.py``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vault import Vault

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a throw-away benchmark vault
CLIENT_ID = "tokendeck-bench"
PROVIDER = "acme"
"""The loopback authorization server's name, as ``tokendeck provider add acme --issuer URL`` gives it."""
CHILD_TIMEOUT = 60.0
"""Seconds any one child process may take before the benchmark gives up on it."""


@contextmanager
def scratch_dir(name: str) -> Iterator[Path]:
    """A private temporary directory for one benchmark run, removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix=f"tokendeck-bench-{name}-"))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def tokendeck_command() -> list[str]:
    """The installed console script beside this interpreter (the venv's)."""
    script = Path(sys.executable).with_name("tokendeck")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from vault.cli import run; run()"]


def child_env(home: Path, scratch: Path) -> dict[str, str]:
    """The environment of every child: this vault, its passphrase, no keyring, private XDG dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENDECK_")}
    env.update(
        TOKENDECK_HOME=str(home),
        TOKENDECK_PASSPHRASE=PASSPHRASE,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        XDG_DATA_HOME=str(scratch / "xdg-data"),
        XDG_CONFIG_HOME=str(scratch / "xdg-config"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cold means "new process", not "no .pyc"
    return env


def run_checked(argv: Sequence[str], env: dict[str, str], stdin: str = "") -> str:
    """Run a setup step; its stdout, or exit the benchmark saying what failed."""
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT, check=False
    )
    if done.returncode != 0:
        sys.exit(f"benchmark setup failed: {' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def spawn_ms(argv: Sequence[str], env: dict[str, str] | None = None, *, name: str | None = None) -> float:
    """Wall time in ms of ``argv`` as a new process (no input, output discarded); exits on failure."""
    start = time.perf_counter()
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=env, timeout=CHILD_TIMEOUT, check=False,
    )  # fmt: skip
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        label = name or " ".join(argv)
        sys.exit(f"{label} exited {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
    return elapsed


def time_cold(
    commands: dict[str, list[str]], env: dict[str, str], runs: int, envs: dict[str, dict[str, str]] | None = None
) -> dict[str, list[float]]:
    """Wall time in ms of each command as a new process, ``runs`` rounds, round-robin.

    The starting command rotates every round so none always runs first (or
    right after the slowest).  One untimed round first warms the page cache
    and writes ``last_used_at`` once.  ``envs`` gives some commands their own
    environment.
    """
    names = list(commands)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(runs + 1):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed = spawn_ms(commands[name], (envs or {}).get(name, env), name=name)
            if round_no:
                samples[name].append(elapsed)
    return samples


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def print_table(samples: dict[str, list[float]], med: dict[str, float], floor: float) -> None:
    """Median and minimum of each command, and its median as a multiple of ``floor``."""
    width = max(map(len, med))
    print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>7}  {'x floor':>7}")
    for name, value in med.items():
        print(f"{name:<{width}}  {value:>9.1f}  {min(samples[name]):>7.1f}  {value / floor:>7.2f}")


def time_once(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def kdf_cost(home: Path, scratch: Path, runs: int) -> tuple[float, float, float, int]:
    """Median ms to unlock and read: full ``open_vault`` with the passphrase, the
    same store opened by passphrase, and an identical copy re-keyed to a raw key.

    Also returns the PBKDF2 iteration count (SQLCipher's default, which tokendeck runs itself).
    """
    from vault import open_vault
    from vault.core import keys
    from vault.core.keys import DatabaseKey, Key
    from vault.core.store import Store

    if keys.KDF_ITER != keys.SQLCIPHER_KDF_ITER:
        sys.exit("vault.core.keys.KDF_ITER is lowered: this benchmark measures the shipped KDF cost")

    db = home / "vault.db"
    raw_db = scratch / "raw" / "vault.db"
    raw_db.parent.mkdir(mode=0o700)
    shutil.copy2(db, raw_db)
    salt = db.read_bytes()[:16]
    iterations = keys.KDF_ITER
    passphrase_key = Key.passphrase(PASSPHRASE)
    raw_key = Key.new_raw().database_key(salt, iterations)
    copy = Store.open(raw_db, passphrase_key.database_key(salt, iterations))
    copy.rekey(raw_key)
    copy.checkpoint()
    copy.close()

    read = "SELECT name FROM credentials"

    def open_read(path: Path, key: Callable[[], DatabaseKey]) -> Callable[[], None]:
        def go() -> None:
            s = Store.open(path, key())
            try:
                s.query(read)
            finally:
                s.close()

        return go

    def full_open() -> None:
        with open_vault(home, passphrase=PASSPHRASE) as v:
            v.credentials()

    fns = {
        "full": full_open,
        "passphrase": open_read(db, lambda: passphrase_key.database_key(salt, iterations)),  # the KDF each time
        "raw": open_read(raw_db, lambda: raw_key),
    }
    for fn in fns.values():
        fn()  # warm: imports, page cache
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):  # interleaved, like the cold runs
        for name, fn in fns.items():
            samples[name].append(time_once(fn))
    med = medians(samples)
    return med["full"], med["passphrase"], med["raw"], iterations


def register_provider(v: Vault, issuer: str) -> str:
    """What ``tokendeck provider add acme --issuer URL --client-id ID`` stores; returns the token URL."""
    from vault.core.model import ClientRegistration
    from vault.core.providers import resolve
    from vault.oauth.discovery import discover

    registration = ClientRegistration(
        provider=PROVIDER, base="oidc", client_id=CLIENT_ID, overrides=discover(PROVIDER, issuer)
    )
    token_url = resolve(registration).token_url  # checks every endpoint, as the command does
    v.records.set_client(registration)
    if token_url is None:
        raise RuntimeError("discovery found no token endpoint")
    return token_url


def store_expired(v: Vault, names: Sequence[str], tokens: Sequence[Mapping[str, Any]]) -> None:
    """Store (or overwrite) an OAuth credential of :data:`PROVIDER` under each name, holding the
    matching token response and already expired: the next read refreshes it."""
    from vault.core.model import Credential
    from vault.core.secret import Secret

    now = v.clock.now()
    for name, token in zip(names, tokens, strict=True):
        credential = Credential(
            name=name,
            provider=PROVIDER,
            kind="oauth",
            account="alice",
            access_token=Secret(token["access_token"]),
            refresh_token=Secret(token["refresh_token"]),
            token_type="Bearer",
            scopes=tuple(token.get("scope", "").split()),
            expires_at=now - 60,
            created_at=now,
            updated_at=now,
        )
        v.records.save(credential, replace=True, action="add")


def parse_runs(doc: str | None, argv: Sequence[str] | None, *, default: int, what: str) -> int:
    """The ``--runs N`` of a benchmark whose only option it is (at least 1)."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("--runs", type=int, default=default, help=f"{what} (default {default})")
    runs: int = parser.parse_args(argv).runs
    if runs < 1:
        parser.error("--runs must be at least 1")
    return runs


def print_preamble(title: str) -> None:
    """The first lines of every report: what ran, on which interpreter, and how to read it."""
    print(title)
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
    print("milliseconds are this machine's and noisy; compare the ratios\n")
