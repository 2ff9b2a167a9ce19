"""Where the vault lives, and how its files come into being with safe modes.

Every file that may hold a secret is created 0600 from its first byte
(``os.open`` with ``O_CREAT | O_EXCL``), never written and then chmod-ed; the
home directory is created 0700, and made 0700 when it is found open to others.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vault.core.masking import echo
from vault.errors import InvalidInput, NotFound, VaultError, VaultUnusable
from vault.settings import HOME_ENV

DB_NAME = "vault.db"
META_NAME = "vault.json"
INIT_MARK_NAME = ".init-unfinished"


@dataclass(frozen=True)
class VaultPaths:
    """The files of one vault home."""

    home: Path

    @property
    def db(self) -> Path:
        return self.home / DB_NAME

    @property
    def meta(self) -> Path:
        return self.home / META_NAME

    @property
    def init_mark(self) -> Path:
        """There while ``tokendeck init`` makes the vault (it holds init's process id): left
        behind, it says the files beside it are a vault that was never finished."""
        return self.home / INIT_MARK_NAME

    def all_files(self) -> list[Path]:
        """The database, its WAL and shared-memory files, and the metadata file."""
        db = str(self.db)
        return [self.db, Path(db + "-wal"), Path(db + "-shm"), self.meta]


def resolve_home(home: str | os.PathLike[str] | None = None) -> VaultPaths:
    """Pick the vault home: the argument, ``$TOKENDECK_HOME``, or the platform data dir."""
    if home is None:
        home = os.environ.get(HOME_ENV) or None
    if home is None:
        import platformdirs  # deferred: only needed without TOKENDECK_HOME

        home = platformdirs.user_data_dir("tokendeck", appauthor=False)
    return VaultPaths(Path(home).expanduser().absolute())


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with the leaf at mode 0700, or make an existing one 0700
    (see :func:`keep_private`)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    keep_private(path)


def keep_private(path: Path) -> None:
    """Make the vault home 0700 when others may open it (made by hand, or by ``mkdir`` with
    the usual umask): the locks, the WAL index and every export temp file live there.

    Raises:
        VaultUnusable: it belongs to another user, or its mode cannot be changed.
    """
    mode = os.stat(path)
    if mode.st_mode & 0o077 == 0:
        return
    if mode.st_uid != os.getuid():
        raise VaultUnusable(
            f"{path} belongs to another user and others can open it; tokendeck keeps tokens only in a "
            "folder of your own (set TOKENDECK_HOME)"
        )
    try:
        os.chmod(path, 0o700)
    except OSError as exc:
        raise VaultUnusable(
            f"others can open {path} and it cannot be made private ({exc.strerror}): chmod 700 it"
        ) from None


def create_private_file(path: Path) -> None:
    """Create an empty file at mode 0600; fail if it exists.

    Raises:
        FileExistsError: it exists.
        VaultError: any other OS error, in one line naming the path (:func:`failed`).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise
    except OSError as exc:
        raise failed(exc, "create", path) from None
    os.close(fd)


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: a 0600 temp file beside it, fsync, rename."""
    with private_atomic(path) as f:
        f.write(data)


@contextlib.contextmanager
def private_atomic(path: Path) -> Iterator[BinaryIO]:
    """A file to write that replaces ``path`` atomically when the block ends: created 0600
    beside it, fsync-ed, renamed over ``path``; removed instead if the block raises.

    Raises:
        VaultError: an OS error (a full disk, an I/O error, a name too long...), in one line
            naming the file and what was being done; ``path`` is left as it was.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    doing, where = "create", tmp
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        doing = "write"
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            doing, where = "replace", path
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        doing, where = "sync the folder of", path
        fsync_dir(path.parent)
    except OSError as exc:
        raise failed(exc, doing, where) from None


def fsync_dir(path: Path) -> None:
    """Make a rename or create in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def failed(exc: OSError, doing: str, path: Path | str) -> VaultError:
    """An OS error on ``path`` as one line that names it and what was being done
    (``could not replace /home/me/vault.json: No space left on device``): a missing folder is
    :class:`~vault.errors.NotFound` (exit 5), a name the file system cannot hold is
    :class:`~vault.errors.InvalidInput` (exit 2), anything else (a full disk, an I/O error,
    permission denied) a :class:`~vault.errors.VaultError` (exit 1).  The one rule for an OS
    error tokendeck did not expect, wherever it happens."""
    reason = exc.strerror or type(exc).__name__
    line = f"could not {doing} {echo(str(path), quoted=False)}: {reason}"  # a token given as a path is not repeated
    if exc.errno == errno.ENOENT:
        return NotFound(line)
    if exc.errno in (errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.ELOOP, errno.EINVAL):
        return InvalidInput(line)
    return VaultError(line)


def unexpected(exc: OSError) -> VaultError:
    """An OS error no code path named an operation for, as one line that names its file(s):
    what the command line prints instead of a traceback (:func:`failed` is the rule; this is
    the net under it)."""
    first, second = exc.filename, exc.filename2
    if first is not None and second is not None:
        return failed(exc, f"move {os.fsdecode(first)} to", os.fsdecode(second))
    if first is not None:
        return failed(exc, "use", os.fsdecode(first))
    return VaultError(f"the OS refused an operation: {exc.strerror or type(exc).__name__}")
