"""``tokendeck exec`` masks the tokens it injected in its command's stdout and stderr (issue 37,
item 4): real processes, the command a Python child that writes its token as it likes.

The vault and fixtures are :mod:`tests.test_exec`'s.
"""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import test_exec
from tests.test_exec import TOKEN, TOKENDECK, tokendeck
from vault.core.redact import MARKER

template = test_exec.template  # the fixtures: one vault per module, copied into each test's home
env = test_exec.env

MARK = MARKER.decode()

CHUNKS = """
import os, sys, time
token = os.environ["T"]
for stream in (sys.stdout, sys.stderr):
    text = "before " + token + " after\\n"
    for i in range(0, len(text), 3):
        stream.write(text[i : i + 3])
        stream.flush()
        time.sleep(0.005)
"""

PROMPT = """
import os, sys
sys.stdout.write("T is " + os.environ["T"] + ". name? ")
sys.stdout.flush()
name = sys.stdin.readline().strip()
print("hello " + name)
"""

SIGNAL_CHILD = """
import os, signal, sys, time
from pathlib import Path
out = Path(sys.argv[1])
def caught(signum, frame):
    (out / "caught").write_text(signal.Signals(signum).name)
    print("caught, with", os.environ["T"], flush=True)
    os._exit(42)
signal.signal(signal.SIGTERM, caught)
signal.signal(signal.SIGINT, caught)
signal.signal(signal.SIGHUP, caught)
(out / "ready").write_text(str(os.getpid()))
time.sleep(30)
os._exit(1)
"""

LARGE = """
import os, sys
block = (b"ghp_ almost a token, gh and g at the ends of lines: g\\n" * 1300)[:65536]
out = sys.stdout.buffer
for _ in range(800):
    out.write(block)
out.write(os.environ["T"].encode() + b"\\n")
out.flush()
"""


def test_a_token_written_in_chunks_is_masked_on_stdout_and_stderr(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "-e", "T=gh", "--", sys.executable, "-c", CHUNKS)
    assert done.returncode == 0
    for stream in (done.stdout, done.stderr):
        assert TOKEN not in stream
        assert stream.startswith("before ") and stream.endswith(" after\n")
        assert MARK in stream


