"""Real processes on a real vault at SQLCipher's default KDF cost: concurrent
writers, a writer that holds the lock too long, and the CLI's stderr discipline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PASS = "process test passphrase"
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def tokendeck(env: dict[str, str], *argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([TOKENDECK, *argv], input=stdin, capture_output=True, env=env, timeout=60, check=False)


WRITER = """
import sys, vault
who = sys.argv[1]
with vault.open_vault() as v:
    for i in range(25):
        v.records.add_static(f"{who}-{i}", provider="api-key", token=f"tok-{who}-{i}")
"""


def test_concurrent_writers_all_succeed_and_nothing_is_lost(env: dict[str, str]) -> None:
    assert tokendeck(env, "init").returncode == 0
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, f"w{n}"], env=env, cwd=REPO, stderr=subprocess.PIPE)
        for n in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    listed = tokendeck(env, "list", "--json")
    assert listed.returncode == 0
    import json

    names = {c["name"] for c in json.loads(listed.stdout)}
    assert names == {f"w{n}-{i}" for n in range(4) for i in range(25)}
    assert tokendeck(env, "token", "w3-24").stdout == b"tok-w3-24\n"


HOLDER = """
import sys, time, vault
with vault.open_vault() as v, v.records._store.transaction():
    print("holding", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def test_a_writer_that_holds_the_lock_too_long_gives_vault_busy(env: dict[str, str], home: Path) -> None:
    assert tokendeck(env, "init").returncode == 0
    assert tokendeck(env, "add", "gh", "--provider", "github-pat", stdin=b"ghp_kept").returncode == 0
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "9"], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        busy = tokendeck(env, "add", "new", "--provider", "api-key", stdin=b"tok")
        # Exit 6 while the holder still has 4 s to go proves the wait is bounded.
        assert busy.returncode == 6, busy.stderr
        assert busy.stderr.decode().strip().splitlines() == [
            "tokendeck: the vault is busy: another tokendeck process is writing; try again"
        ]
        assert tokendeck(env, "token", "gh").stdout == b"ghp_kept\n"  # reads go on meanwhile
    finally:
        holder.communicate(timeout=30)
    assert tokendeck(env, "show", "new").returncode == 5  # the refused write left nothing
    assert tokendeck(env, "add", "new", "--provider", "api-key", stdin=b"tok").returncode == 0


def test_wrong_passphrase_in_a_real_process_is_one_line(env: dict[str, str], home: Path) -> None:
    assert tokendeck(env, "init").returncode == 0
    before = (home / "vault.db").read_bytes()
    wrong = tokendeck({**env, "TOKENDECK_PASSPHRASE": "nope"}, "list")
    assert wrong.returncode == 3
    assert wrong.stderr == b"tokendeck: wrong passphrase\n"  # no SQLCipher log lines
    assert wrong.stdout == b""
    assert (home / "vault.db").read_bytes() == before


def test_non_utf8_on_a_real_pipe(env: dict[str, str]) -> None:
    assert tokendeck(env, "init").returncode == 0
    bad = tokendeck(env, "add", "x", "--provider", "api-key", stdin=b"\xc3\x28token")
    assert bad.returncode == 2
    assert b"not UTF-8" in bad.stderr and b"Traceback" not in bad.stderr
    assert tokendeck(env, "list", "--json").stdout.strip() == b"[]"
