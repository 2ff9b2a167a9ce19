"""``tokendeck proxy run`` masks the real tokens of its run in its command's output (issue 37,
item 4), through the masker ``tokendeck exec`` uses: a server that echoes the Authorization
header it got (the proxy put the real token there) does not get the token onto the terminal.

In-process, with :mod:`tests.test_proxy_cli`'s stand-in engine; the command's output is written
on this process's own descriptors 1 and 2, pointed at files for the test.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import test_proxy_cli
from tests.support.cli import CliRunner
from tests.test_proxy_cli import REAL, FakeEngine
from vault.core.redact import MARKER

engine = test_proxy_cli.engine  # the fixtures: a stand-in engine, a vault holding gh and key
ready = test_proxy_cli.ready

ECHO = """
import sys, time
token = sys.argv[1]
for stream in (sys.stdout, sys.stderr):
    text = "Authorization: Bearer " + token + "\\n"
    for i in range(0, len(text), 3):
        stream.write(text[i : i + 3])
        stream.flush()
        time.sleep(0.002)
"""


@contextlib.contextmanager
def descriptors(tmp_path: Path) -> Iterator[dict[int, Path]]:
    """Descriptors 1 and 2 written to files while inside; their text is read after."""
    files = {fd: tmp_path / f"fd{fd}" for fd in (1, 2)}
    kept = {fd: os.dup(fd) for fd in files}
    try:
        for fd, path in files.items():
            with path.open("wb") as f:
                os.dup2(f.fileno(), fd)
        yield files
    finally:
        for fd, saved in kept.items():
            os.dup2(saved, fd)
            os.close(saved)


def test_the_real_token_echoed_into_the_commands_output_is_masked(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path
) -> None:
    with descriptors(tmp_path) as files:
        r = ready("proxy", "run", "--allow", "gh", "--", sys.executable, "-c", ECHO, REAL)
    assert r.code == 0, r.err
    for stream in (files[1].read_text(), files[2].read_text()):
        assert REAL not in stream
        assert f"Authorization: Bearer {MARKER.decode()}\n" in stream


def test_a_token_the_proxy_fetched_during_the_run_is_masked_too(
    ready: CliRunner, engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token refreshed while the command runs is not the one the run began with: the proxy
    fetches it for a request, and from then on it is masked as well."""
    from vault.proxy.source import LocalSource

    fresh = "ghp_" + "F" * 36
    monkeypatch.setattr(LocalSource, "token", lambda self, name, host="": fresh)  # the vault refreshed it
    with descriptors(tmp_path) as files:
        r = ready("proxy", "run", "--allow", "gh", "--", sys.executable, "-c", ECHO, fresh)
    assert r.code == 0, r.err
    out, err = files[1].read_text(), files[2].read_text()
    assert fresh not in out + err
    assert f"Authorization: Bearer {MARKER.decode()}\n" in out