def test_a_prompt_without_a_newline_appears_while_the_command_waits(env: dict[str, str]) -> None:
    with subprocess.Popen(
        [TOKENDECK, "exec", "-e", "T=gh", "--", sys.executable, "-c", PROMPT],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            seen = b""
            deadline = time.monotonic() + 60
            while not seen.endswith(b"name? "):
                assert time.monotonic() < deadline, seen
                ready, _, _ = select.select([proc.stdout], [], [], 1)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    assert chunk, seen
                    seen += chunk
            assert proc.poll() is None  # the command is still waiting for its answer
            assert seen == b"T is " + MARKER + b". name? "
            proc.stdin.write(b"bob\n")
            proc.stdin.flush()
            rest = proc.stdout.read()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert (proc.returncode, rest) == (0, b"hello bob\n")


def started(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """``tokendeck exec`` running :data:`SIGNAL_CHILD`, once the child is ready; and its pid."""
    proc = subprocess.Popen(
        [TOKENDECK, "exec", "-e", "T=gh", "--", sys.executable, "-c", SIGNAL_CHILD, str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "ready").exists() or not (tmp_path / "ready").read_text():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.02)
    return proc, int((tmp_path / "ready").read_text())


def state(pid: int) -> str:
    """``/proc/PID/stat``'s state letter (``T``: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"])
def test_a_signal_to_exec_reaches_the_command_which_exec_stays_the_parent_of(
    env: dict[str, str], tmp_path: Path, signum: int
) -> None:
    proc, child = started(env, tmp_path)
    try:
        assert child != proc.pid and parent(child) == proc.pid  # tokendeck is its parent
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 42, err
    assert (tmp_path / "caught").read_text() == signal.Signals(signum).name
    assert out == f"caught, with {MARK}\n"  # what it wrote as it ended is not lost


def test_sigtstp_stops_the_command_and_exec_and_sigcont_resumes_both(env: dict[str, str], tmp_path: Path) -> None:
    proc, child = started(env, tmp_path)
    try:
        proc.send_signal(signal.SIGTSTP)
        deadline = time.monotonic() + 30
        while (state(child), state(proc.pid)) != ("T", "T"):
            assert time.monotonic() < deadline, (state(child), state(proc.pid))
            time.sleep(0.02)
        proc.send_signal(signal.SIGCONT)
        while "T" in (state(child), state(proc.pid)):
            assert time.monotonic() < deadline, (state(child), state(proc.pid))
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)  # and it still answers
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 42, err
    assert out == f"caught, with {MARK}\n"


def test_a_command_killed_by_a_signal_exits_128_plus_n(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "-e", "T=gh", "--", "sh", "-c", 'echo "$T"; kill -KILL $$')
    assert (done.returncode, done.stdout, done.stderr) == (128 + signal.SIGKILL, MARK + "\n", "")
    done = tokendeck(env, "exec", "-e", "T=gh", "--", "sh", "-c", "exit 7")
    assert (done.returncode, done.stdout, done.stderr) == (7, "", "")


def test_no_mask_leaves_the_output_as_the_command_wrote_it(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "--no-mask", "-e", "T=gh", "--", sys.executable, "-c", CHUNKS)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"before {TOKEN} after\n" == done.stderr


def test_large_output_passes_unchanged_and_only_the_token_is_masked(env: dict[str, str]) -> None:
    done = subprocess.run(
        [TOKENDECK, "exec", "-e", "T=gh", "--", sys.executable, "-c", LARGE],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    block = (b"ghp_ almost a token, gh and g at the ends of lines: g\n" * 1300)[:65536]
    expected = hashlib.sha256(block * 800 + MARKER + b"\n").hexdigest()
    assert len(done.stdout) == 800 * 65536 + len(MARKER) + 1
    assert hashlib.sha256(done.stdout).hexdigest() == expected


def test_a_reader_that_goes_away_ends_the_command_as_a_closed_pipe_would(env: dict[str, str]) -> None:
    with subprocess.Popen(
        [TOKENDECK, "exec", "-e", "T=gh", "--", "yes"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"y\n"
        proc.stdout.close()  # as `| head -1` does
        assert proc.wait(timeout=60) == 128 + signal.SIGPIPE  # yes was killed by its SIGPIPE
        assert proc.stderr.read() == b""


def test_a_descriptor_given_to_exec_reaches_the_command(env: dict[str, str], tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.write_text("from descriptor 3\n")
    done = subprocess.run(  # the shell opens descriptor 3 for tokendeck, as `tokendeck exec ... 3<given` would
        ["sh", "-c", 'exec "$@" 3<"$0"', str(given), TOKENDECK, "exec", "-e", "T=gh", "--", "sh", "-c", "cat <&3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "from descriptor 3\n", "")


TERMINAL_CHILD = """
import os, shutil
size = os.get_terminal_size(1)
print("tty" if os.isatty(1) else "not a tty", f"{size.columns}x{size.lines}", os.environ["T"])
"""


def test_on_a_terminal_the_command_still_writes_on_a_terminal_of_that_size(env: dict[str, str]) -> None:
    """A program that colours or pages its output on a terminal still does: its stdout is a
    pseudo-terminal of the real one's size, read here through the masker."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    try:
        proc = subprocess.Popen(
            [TOKENDECK, "exec", "-e", "T=gh", "--", sys.executable, "-c", TERMINAL_CHILD],
            env={k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")},
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.PIPE,
        )
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every holder of the terminal's other side is gone
                break
            if not chunk:
                break
            seen += chunk
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    assert seen.replace(b"\r\n", b"\n") == b"tty 100x30 " + MARKER + b"\n"


def test_a_program_left_writing_in_the_background_does_not_keep_exec_running(env: dict[str, str]) -> None:
    """The command starts a program that keeps writing to the same output and exits: exec ends soon
    after it, with the command's code and what the command wrote, not with the program (which then
    dies of its SIGPIPE: no one reads its output any more)."""
    script = '(for i in $(seq 2000); do echo "background $T"; sleep 0.05; done) & echo "foreground $T"; exit 3'
    done = tokendeck(env, "exec", "-e", "T=gh", "--", "sh", "-c", script)
    assert done.returncode == 3
    assert done.stdout.startswith(f"foreground {MARK}\n") or f"foreground {MARK}\n" in done.stdout
    assert TOKEN not in done.stdout
