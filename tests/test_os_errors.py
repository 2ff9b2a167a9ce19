"""What a failing file system does to a command (issue 30): every OS error is one line that
names the file and what was being done, with a documented exit code, and stored data stays
as it was; an init that fails leaves nothing that a second init refuses; a transient read
error is not called damage.  Faults come from the OS itself where that is practical (strace's
fault injection on a real process), else from the one call that fails (os.replace, os.rename)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import vault
from tests.support.cli import CliRunner, Result

PASS = "correct horse battery staple"
REAL_REPLACE = os.replace
REPO = Path(__file__).resolve().parent.parent


def one_line(r: Result) -> str:
    assert "Traceback" not in r.err, r.err
    lines = [line for line in r.err.splitlines() if line.startswith("tokendeck:")]
    assert len(lines) == 1, r.err
    return lines[0]


def failing(real: Callable[..., Any], when: Callable[..., bool], err: int = errno.EIO) -> Callable[..., Any]:
    """``real``, but raising the OS error ``err`` for the calls ``when`` picks."""

    def call(*args: Any, **kwargs: Any) -> Any:
        if when(*args):  # as the OS says it: the file, and for a rename its destination too
            raise OSError(err, os.strerror(err), str(args[0]), None, *([str(args[1])] if len(args) > 1 else []))
        return real(*args, **kwargs)

    return call


def files(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.is_file()}


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str) -> CliRunner:
    assert cli("init", "--passphrase").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_secret_one\n").code == 0
    return cli


# ------------------------------------------------------------------------ init


def test_an_init_whose_vault_json_cannot_be_written_leaves_nothing(
    cli: CliRunner, home: Path, passphrase_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "replace", failing(os.replace, lambda src, dst: str(dst).endswith("vault.json")))
    r = cli("init", "--passphrase")
    assert r.code == 1 and f"could not replace {home / 'vault.json'}: Input/output error" in one_line(r)
    assert list(home.iterdir()) == []  # no half-made vault
    monkeypatch.setattr(os, "replace", REAL_REPLACE)
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", PASS)
    assert cli("init", "--passphrase").code == 0 and cli("list").code == 0


def test_an_init_that_cannot_clean_up_is_finished_by_the_next_init(
    cli: CliRunner, home: Path, passphrase_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk refuses vault.json, then refuses the clean-up too: the leftover is marked, every
    command says init was not finished, and the next init clears it and makes the vault."""
    real_unlink, real_replace = Path.unlink, os.replace
    monkeypatch.setattr(os, "replace", failing(os.replace, lambda src, dst: str(dst).endswith("vault.json")))
    monkeypatch.setattr(Path, "unlink", failing(real_unlink, lambda path, *a: path.name == "vault.db"))
    r = cli("init", "--passphrase")
    assert r.code == 1
    line = one_line(r)
    assert "could not replace" in line and "tokendeck init clears what is left (vault.db)" in line, line
    monkeypatch.setattr(os, "replace", real_replace)
    monkeypatch.setattr(Path, "unlink", real_unlink)
    assert {p.name for p in home.iterdir()} >= {"vault.db", ".init-unfinished"}
    r = cli("list")
    assert r.code == 5 and "never finished" in one_line(r) and "tokendeck init" in r.err
    assert cli("init", "--passphrase").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_x1\n").code == 0
    assert cli("token", "gh").out == "ghp_x1\n" and ".init-unfinished" not in os.listdir(home)


def test_a_killed_init_is_finished_by_the_next_one_but_a_running_one_is_not_disturbed(
    cli: CliRunner, home: Path, passphrase_env: str
) -> None:
    home.mkdir(mode=0o700)
    (home / "vault.db").write_bytes(b"half a vault")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (home / ".init-unfinished").write_text(str(sleeper.pid))  # an init still running
        r = cli("init", "--passphrase")
        assert r.code == 1 and f"process {sleeper.pid}" in one_line(r)
        assert (home / "vault.db").read_bytes() == b"half a vault"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert cli("init", "--passphrase").code == 0  # its process is gone: a leftover
    assert cli("list").code == 0 and not (home / ".init-unfinished").exists()


# --------------------------------------------------------- passphrase change


