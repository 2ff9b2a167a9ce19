"""Where an agent's socket lives, and how one request travels over it.

Both ends use this module; the client end runs on every ``tokendeck token``, so it
loads nothing but ``os``, ``sys`` and the C module ``_socket`` (the ``socket``
module would add ``selectors`` and ``enum``: about 9 ms, most of a bare
interpreter's start-up).

One connection carries one request and one answer.  A request is UTF-8 fields
joined by NUL and ended by a newline: ``VERSION, HOME, OP, ARGS...``.  The answer
is fields joined by NUL, ended by the agent closing the connection; the first is
the outcome:

- ``"0"``: done, the rest is the result;
- an exit code (``"5"``, ``"4"``, ...): a :class:`~vault.errors.VaultError`, the
  next fields its message, class name, title and attributes (see :func:`error_from`);
- :data:`FALL_BACK` (``"-"``): the agent cannot answer this (it is locked, serves
  another vault, or hit something unexpected): the client does the work itself.

No field may hold a NUL or (in a request) a newline; a value that would is
never sent, and the client falls back instead.
"""

import _socket
import os
import sys

from vault.settings import (
    AGENT_ANSWER_TIMEOUT,
    AGENT_SOCK_ENV,
    DATA_HOME_ENV,
    HOME_ENV,
    NO_AGENT_ENV,
    RUNTIME_DIR_OVERRIDE_ENV,
)

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on the hot path
# (nor `from __future__ import annotations`, another module to load: see docs/launcher.md)
if TYPE_CHECKING:
    Home = str | os.PathLike[str] | None
    """A vault home as callers give it; None: this environment's (see :func:`home_dir`)."""

VERSION = "1"
FALL_BACK = "-"
MAX_REQUEST = 64 * 1024
"""Bytes an agent reads from one client at most; a longer request is dropped."""
MAX_ANSWER = 16 * 1024 * 1024


def home_dir(environ: dict[str, str] | None = None) -> str:
    """The vault home as :func:`vault.core.paths.resolve_home` picks it, normalised, without platformdirs.

    ``$TOKENDECK_HOME``, else the platform's user data directory (platformdirs'
    rules for Linux and macOS; a test keeps the two equal).
    """
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV) or ""
    if not home:
        if sys.platform == "darwin":
            home = "~/Library/Application Support/tokendeck"
        else:
            home = os.path.join(env.get(DATA_HOME_ENV, "").strip() or "~/.local/share", "tokendeck")
    return os.path.abspath(os.path.expanduser(home))


USER_RUNTIME_ROOT = "/run/user"
"""Where systemd-logind (and elogind) keep each logged-in user's runtime directory,
``/run/user/UID``: what ``$XDG_RUNTIME_DIR`` names in a login session."""
SHARED_TMP = "/tmp"  # noqa: S108 - a per-user directory in it, made 0700 and checked before every use
"""Where the per-user directory goes where there is no ``/run/user/UID`` (macOS, containers)."""


def runtime_dir() -> str:
    """The per-user directory for agent sockets, found from the user id alone.

    ``/run/user/UID/tokendeck`` when ``/run/user/UID`` is a directory of this user's that
    others cannot enter (logind's runtime directory, the one ``$XDG_RUNTIME_DIR`` names in a
    desktop or SSH session), else ``/tmp/tokendeck-UID``.  No environment variable moves it:
    a process started with a stripped environment (an MCP client starting ``tokendeck
    mcp-bridge`` with only ``HOME``, ``PATH``...) finds the same socket as an agent started
    in a full desktop session.  Short on every platform (at most ~50 bytes with the socket's
    name; macOS's ``$TMPDIR`` is not used: it is long, and not passed to MCP servers).
    Created 0700 by the agent, checked 0700 and this user's by every client.

    ``$TOKENDECK_RUNTIME_DIR`` replaces it, for tests only: a process that does not see the
    variable (a client drops it) looks in the usual place.
    """
    override = os.environ.get(RUNTIME_DIR_OVERRIDE_ENV, "")
    if override and os.path.isabs(override):
        return override
    uid = os.getuid()
    session = os.path.join(USER_RUNTIME_ROOT, str(uid))
    if private_dir_problem(session) is None:
        return os.path.join(session, "tokendeck")
    return os.path.join(SHARED_TMP, f"tokendeck-{uid}")


