"""A real OpenSSH server on a loopback port, for the agent-forwarding tests: its own host
key, an authorized key made for the test, ``AcceptEnv TOKENDECK_AGENT_SOCK XDG_RUNTIME_DIR``
and ``StreamLocalBindUnlink yes`` (what docs/remote.md tells users to set).  It logs in as the
user running the tests (sshd must run as root to do that; elsewhere the tests skip)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.system import unavailable

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Sshd:
    port: int
    key: Path
    log: Path
    pid: int
    """The listening sshd (each session is a child of it)."""

    def options(self) -> list[str]:
        """ssh options that reach it with the test's key and no prompts or known_hosts."""
        return [
            "-F", "/dev/null", "-i", str(self.key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-p", str(self.port),
        ]  # fmt: skip

    @property
    def destination(self) -> str:
        return f"{getpass.getuser()}@127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_sshd(where: Path, *, unlink_stale: bool = True, stream_local: bool = True) -> Iterator[Sshd]:
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        unavailable("OpenSSH (sshd, ssh, ssh-keygen) is not installed")
    if os.geteuid() != 0:
        unavailable("sshd must run as root to log a user in")
    where.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(where / name)], check=True)
    (where / "authorized_keys").write_text((where / "client_key.pub").read_text())
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege-separation directory
    port = _free_port()
    (where / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {where / 'host_key'}\n"
        f"AuthorizedKeysFile {where / 'authorized_keys'}\nPidFile {where / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "AcceptEnv TOKENDECK_AGENT_SOCK XDG_RUNTIME_DIR\n"
        f"StreamLocalBindUnlink {'yes' if unlink_stale else 'no'}\n"
        f"AllowStreamLocalForwarding {'yes' if stream_local else 'no'}\n"
    )
    log = where / "sshd.log"
    with log.open("w") as out:
        server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(where / "sshd_config")], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not start:\n{log.read_text()}") from None
                time.sleep(0.05)
        yield Sshd(port, where / "client_key", log, server.pid)
    finally:
        server.terminate()
        server.wait(10)
