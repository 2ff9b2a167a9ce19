"""Reading, checking and atomically replacing an export target's file.

A file is read only if it is a regular file (never through a symlink) that we
may write; it is replaced by a temp file created 0600 in the same directory,
fsync-ed, and renamed over it, then given the old file's mode: a temp file never has
a wider mode than 0600, so one left behind by a kill holds its token for its owner
only, and the next write removes it.  If the file changed between reading and
replacing (another writer), nothing is written.
"""

from __future__ import annotations

import contextlib
import difflib
import glob
import os
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from vault.core import faults
from vault.core.outside import read_file
from vault.core.paths import failed, fsync_dir
from vault.errors import InvalidInput, TargetUnwritable, VaultError
from vault.settings import GIT_DIR_ENV


def read_target(path: Path, *, creatable: list[Path] | None = None) -> tuple[str | None, int | None]:
    """The file's text and mode, or ``(None, None)`` when it does not exist yet.

    Args:
        creatable: the missing folders the write may create (the tool's own,
            :func:`vault.export.spec.consumer_folders`); any other missing directory is refused.

    Raises:
        InvalidInput: the directory is missing, the path is a symlink or not a
            regular file, or the file is not UTF-8.
        TargetUnwritable: the file or its directory is read-only.
    """
    if creatable and not path.parent.is_dir():
        outer = creatable[0].parent
        if not os.access(outer, os.W_OK):
            raise TargetUnwritable(f"{outer}: the directory is not writable; nothing was written")
        return None, None
    if not path.parent.is_dir():
        raise InvalidInput(
            f"{path.parent}: the directory does not exist; nothing was written (tokendeck creates only a "
            "tool's own folder, such as ~/.cursor or a project's .vscode, inside a folder that exists)"
        )
    if not os.access(path.parent, os.W_OK):
        raise TargetUnwritable(f"{path.parent}: the directory is not writable; nothing was written")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, None
    except OSError as exc:  # a name too long for the file system, a loop of links, an I/O error
        raise failed(exc, "read", path) from None
    if stat.S_ISLNK(st.st_mode):
        raise InvalidInput(f"{path} is a symbolic link; export to the file it points at instead")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"{path} is not a regular file")
    if not st.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise TargetUnwritable(f"{path} is read-only; nothing was written")
    try:
        data = read_file(path, MAX_TARGET)
    except VaultError as exc:
        raise type(exc)(f"{exc.message}; not changed") from None
    try:
        return data.decode("utf-8"), stat.S_IMODE(st.st_mode)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text; not changed") from None


MAX_TARGET = 64 << 20
"""The largest file an export merges into (a config file; Claude Code's ``~/.claude.json``
holds its history too, and reaches megabytes)."""


def git_refusal(path: Path) -> str | None:
    """Why a plaintext secret must not go into ``path`` (git tracks it, or would, or git cannot
    say while a repository may be there), or None."""
    where = str(path.parent)

    def git(*args: str) -> int:
        try:
            done = subprocess.run(["git", "-C", where, *args], capture_output=True, timeout=10, check=False)  # noqa: S603, S607
        except (OSError, subprocess.SubprocessError):
            return -1  # no git on PATH, or it hung
        return done.returncode

    unsure = (
        f"git could not say whether {path} is tracked, and a repository may be there "
        "(is git installed? is GIT_DIR right?); --force to write it anyway"
    )
    if git("rev-parse", "--is-inside-work-tree") != 0:
        return unsure if _maybe_in_a_repository(path.parent) else None
    tracked = git("ls-files", "--error-unmatch", "--", path.name)
    if tracked == 0:
        return f"{path} is tracked by git; a plaintext token there would be committed (--force to do it anyway)"
    ignored = git("check-ignore", "-q", "--", path.name)
    if tracked != 1 or ignored not in (0, 1):
        return unsure
    if ignored == 1:
        return f"{path} is not git-ignored; add it to .gitignore first (or --force)"
    return None


