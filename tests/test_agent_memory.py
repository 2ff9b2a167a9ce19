"""The memory claim of issue 36, tested as it is made: with a passphrase vault the key is only in
the agent's memory, and a program running as the same user (inside a session or not) can neither
ptrace-attach to the agent nor read its /proc/PID/mem.

This machine's kernel has no Yama, so nothing but the agent's own setting stands in the way: it
makes itself not dumpable (``PR_SET_DUMPABLE`` 0, :func:`vault.core.process.keep_secrets_out_of_dumps`),
which denies a same-user ptrace and makes /proc/PID/mem unreadable to anyone without
``CAP_SYS_PTRACE``.  The test runs the agent and the would-be reader as an unprivileged user (uid
65534, ``nobody``, through ``setpriv``), and first shows that the same reader *can* attach to an
ordinary process of that user: the refusal is the agent's doing, not the test's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or os.geteuid() != 0
    or not (shutil.which("setpriv") and shutil.which("unshare")),
    reason="becomes another user (setpriv, unshare): needs root on Linux (CI runs as root)",
)

NOBODY = 65534
PASS = "memory test passphrase"
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
PROBE = r"""
import ctypes, os, sys
pid = int(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
attached = libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0
err = ctypes.get_errno()
if attached:
    os.waitpid(pid, 0)
    libc.ptrace(PTRACE_DETACH, pid, None, None)
try:
    with open(f"/proc/{pid}/mem", "rb"):  # opening is the check (reading at 0 would fail: unmapped)
        mem = "opened"
except OSError as exc:
    mem = type(exc).__name__
print("attached" if attached else f"refused:{os.strerror(err)}", mem)
"""


def hidden_home() -> tuple[Path, str] | None:
    """The directory others cannot enter that this interpreter lives under (pyenv in root's 0700
    home, as on this machine), and its child on the way to it; None when nobody needs one."""
    real = Path(os.path.realpath(sys.executable))
    for parent in reversed(real.parents):
        if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
            return parent, real.relative_to(parent).parts[0]
    return None


def run_as_nobody(steps: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``steps`` (shell) as uid 65534, in a private mount namespace where the interpreter is
    reachable: a directory others cannot enter is covered, inside that namespace only, by one
    they can, holding just the interpreter's tree.  Nothing changes outside the namespace."""
    cover = ""
    hidden = hidden_home()
    if hidden is not None:
        top, child = hidden
        cover = (
            'F=$(mktemp -d /tmp/tokendeck-cover-XXXXXX); chmod 711 "$F"; '
            f'mkdir "$F/{child}"; mount --bind "{top}/{child}" "$F/{child}"; mount --rbind "$F" "{top}"; '
        )
    drop = f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --inh-caps=-all --"
    script = cover + f"exec {drop} sh -c {shlex.quote(steps)}"
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


@pytest.fixture
def place() -> Iterator[Path]:
    """A directory of nobody's (pytest's own tmp_path is root's, 0700)."""
    path = Path(tempfile.mkdtemp(prefix="tokendeck-memory-"))
    os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_same_user_program_can_neither_attach_to_the_agent_nor_read_its_memory(place: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(place),
        "TOKENDECK_HOME": str(place / "vault"),
        "TOKENDECK_RUNTIME_DIR": str(place / "run"),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    (place / "probe.py").write_text(PROBE)
    td, py, probe = shlex.quote(TOKENDECK), shlex.quote(sys.executable), shlex.quote(str(place / "probe.py"))
    steps = (
        f"set -e; {td} init --passphrase 2>/dev/null; {td} agent start 2>/dev/null\n"
        f"agent=$({td} agent status | sed -n 's/.*(pid \\([0-9]*\\)).*/\\1/p')\n"
        "sleep 60 & ordinary=$!\n"
        'echo "owner $(stat -c %u /proc/$agent)"\n'
        f'echo "control $({py} {probe} $ordinary)"\n'
        f'echo "agent $({py} {probe} $agent)"\n'
        f"kill $ordinary; {td} agent stop 2>/dev/null\n"
    )
    done = run_as_nobody(steps, env)
    assert done.returncode == 0, done.stderr
    seen = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert seen["owner"] == str(NOBODY)  # the agent ran as nobody, as the reader does
    assert seen["control"] == "attached opened"  # nothing else stops a same-user reader of an ordinary process
    attach, mem = seen["agent"].rsplit(" ", 1)
    assert attach.startswith("refused:") and mem == "PermissionError", seen["agent"]
