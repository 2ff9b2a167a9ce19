"""Issue 30, item 5: a restore killed (or failing) at every step leaves a home that the next
command opens as the old vault or as the new one, never as neither, or says exactly what to run.

``tokendeck restore`` runs in a real process against real SQLCipher files, and is stopped at
each step in two ways: the named kill points of :mod:`vault.core.faults` (``TOKENDECK_FAULT``:
just before and after the journal, after each move, before the journal goes), and strace's
fault injection on the ``rename`` system call itself (the N-th rename is refused with EIO, or
the process is SIGKILLed as it makes it), for every N until the restore gets through.  After
each, a fresh process lists the vault and reads every token: exactly the old vault's
credentials or exactly the backup's; the vault it replaced opens whole from the folder named in
the message; a failure that leaves a restore unfinished names ``tokendeck restore --resume``,
and running that finishes it.

The old vault has a committed change still only in its ``-wal`` (a writer killed after its
commit), so a swap that left the ``-wal`` behind would lose it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import vault
from tests.support.system import unavailable
from tests.test_agent_cli import TOKENDECK
from vault.services.backups import backup

PASS = "restore fault passphrase"
NEW = {"gh": "ghp_restoreBACKUP01", "before": "sk_restoreBACKUP02"}
"""What the backup holds."""
OLD = {"gh": "ghp_restoreCURRENT1", "after": "sk_restoreCURRENT2"}
"""What the vault holds when it is restored over (``after`` only in its -wal)."""
JOURNAL = "restore-in-progress.json"
RESUME = "tokendeck restore --resume"
MAX_TURNS = 15


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of the tokendeck processes (no agent, the passphrase set)."""
    return {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "TOKENDECK_NO_AGENT": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def run(env: dict[str, str], *argv: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, TOKENDECK, *argv], input="", capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture
def pristine(env: dict[str, str], home: Path, tmp_path: Path) -> Path:
    """A backup holding NEW in ``tmp_path/backup.zip``, and a copy of the home holding OLD
    (its last credential only in the -wal) to start every turn from; returns the copy."""
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        for name, token in NEW.items():
            v.records.add_static(name, provider="api-key", token=token)
        backup(v, tmp_path / "backup.zip")
        v.remove("before")
        v.remove("gh")
        v.records.add_static("gh", provider="api-key", token=OLD["gh"])
    killed = subprocess.run(
        [TOKENDECK, "add", "after", "--provider", "api-key"],
        input=OLD["after"] + "\n", capture_output=True, text=True, timeout=120, check=False,
        env={**env, "TOKENDECK_FAULT": "committed"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (home / "vault.db-wal").stat().st_size > 32  # `after` is only in the -wal
    copy = tmp_path / "pristine"
    shutil.copytree(home, copy)
    return copy


def reset(home: Path, pristine: Path) -> None:
    shutil.rmtree(home)
    shutil.copytree(pristine, home)


def credentials(env: dict[str, str], home: Path | None = None) -> tuple[dict[str, str], str]:
    """Every credential and its token, as a fresh process reads them (which must open the vault
    on its first try), and what the first command said on stderr."""
    env = env if home is None else {**env, "TOKENDECK_HOME": str(home)}
    listed = run(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    found = {}
    for row in json.loads(listed.stdout):
        token = run(env, "token", row["name"])
        assert token.returncode == 0, token.stderr
        found[row["name"]] = token.stdout.strip()
    return found, listed.stderr


def kept_folders(home: Path) -> list[Path]:
    return sorted(home.glob("before-restore-*"))


def check_after(env: dict[str, str], home: Path, what: str) -> str:
    """The next command after a restore stopped somewhere: the vault is OLD or NEW, exactly; if
    NEW, OLD is kept whole in the one folder the message (or the restore's) named; nothing
    of the restore is left over.  Returns which it was."""
    journal = (home / JOURNAL).exists()
    now, said = credentials(env)
    assert now in (OLD, NEW), f"{what}: {now}"
    if journal:  # committed: the first command finished it, and said so in one line
        assert now == NEW, what
        (kept,) = kept_folders(home)
        assert said == (
            f"tokendeck: finished the restore of {home} from {home.parent / 'backup.zip'} that was cut short; "
            f"the vault it replaced is kept in {kept} (open it with TOKENDECK_HOME={kept})\n"
        ), what
    if now == NEW:
        (kept,) = kept_folders(home)
        assert credentials(env, kept)[0] == OLD, f"{what}: the replaced vault, with its -wal, opens from {kept}"
    else:
        assert kept_folders(home) == [], what
    assert not (home / JOURNAL).exists() and not (home / ".restore-incoming").exists(), what
    return "new" if now == NEW else "old"


def restore_argv(home: Path) -> tuple[str, ...]:
    return ("restore", str(home.parent / "backup.zip"), "--yes")


@pytest.mark.parametrize(
    ("point", "expect"),
    [("restore-staged", "old"), ("restore-committed", "new"), ("restore-moved", "new"), ("restore-done", "new")],
)
def test_a_restore_killed_at_each_step_opens_as_the_old_vault_or_the_new(
    env: dict[str, str], home: Path, pristine: Path, point: str, expect: str
) -> None:
    """The named kill points, each time they are reached (``restore-moved`` once per move: the
    old vault's three files out, the new one's two in)."""
    kills = 0
    for turn in range(1, MAX_TURNS + 1):
        reset(home, pristine)
        done = run({**env, "TOKENDECK_FAULT": f"{point}:{turn}"}, *restore_argv(home))
        if done.returncode == 0:
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        kills += 1
        assert check_after(env, home, f"{point}:{turn}") == expect
    else:
        raise AssertionError(f"{point} reached more than {MAX_TURNS} times")
    assert kills == (5 if point == "restore-moved" else 1)
    assert check_after(env, home, "not killed") == "new"


def test_a_restore_cut_short_before_its_journal_leaves_nothing_to_resume(
    env: dict[str, str], home: Path, pristine: Path
) -> None:
    reset(home, pristine)
    assert run({**env, "TOKENDECK_FAULT": "restore-staged"}, *restore_argv(home)).returncode == -signal.SIGKILL
    assert (home / ".restore-incoming").is_dir()  # the staged copy: encrypted, never in the home's place
    resumed = run(env, "restore", "--resume")
    assert (resumed.returncode, resumed.stderr) == (
        2,
        f"tokendeck: no restore to finish at {home}: the one cut short had not yet replaced anything, "
        "so the vault is as it was; run tokendeck restore FILE again\n",
    )
    assert credentials(env)[0] == OLD and not (home / ".restore-incoming").exists()
    assert run(env, "restore", "--resume").stderr == f"tokendeck: no restore to finish at {home}\n"


def test_init_after_a_restore_killed_mid_swap_finishes_it_and_makes_no_new_vault(
    env: dict[str, str], home: Path, pristine: Path
) -> None:
    """What the issue saw: ``init`` said one exists, or made a new empty vault."""
    reset(home, pristine)
    assert run({**env, "TOKENDECK_FAULT": "restore-moved:3"}, *restore_argv(home)).returncode == -signal.SIGKILL
    assert not (home / "vault.db").exists()  # mid-swap: the old vault is out, the new one not yet in
    made = run(env, "init", "--passphrase")
    assert made.returncode == 1
    assert made.stderr.splitlines()[0].startswith(f"tokendeck: finished the restore of {home}")
    assert made.stderr.splitlines()[1] == f"tokendeck: a vault already exists at {home}"
    assert credentials(env)[0] == NEW


def test_a_restore_over_an_init_that_never_finished_opens_as_the_backup(
    env: dict[str, str], home: Path, pristine: Path
) -> None:
    """An init killed after making vault.db leaves its mark; the restore keeps those files, the
    mark with them, and the home is the backup's vault, not "never finished"."""
    shutil.rmtree(home)
    home.mkdir(mode=0o700)
    (home / ".init-unfinished").write_text("999999999")  # a pid that is no process
    (home / "vault.db").write_bytes(b"")
    done = run(env, *restore_argv(home))
    assert done.returncode == 0, done.stderr
    assert credentials(env)[0] == NEW
    (kept,) = kept_folders(home)
    assert sorted(p.name for p in kept.iterdir()) == [".init-unfinished", "vault.db"]
    assert not (home / ".init-unfinished").exists()


# ------------------------------------------------------------------ strace


def strace(*injection: str) -> tuple[str, ...]:
    """The strace prefix that injects ``injection`` into the ``rename`` calls of the command
    (and its threads and children), or skip where strace cannot trace here."""
    exe = shutil.which("strace")
    if exe is None:
        unavailable("strace is not installed")
    probe = subprocess.run([exe, "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        unavailable(f"strace cannot trace here: {probe.stderr.decode(errors='replace').strip()}")
    return (exe, "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename", *(f"-e{i}" for i in injection))


def test_a_restore_killed_at_each_rename_by_strace(env: dict[str, str], home: Path, pristine: Path) -> None:
    """SIGKILL as the N-th ``rename`` is made (it is not carried out), for every N."""
    seen = []
    for turn in range(1, MAX_TURNS + 1):
        reset(home, pristine)
        done = run(env, *restore_argv(home), prefix=strace(f"inject=rename:signal=SIGKILL:when={turn}"))
        if done.returncode == 0:
            break
        assert done.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL), done.stderr
        seen.append(check_after(env, home, f"rename {turn}"))
    else:
        raise AssertionError(f"more than {MAX_TURNS} renames")
    # The staged vault.json, the journal (its rename is the commit), the old vault's three files
    # out, the new one's two in.
    assert seen == ["old", "old", "new", "new", "new", "new", "new"]
    assert check_after(env, home, "not killed") == "new"


def test_a_rename_failing_at_each_step_says_what_to_run_and_running_it_finishes(
    env: dict[str, str], home: Path, pristine: Path
) -> None:
    """The N-th ``rename`` fails with EIO, for every N: the restore fails in one line; if the
    journal was written, the line names ``tokendeck restore --resume`` and the kept folder; the
    next command, with every rename still failing, says the same; ``restore --resume`` on a
    healthy disk finishes, and the vault is the backup's."""
    outcomes = []
    for turn in range(1, MAX_TURNS + 1):
        reset(home, pristine)
        done = run(env, *restore_argv(home), prefix=strace(f"inject=rename:error=EIO:when={turn}"))
        if done.returncode == 0:
            break
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr and "Input/output error" in done.stderr, done.stderr
        if not (home / JOURNAL).exists():
            assert "nothing was restored" in done.stderr, done.stderr
            assert credentials(env)[0] == OLD
            outcomes.append("old")
            continue
        (kept,) = kept_folders(home)
        assert done.stderr.endswith(f"finish it with: {RESUME} (the vault it replaces is kept in {kept})\n")
        still_failing = run(env, "list", prefix=strace("inject=rename:error=EIO:when=1+"))
        assert still_failing.returncode == 1 and still_failing.stderr.count("\n") == 1, still_failing.stderr
        assert f"finish it with: {RESUME}" in still_failing.stderr
        resumed = run(env, "restore", "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stderr.startswith(f"tokendeck: finished the restore of {home}")
        assert credentials(env)[0] == NEW and credentials(env, kept)[0] == OLD
        assert not (home / JOURNAL).exists()
        outcomes.append("resumed")
    else:
        raise AssertionError(f"more than {MAX_TURNS} renames")
    assert outcomes == ["old", "old", "resumed", "resumed", "resumed", "resumed", "resumed"]
