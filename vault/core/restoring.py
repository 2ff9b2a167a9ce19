"""Swapping a vault home's files for a restored vault's, so that a kill at any step leaves a
home that opens as the old vault or as the new one, and a failed step names what to run.

A vault is several files in its home (``vault.db``, its ``-wal`` and ``-shm``, ``vault.json``)
and no one rename replaces them all, so a restore goes in two phases:

1. **Staging.**  The new ``vault.db`` and ``vault.json`` are written and synced in
   ``<home>/.restore-incoming/``; the home itself is untouched.  A kill here leaves the old
   vault in place, and the next command that opens it removes the staging folder.
2. **The journal.**  ``<home>/restore-in-progress.json`` is written atomically (a 0600 file
   beside it, fsync, rename, fsync of the home): from then on the restore has happened.  It
   names the backup and the dated folder that keeps the replaced vault.  Then the old files
   move into that folder, the folders are synced, the staged files move into the home, the
   home is synced, and the journal goes.

Every move of phase 2 is guarded by where the files are (the old ones leave the home while
the staged database has not yet arrived), so the moves can be run again from any point after
a kill and do only what is left: whoever next opens the vault (every command, ``init``, the
agent, the TUI) finds the journal and finishes them first (:func:`settle`), and the home opens
as the restored vault.  When a move fails (an OS error), the journal stays and the message
says to run ``tokendeck restore --resume``, and where the replaced vault is kept.

One process at a time: a restore and whoever finishes one hold ``locks/restore.lock`` in the
home (an flock, which the kernel drops when its holder dies), and no other process may have
the vault open meanwhile (:func:`vault.core.walfiles.sole_user`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vault.core import faults
from vault.core.paths import DB_NAME, META_NAME, VaultPaths, failed, fsync_dir, write_private_atomic
from vault.core.walfiles import sole_user
from vault.errors import VaultBusy, VaultError, VaultUnusable

JOURNAL_NAME = "restore-in-progress.json"
STAGING_NAME = ".restore-incoming"
LOCK_NAME = "restore.lock"
_JOURNAL_LIMIT = 64 * 1024
RESUME_COMMAND = "tokendeck restore --resume"

Notice = Callable[[str], None]


@dataclass(frozen=True)
class Swap:
    """A committed restore, as its journal says: the backup it brings back (for messages),
    what that backup holds, and the folder of the home that keeps the vault it replaces
    (None: there was none)."""

    backup: str
    made: str
    kept: str | None

    def to_json(self) -> dict[str, object]:
        return {"format": 1, "backup": self.backup, "made": self.made, "kept": self.kept}

    def kept_in(self, paths: VaultPaths) -> Path | None:
        return None if self.kept is None else paths.home / self.kept

    def finished(self, paths: VaultPaths) -> str:
        """One line for the user once a restore cut short has been finished."""
        kept = self.kept_in(paths)
        if kept is None:
            return f"finished the restore of {paths.home} from {self.backup} that was cut short"
        after = f"; the vault it replaced is kept in {kept} (open it with TOKENDECK_HOME={kept})"
        return f"finished the restore of {paths.home} from {self.backup} that was cut short{after}"


def journal_path(paths: VaultPaths) -> Path:
    return paths.home / JOURNAL_NAME


def staging_dir(paths: VaultPaths) -> Path:
    return paths.home / STAGING_NAME


@contextlib.contextmanager
def claim(paths: VaultPaths) -> Iterator[None]:
    """Be the one process restoring into (or finishing a restore of) ``paths``'s home.

    Raises:
        VaultBusy: another process is restoring it right now.
    """
    locks = paths.home / "locks"
    locks.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(locks / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VaultBusy(
                f"a restore of {paths.home} is under way in another process: try again when it is done"
            ) from None
        yield
    finally:
        os.close(fd)


def stage(paths: VaultPaths) -> Path:
    """A new, empty staging folder (0700) for the incoming vault's files; what an earlier
    restore cut short left there is removed.  Call while holding :func:`claim`."""
    discard(paths)
    staged = staging_dir(paths)
    staged.mkdir(mode=0o700)
    return staged


def discard(paths: VaultPaths) -> None:
    """Remove the staging folder (a restore that did not commit)."""
    _remove_tree(staging_dir(paths))


def _remove_tree(path: Path) -> None:
    import shutil  # only when there is something to remove: opening the vault stays light

    shutil.rmtree(path, ignore_errors=True)


def commit(paths: VaultPaths, swap: Swap) -> None:
    """Make the staged files durable, then write the journal: from here on the restore has
    happened, whatever kills this process.  Call holding :func:`claim`, with nobody else
    having the vault open.

    Raises:
        VaultUnusable: the journal could not be written; nothing was changed.
    """
    staged = staging_dir(paths)
    try:
        try:
            fsync_dir(staged)
            fsync_dir(paths.home)
        except OSError as exc:
            raise failed(exc, "sync the folder of", staged) from None
        faults.reached("restore-staged")
        write_private_atomic(journal_path(paths), (json.dumps(swap.to_json(), indent=2) + "\n").encode())
    except VaultError as exc:
        with contextlib.suppress(OSError):
            journal_path(paths).unlink()
        if journal_path(paths).exists():  # written, but not known to be durable, and here to stay
            raise VaultUnusable(_unfinished(paths, swap, exc.message)) from None
        raise VaultUnusable(f"{exc.message}; nothing was restored") from None
    faults.reached("restore-committed")


def finish(paths: VaultPaths, swap: Swap) -> None:
    """Do what is left of a committed restore's moves, and remove its journal.  Call holding
    :func:`claim`, with nobody else having the vault open.

    Raises:
        VaultUnusable: a move failed; the journal stays, and the message says what to run.
    """
    staged = staging_dir(paths)
    kept = swap.kept_in(paths)
    step: tuple[str, Path] = ("use", paths.home)
    """What is being done, and to which file: for the message if it fails."""
    try:
        if kept is not None:
            step = ("create", kept)
            kept.mkdir(mode=0o700, exist_ok=True)
            wal = Path(f"{paths.db}-wal")
            old = [
                (paths.db, staged / DB_NAME), (wal, staged / DB_NAME), (paths.meta, staged / META_NAME),
                (paths.init_mark, staged / DB_NAME),  # an init that never finished: the kept folder says so
            ]  # fmt: skip
            for path, still_staged in old:  # the old files leave the home until the new ones arrive
                if path.exists() and still_staged.exists():
                    step = (f"move {path} to", kept / path.name)
                    os.rename(path, kept / path.name)
                    faults.reached("restore-moved")
            step = ("sync the folder", kept)
            fsync_dir(kept)
        if (staged / DB_NAME).exists():  # what is left of the old vault's: its WAL index (and, with no
            # vault.db to keep, a stray -wal no other database may replay, or an unfinished init's mark)
            for left in (Path(f"{paths.db}-shm"), Path(f"{paths.db}-wal"), paths.init_mark):
                step = ("remove", left)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(left)
        step = ("sync the folder", paths.home)
        fsync_dir(paths.home)  # the old files are out (and kept) before the new ones replace anything
        for name in (DB_NAME, META_NAME):
            if (staged / name).exists():
                step = (f"move {staged / name} to", paths.home / name)
                os.rename(staged / name, paths.home / name)
                faults.reached("restore-moved")
        step = ("sync the folder", paths.home)
        fsync_dir(paths.home)
        faults.reached("restore-done")
        step = ("remove", journal_path(paths))
        _remove_tree(staged)
        journal_path(paths).unlink()
    except OSError as exc:
        raise VaultUnusable(_unfinished(paths, swap, failed(exc, *step).message)) from None
    with contextlib.suppress(OSError):  # a journal back after a power cut only finds every move done
        fsync_dir(paths.home)


def pending(paths: VaultPaths) -> Swap | None:
    """The journal of a restore that has not finished, or None.

    Raises:
        VaultUnusable: there is one, and it cannot be read.
    """
    path = journal_path(paths)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VaultUnusable(f"{failed(exc, 'read', path).message} (the journal of a restore)") from None
    try:
        with os.fdopen(fd, "rb") as f:
            raw = json.loads(f.read(_JOURNAL_LIMIT))
        kept = raw["kept"]
        if not (kept is None or (isinstance(kept, str) and kept and "/" not in kept and kept not in (".", ".."))):
            raise ValueError("kept")
        return Swap(str(raw["backup"]), str(raw["made"]), kept)
    except (OSError, ValueError, KeyError, TypeError):
        raise VaultUnusable(
            f"{path}, the journal of a restore, is damaged: the restored vault is in {staging_dir(paths)} "
            f"and the replaced one in a before-restore folder of {paths.home}"
        ) from None


def settle(paths: VaultPaths, notice: Notice | None = None) -> Swap | None:
    """Before opening the vault at ``paths``: finish a restore that was cut short after it
    committed (``notice`` is told), or remove the staging folder of one that was cut short
    before; what was finished, or None.  Costs two ``stat`` calls when there is nothing.

    Raises:
        VaultBusy: another process is restoring right now, or has the vault open (then a
            committed restore cannot be finished yet).
        VaultUnusable: a move failed; the message says what to run.
    """
    journal, staged = journal_path(paths), staging_dir(paths)
    if not journal.exists() and not staged.exists():
        return None
    try:
        with claim(paths):
            return settle_claimed(paths, notice)
    except (VaultBusy, OSError) as exc:
        if not journal.exists():
            return None  # a restore still staging in another process, or no room to tidy: the vault is the old one
        if isinstance(exc, VaultBusy):
            raise
        why = failed(exc, "lock the restore of", paths.home).message
        raise VaultUnusable(_unfinished(paths, pending(paths), why)) from None


def settle_claimed(paths: VaultPaths, notice: Notice | None = None) -> Swap | None:
    """:func:`settle`, for a caller holding :func:`claim` (a restore, before it begins)."""
    swap = pending(paths)
    if swap is None:
        discard(paths)  # cut short before it replaced anything: the vault is the old one
        return None
    try:
        with sole_user(paths.db):
            finish(paths, swap)
    except VaultBusy:
        raise VaultBusy(
            _unfinished(paths, swap, "another process has the vault open") + "; stop it (tokendeck agent stop) first"
        ) from None
    if notice is not None:
        notice(swap.finished(paths))
    return swap


def _unfinished(paths: VaultPaths, swap: Swap | None, why: str) -> str:
    kept = None if swap is None else swap.kept_in(paths)
    where = "" if kept is None else f" (the vault it replaces is kept in {kept})"
    source = "" if swap is None else f" from {swap.backup}"
    return f"the restore of {paths.home}{source} is not finished ({why}): finish it with: {RESUME_COMMAND}{where}"