def test_a_passphrase_change_that_cannot_write_vault_json_changes_nothing(
    ready: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = files(home)
    monkeypatch.setenv("TOKENDECK_NEW_PASSPHRASE", "a new and much longer passphrase")
    monkeypatch.setattr(os, "replace", failing(os.replace, lambda src, dst: str(dst).endswith("vault.json")))
    r = ready("passphrase", "change")
    assert r.code == 1 and "could not replace" in one_line(r) and "vault.json" in r.err
    monkeypatch.setattr(os, "replace", REAL_REPLACE)
    assert files(home)["vault.json"] == before["vault.json"]
    with vault.open_vault(home, PASS) as v:
        assert v.token("gh") == "ghp_secret_one"


# ---------------------------------------------------------------------- export


def test_an_export_file_name_too_long_is_one_line(ready: CliRunner, tmp_path: Path) -> None:
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH", "--file", str(tmp_path / ("x" * 300)), "--plaintext")
    assert r.code == 2 and "File name too long" in one_line(r)
    long_name = tmp_path / ("y" * 250)  # fits, though its temp file's full name would not
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH", "--file", str(long_name), "--plaintext", "--force")
    assert r.code == 0, r.err
    assert long_name.read_text() == "GH='ghp_secret_one'\n"


def test_an_export_whose_rename_fails_leaves_the_file_and_no_temp(
    ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "app.env"
    target.write_text("OTHER=1\n")
    monkeypatch.setattr(os, "replace", failing(os.replace, lambda src, dst: str(dst) == str(target), errno.ENOSPC))
    r = ready("export", "dotenv", "--name", "gh", "--var", "GH", "--file", str(target), "--plaintext", "--force")
    assert r.code == 1
    assert f"could not replace {target}: No space left on device; app.env was not changed" in one_line(r)
    assert target.read_text() == "OTHER=1\n" and sorted(p.name for p in tmp_path.iterdir()) == ["app.env", "home"]
    monkeypatch.setattr(os, "replace", REAL_REPLACE)
    assert "app.env" not in ready("export", "--list").out  # no binding for a file that was not written


def test_a_killed_exports_temp_file_goes_with_a_re_export_that_changes_nothing(
    ready: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "app.env"
    argv = ("export", "dotenv", "--name", "gh", "--var", "GH", "--file", str(target), "--plaintext", "--force")
    assert ready(*argv).code == 0
    leftover = tmp_path / ".app.env.k1ll3d.tokendeck.tmp"
    leftover.write_text("GH='ghp_secret_one'\n")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    before = target.read_bytes()
    assert ready(*argv).code == 0  # nothing to change in app.env
    assert target.read_bytes() == before and not leftover.exists()


# ------------------------------------------------------------- backup, restore


def test_a_backup_that_cannot_be_renamed_into_place_is_one_line(
    ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "b.zip"
    monkeypatch.setattr(os, "replace", failing(os.replace, lambda src, dst: str(dst) == str(target)))
    r = ready("backup", str(target))
    assert r.code == 1 and f"could not replace {target}: Input/output error" in one_line(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_a_restore_rename_the_disk_refuses_is_one_line_naming_both_files(
    ready: CliRunner, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Restore's own steps (and where the vault is left) are the restore's; whatever an OS
    error no step expected, the command says it in one line naming the files."""
    backup = tmp_path / "b.zip"
    assert ready("backup", str(backup)).code == 0
    monkeypatch.setattr(os, "rename", failing(os.rename, lambda src, dst: str(src) == str(home / "vault.db")))
    r = ready("restore", str(backup), "--yes")
    assert r.code == 1
    line = one_line(r)
    assert f"could not move {home / 'vault.db'} to" in line and "Input/output error" in line, line


def test_a_restore_that_cannot_write_its_copy_blames_the_disk_not_the_backup(
    ready: CliRunner, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "b.zip"
    assert ready("backup", str(backup)).code == 0
    before = files(home)
    real_open = Path.open

    class Full:
        def __init__(self, inner: Any) -> None:
            self.inner, self.name = inner, inner.name

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.close()

    def opening(path: Path, *args: Any, **kwargs: Any) -> Any:
        f = real_open(path, *args, **kwargs)
        return Full(f) if path.parent.name == ".restore-incoming" else f  # the restore's copy of the backup

    monkeypatch.setattr(Path, "open", opening)
    r = ready("restore", str(backup), "--yes")
    monkeypatch.setattr(Path, "open", real_open)
    assert r.code == 1
    line = one_line(r)
    assert "could not write" in line and "No space left on device" in line and "damaged" not in line, line
    assert files(home) == before and not [p for p in home.iterdir() if p.name.startswith(".restore")]


# ------------------------------------------- the OS failing under a real process

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


def injected(home: Path, spec: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``tokendeck ARGV`` in its own process, with strace failing the system calls ``spec`` says
    (``pread64:error=EIO:when=9``) on the vault's own files only."""
    env = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "TOKENDECK_NO_AGENT": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    paths = [str(home / name) for name in ("vault.db", "vault.db-wal", "vault.db-shm")]
    trace = ["strace", "-f", "-qq", "-o", "/dev/null", *(f"-P{p}" for p in paths), "-e", f"inject={spec}"]
    command = [*trace, shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck", *argv]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


@needs_strace
@pytest.mark.parametrize("call", ["pread64", "pwrite64"])
def test_an_io_error_on_the_vault_is_one_line_blamed_on_the_disk_and_loses_nothing(
    ready: CliRunner, home: Path, call: str
) -> None:
    """An I/O error at each of the first reads (or writes) of ``add``: one line, never
    "damaged, restore a backup" alone (a read error is the disk's: trying again may work), and
    the vault opens afterwards with nothing lost."""
    before = files(home)
    for when in range(1, 16):
        done = injected(home, f"{call}:error=EIO:when={when}", "add", "new", "--provider", "api-key", stdin="tok-1\n")
        assert "Traceback" not in done.stderr, (when, done.stderr)
        if done.returncode == 0:
            assert "stored new" in done.stderr
            assert ready("rm", "new", "--yes").code == 0
            continue
        assert done.returncode == 1 and done.stderr.count("\n") == 1, (when, done.stderr)
        if "restore" in done.stderr:  # damage is possible only where the disk read fine: try once more
            assert "try once more" in done.stderr, (when, done.stderr)
        if call == "pwrite64":
            assert "could not read " + str(home / "vault.db") + "\n" not in done.stderr
        with vault.open_vault(home, PASS) as v:
            assert v.token("gh") == "ghp_secret_one" and not v.records.exists("new"), when
    assert files(home)["vault.json"] == before["vault.json"]