def _maybe_in_a_repository(folder: Path) -> bool:
    """A ``.git`` (directory, or a worktree's file) here or in a folder above, or ``GIT_DIR`` set:
    what git would find, looked for without git."""
    if os.environ.get(GIT_DIR_ENV):
        return True
    return any((each / ".git").exists() for each in (folder.resolve(), *folder.resolve().parents))


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def preview(path: Path, old: str | None, new: str, secrets: Iterable[str]) -> str:
    """A unified diff of the change with every secret shown as ``***``.

    No context lines: a neighbouring line of a ``.env`` or ``.netrc`` may hold
    someone else's secret, which the preview has no business printing.
    """
    hidden = list(secrets)
    before = mask(old or "", hidden).splitlines(keepends=True)
    after = mask(new, hidden).splitlines(keepends=True)
    label = "/dev/null" if old is None else str(path)
    lines = list(difflib.unified_diff(before, after, label, str(path), n=0))
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def make_folders(folders: list[Path], mode: int) -> None:
    """Create ``folders`` (outermost first) with ``mode`` as they are made (the umask may only
    narrow it); one another writer made meanwhile is taken as it is.

    Raises:
        TargetUnwritable: a folder could not be created.
    """
    for folder in folders:
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            if not folder.is_dir():
                raise InvalidInput(f"{folder} is not a directory; nothing was written") from None
        except OSError as exc:
            raise _unwritten(exc, "create the folder", folder) from None


def replace_atomic(path: Path, text: str, *, expected: str | None, mode: int | None) -> None:
    """Replace ``path`` with ``text``: a 0600 temp file beside it, fsync, the old mode, rename.

    Raises:
        VaultError: the file changed since it was read (``expected``); nothing written.
        TargetUnwritable: the directory refused the temp file or the rename.
    """
    remove_stale_temp_files(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=TEMP_SUFFIX)
    except PermissionError:
        raise TargetUnwritable(f"{path.parent}: the directory is not writable; nothing was written") from None
    except OSError as exc:
        raise _unwritten(exc, "create a temporary file beside", path) from None
    doing = "write a temporary file beside"
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        faults.reached("export-temp")
        current, _ = read_target(path)
        if current != expected:
            raise VaultError(f"{path} changed while tokendeck was writing it; nothing was written, try again")
        doing = "replace"
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _unwritten(exc, doing, path) from None
        raise
    faults.reached("export-renamed")
    # Written: what follows is best effort.  A mode that cannot be put back leaves the file
    # 0600 (narrower, never wider); a folder that cannot be synced holds the file all the same.
    with contextlib.suppress(OSError):
        if mode is not None and mode != 0o600:
            os.chmod(path, mode)
    with contextlib.suppress(OSError):
        fsync_dir(path.parent)


def _unwritten(exc: OSError, doing: str, path: Path) -> VaultError:
    """An OS error while writing ``path``, as one line that says it was left as it was."""
    error = failed(exc, doing, path)
    cls = TargetUnwritable if type(error) is VaultError else type(error)
    return cls(f"{error.message}; {path.name} was not changed")


def _temp_prefix(path: Path) -> str:
    """The start of a temp file's name beside ``path``: short enough that the temp file's
    name fits where ``path``'s does (255 bytes), the same for every write of ``path``."""
    return f".{os.fsdecode(os.fsencode(path.name)[:100])}."


TEMP_SUFFIX = ".tokendeck.tmp"
STALE_AFTER = 60.0
"""Seconds after which a temp file of ours beside a target is a leftover (a killed write), not a
write in progress: the next write of that target removes it."""


def remove_stale_temp_files(path: Path) -> None:
    """Remove this target's temp files that a killed write left (older than :data:`STALE_AFTER`)."""

    for leftover in path.parent.glob(f"{glob.escape(_temp_prefix(path))}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            st = os.lstat(leftover)
            if stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime > STALE_AFTER:
                os.unlink(leftover)