def agent_id(home: str) -> str:
    """A short, stable name for ``home``'s agent (64-bit FNV-1a; the agent also checks the
    home in every request, so a collision can only make a client fall back)."""
    h = 0xCBF29CE484222325
    for byte in os.fsencode(os.path.abspath(home)):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def socket_path(home: str) -> str:
    """Where the agent for ``home`` listens: the same path for every process of this user
    (:func:`runtime_dir`), whatever its environment."""
    return os.path.join(runtime_dir(), agent_id(home) + ".sock")


def pid_path(home: str) -> str:
    """The agent's lock file: held (flock) while it runs, and holding its PID."""
    return os.path.join(runtime_dir(), agent_id(home) + ".pid")


def private_dir_problem(path: str) -> str | None:
    """Why ``path`` is not a directory only this user can enter, or None when it is."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"{path} does not exist"
    if (st.st_mode & 0o170000) != 0o040000:
        return f"{path} is not a directory"
    if st.st_uid != os.getuid():
        return f"{path} belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o077:
        return f"{path} is open to other users (mode {st.st_mode & 0o777:o}; must be 700)"
    return None


def peer_uid(sock: _socket.socket) -> int | None:
    """The user id of the process at the other end of a Unix socket, or None where the
    platform cannot say (then nobody is trusted)."""
    if hasattr(_socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
        data = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        return int.from_bytes(data[4:8], sys.byteorder)
    if hasattr(_socket, "LOCAL_PEERCRED"):  # macOS, BSD: struct xucred {version, uid, ...}
        data = sock.getsockopt(0, _socket.LOCAL_PEERCRED, 76)
        return int.from_bytes(data[4:8], sys.byteorder)
    return None


def peer_ids(sock: _socket.socket) -> tuple[int | None, int | None]:
    """The process id and user id at the other end of a Unix socket (the agent's side: which
    client process a connection is from); None for what the platform cannot say."""
    if hasattr(_socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
        data = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        return int.from_bytes(data[0:4], sys.byteorder) or None, int.from_bytes(data[4:8], sys.byteorder)
    uid = peer_uid(sock)
    try:  # macOS: LOCAL_PEERPID (2) at SOL_LOCAL (0)
        pid = int.from_bytes(sock.getsockopt(0, getattr(_socket, "LOCAL_PEERPID", 2), 4), sys.byteorder)
    except OSError:
        return None, uid
    return pid or None, uid


def encode(fields: list[str], *, request: bool) -> bytes:
    """Fields as one frame.

    Raises:
        ValueError: a field holds a NUL (or, in a request, a line break).
    """
    for field in fields:
        if "\0" in field or (request and ("\n" in field or "\r" in field)):
            raise ValueError("a field cannot be framed")
    return "\0".join(fields).encode("utf-8", "surrogateescape") + (b"\n" if request else b"")


def decode(data: bytes) -> list[str]:
    return data.decode("utf-8", "surrogateescape").split("\0")


def call(
    op: str,
    *args: str,
    home: "Home" = None,
    timeout: float = AGENT_ANSWER_TIMEOUT,
    opt_out: bool = True,
    change: bool = False,
    via: str | None = None,
) -> list[str] | None:
    """Ask the agent for ``home`` (default: this environment's vault) to do ``op`` (on socket
    ``via`` when given: a session's own, which its root reads through).

    Returns the answer's fields (outcome first), or None when no usable agent
    answered: none running, a socket in a directory other users can enter, an
    agent running as someone else, a dropped connection, or a request that
    cannot be framed or is longer than :data:`MAX_REQUEST`.  The caller then does
    the work itself.  With ``opt_out`` (the default), ``$TOKENDECK_NO_AGENT`` also
    means None; ``tokendeck agent`` itself passes False.

    ``change``: ``op`` changes the vault.  Once the whole request is sent, a connection
    that ends without an answer is no longer "no agent" (the change may have been made,
    so doing it again here could do it twice): :class:`~vault.errors.AgentNoAnswer`.
    (An agent that stops, or is turned away, before it starts on a request answers
    :data:`FALL_BACK`: the change was not made, and the caller makes it itself.)

    Raises:
        AgentNoAnswer: ``change``, and the agent took the request but never answered.
    """
    forwarded = via or forwarded_socket()
    if opt_out and os.environ.get(NO_AGENT_ENV) and forwarded is None:
        return None
    home = home_dir() if home is None else os.path.abspath(os.path.expanduser(os.fspath(home)))
    path = forwarded or socket_path(home)
    try:
        frame = encode([VERSION, home, op, *args], request=True)
    except ValueError:
        return None
    if len(frame) > MAX_REQUEST + 1:  # the agent would drop it: do it yourself
        return None
    if private_dir_problem(os.path.dirname(path)) is not None:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sent = False
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        if peer_uid(sock) != os.getuid():
            return None
        sock.sendall(frame)
        sent = True
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_ANSWER:
                return None
            chunks.append(chunk)
    except OSError:  # no socket, refused, reset, timed out: no agent to speak of
        chunks = []
        if not (change and sent):
            return None
    finally:
        sock.close()
    if not chunks:
        if change and sent:
            raise _no_answer(op, timeout)
        return None
    return decode(b"".join(chunks))


def _no_answer(op: str, timeout: float) -> Exception:
    from vault.errors import AgentNoAnswer  # only when an agent died on a change

    return AgentNoAnswer(
        f"the agent took the request ({op}) and gave no answer (it was killed, or took longer than {timeout:.0f} s): "
        "whether the change was made is not known; check with tokendeck list, tokendeck show NAME "
        "or tokendeck audit --limit 5, then run the command again if it is not there"
    )


def forwarded_socket() -> str | None:
    """``$TOKENDECK_AGENT_SOCK``, the forward ``tokendeck ssh`` made, when set."""
    return os.environ.get(AGENT_SOCK_ENV) or None


def ask(op: str, *args: str, home: "Home" = None, change: bool = False) -> list[str] | None:
    """The agent's answer to ``op`` (outcome first), or None when the caller must do the
    work itself: no usable agent (see :func:`call`), or an answer of :data:`FALL_BACK`.
    Through a forward (:func:`forwarded_socket`) there is no "yourself": no answer is a
    :class:`~vault.errors.ForwardGone` error answer instead.

    This is the one place that decides "the agent, else yourself"; the command line
    prints an error answer, the library raises it (:func:`result`).
    """
    answer = call(op, *args, home=home, change=change)
    if answer is None or answer[0] == FALL_BACK:
        forwarded = forwarded_socket()
        if forwarded is None:
            return None
        from vault.errors import ForwardGone, to_fields  # only when a forward is gone

        unsafe = private_dir_problem(os.path.dirname(forwarded))
        if unsafe is not None and os.path.exists(forwarded):  # a sandbox's mount, say: the socket is not used
            gone = ForwardGone(f"$TOKENDECK_AGENT_SOCK is not used: {unsafe} (a sandbox: --perms 0700 on its tmpfs)")
        else:
            gone = ForwardGone(
                f"the tokendeck agent at {forwarded} ($TOKENDECK_AGENT_SOCK) is not answering: its session ended "
                "(tokendeck ssh, exec --session, proxy run), or the agent is locked"
            )
        return [str(gone.exit_code), *to_fields(gone)]
    return answer


def result(op: str, *args: str, home: "Home" = None, change: bool = False) -> list[str] | None:
    """The fields of the agent's result for ``op``, or None to do the work yourself
    (``change``: see :func:`call`).

    Raises:
        VaultError: the error the agent raised, rebuilt exactly (:func:`error_from`).
    """
    answer = ask(op, *args, home=home, change=change)
    if answer is None:
        return None
    if answer[0] != "0":
        raise error_from(answer)
    return answer[1:]


def error_from(answer: list[str]) -> Exception:
    """The :class:`~vault.errors.VaultError` an error answer stands for, exactly as the agent
    raised it: its class, message, title and attributes (see :func:`vault.errors.to_fields`)."""
    from vault.errors import from_fields

    return from_fields(answer[1:], int(answer[0]) if answer[0].isdigit() else 1)
