"""``tokendeck scan``'s walk: which files and git objects are read, which are skipped and why,
and the findings (docs/scan.md).  The matching itself is :mod:`vault.services.scan_match`.

Each file is read by :mod:`vault.services.scan_files`, by workers for a large scan.  A
symbolic link inside the tree being scanned is not followed: what it points at is walked or read
itself, once; one out of the tree, or a loop, is skipped with its reason.  A git repository
under a path (its ``.git``) is read through ``git cat-file --batch-all-objects --batch``: every
object, loose or packed, reachable or not, so a secret committed and later deleted is found;
and its ``.git/config`` is read as a file (``git clone https://TOKEN@host/...`` keeps the token
in the remote's URL there, and an ``http.extraheader`` holds one too).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from vault.services.scan_files import (
    BINARY_PROBE,
    BatchResult,
    FileResult,
    not_regular,
    read_batch,
    scan_file,
    size_text,
    start_workers,
    why,
    work,
)
from vault.services.scan_match import Matcher

MAX_SIZE = 64 * 1024 * 1024
"""A file larger than this is skipped (and said so); ``--max-size`` moves it."""
BATCH_BYTES = 24 * 1024 * 1024
"""About this many bytes of files go to a worker at a time (measured on 1 GB: batches of 8 MB
spent a tenth of the scan handing work out; 24 MB leaves a worker about 10 ms of tail)."""
BATCH_FILES = 1024
"""And at most this many files."""
ENV_DEPTH = 4
"""How deep under the home directory ``.env`` files are looked for when no PATH is given."""

HOME_PLACES = (
    ".bash_history",
    ".zsh_history",
    ".local/share/fish/fish_history",
    ".netrc",
    ".claude/projects",
    ".claude.json",
    ".codex/sessions",
    ".gemini",
)
"""What ``tokendeck scan`` reads with no PATH (besides the MCP configs the export code knows,
and ``.env`` files under the home directory): those that exist."""


class Finding(NamedTuple):
    """One copy: whose, what kind, live or old, where (a file and line, or a git object and the
    path it had in a tree), in which form.  Never the secret.  A named tuple, not a dataclass:
    ``dataclasses`` costs ``tokendeck scan`` about 10 ms of imports (``inspect``, ``ast``)."""

    credential: str
    kind: str
    live: bool
    form: str
    path: str
    line: int = 0
    git_object: str = ""
    object_path: str = ""

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self._asdict().items() if v not in ("", 0) or k in ("live",)}


class Outcome:
    """What a scan found and what it could not read (a plain class: see :class:`Finding`)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.skipped: list[tuple[str, str]] = []
        self.unreadable: list[tuple[str, str]] = []
        self.files = 0
        self.binaries = 0
        self.objects = 0
        self.repositories = 0
        self.bytes = 0
        self.interrupted = False


def home_places(home: Path) -> list[Path]:
    """The places a scan with no PATH reads, those that exist: shell histories, netrc, agent
    transcripts, MCP configs, ``.env`` files (bounded depth)."""
    from vault.export.spec import DEFAULT_FILES

    places = [home / p for p in HOME_PLACES]
    places += [home / f[2:] for f in DEFAULT_FILES.values() if f.startswith("~/")]
    found = [p for p in dict.fromkeys(places) if os.path.lexists(p)]
    found += _env_files(home, ENV_DEPTH)
    return list(dict.fromkeys(found))


def _env_files(top: Path, depth: int) -> list[Path]:
    found: list[Path] = []
    with contextlib.suppress(OSError), os.scandir(top) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.name == ".env" and entry.is_file(follow_symlinks=False):
                    found.append(Path(entry.path))
                elif depth > 1 and entry.is_dir(follow_symlinks=False) and entry.name not in (".git", "node_modules"):
                    found += _env_files(Path(entry.path), depth - 1)
    return found


class Scan:
    """One scan: walk ``roots`` and match what is read against ``matcher``.

    Args:
        jobs: workers that read and match files (threads, or processes forked from this one:
            :func:`~vault.services.scan_files.start_workers`), started when the first batch of
            files is full, so a small scan starts none; git objects are read here.
        progress: called with the outcome now and then (for a terminal's progress line).
    """

    def __init__(
        self,
        matcher: Matcher,
        *,
        max_size: int = MAX_SIZE,
        jobs: int = 1,
        progress: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.matcher = matcher
        self.max_size = max_size
        self.jobs = jobs
        self._pool: Any = None
        self._work: Callable[[list[str]], BatchResult] = work
        self._batches = _Batches()
        self._running: set[Any] = set()
        self.outcome = Outcome()
        self._progress = progress
        self._seen: set[tuple[int, int]] = set()
        self._uid = os.getuid()

    def run(self, roots: list[Path]) -> Outcome:
        """Scan every root; a Ctrl+C ends it early with what was found so far (``interrupted``)."""
        try:
            for root in roots:
                self._root(Path(os.path.abspath(root)))
            self._finish()
        except KeyboardInterrupt:
            self.outcome.interrupted = True
            self._settle()
        finally:
            self._stop()
        self.outcome.findings.sort(key=lambda f: (f.path, f.git_object, f.line, f.credential, f.kind))
        return self.outcome

    def _root(self, root: Path) -> None:
        try:
            info = os.lstat(root)
        except OSError as exc:
            self._unreadable(root, exc)
            return
        real = os.path.realpath(root)
        if stat.S_ISLNK(info.st_mode):
            try:
                info = os.stat(root)
            except OSError as exc:
                self._skip(root, "a symlink loop" if exc.errno == errno.ELOOP else "a broken symlink")
                return
        if stat.S_ISDIR(info.st_mode):
            self._walk(root, real, info)
        else:
            self._file(root, real)

    def _walk(self, top: Path, tree: str, info: os.stat_result) -> None:
        """Walk a directory tree (no recursion: a deep tree cannot exhaust the stack).  Paths are
        plain strings here and a regular file costs one ``lstat`` (the walk's share of a large
        scan's time: a ``Path`` per file cost more than reading it)."""
        stack = [(str(top), info)]
        while stack:
            folder, here = stack.pop()
            if (here.st_dev, here.st_ino) in self._seen:
                self._skip(Path(folder), "a symlink loop (already scanned)")
                continue
            self._seen.add((here.st_dev, here.st_ino))
            try:
                entries = sorted(os.scandir(folder), key=_name)
            except OSError as exc:
                self._unreadable(Path(folder), exc)
                continue
            below: list[tuple[str, os.stat_result]] = []
            for entry in entries:
                path = entry.path
                if entry.name == ".git":
                    self._git(Path(folder), Path(path))
                    if os.path.lexists(config := os.path.join(path, "config")):
                        self._file(Path(config), tree)  # a remote's URL or an extraheader may hold a token
                    continue
                try:
                    if entry.is_symlink():  # its target, inside the tree, is walked or read itself
                        target = self._inside(Path(path), tree)
                        if target is not None and not stat.S_ISDIR(target.st_mode):
                            self._file(Path(path), tree)
                    elif entry.is_dir(follow_symlinks=False):
                        below.append((path, entry.stat(follow_symlinks=False)))
                    elif entry.is_file(follow_symlinks=False):
                        self._regular(path, entry.stat(follow_symlinks=False))
                    else:  # a FIFO, a socket, a device: said why, never opened
                        self._file(Path(path), tree)
                except OSError as exc:
                    self._unreadable(Path(path), exc)
            stack += reversed(below)  # the first folder by name is walked next: an interrupted scan read a..., not z...

    def _inside(self, link: Path, tree: str) -> os.stat_result | None:
        """A symlink's target when it stays inside ``tree``; else skipped with why."""
        try:
            target = os.stat(link)
        except OSError as exc:
            self._skip(link, "a symlink loop" if exc.errno == errno.ELOOP else "a broken symlink")
            return None
        real = os.path.realpath(link)
        if real != tree and not real.startswith(tree.rstrip("/") + "/"):
            self._skip(link, "a symlink out of the scanned tree (not followed)")
            return None
        parent = os.path.realpath(link.parent)
        if stat.S_ISDIR(target.st_mode) and (parent == real or parent.startswith(real.rstrip("/") + "/")):
            self._skip(link, "a symlink loop (it points back up the tree)")
            return None
        return target

    def _file(self, path: Path, tree: str) -> None:
        try:
            info = os.lstat(path)
        except OSError as exc:
            self._unreadable(path, exc)
            return
        if stat.S_ISLNK(info.st_mode):
            return  # a symlink to a file: judged by the walk; its target, in the tree, is read itself
        if stat.S_ISREG(info.st_mode):
            self._regular(str(path), info)
        else:
            self._skip(path, not_regular(info.st_mode))  # never opened: a FIFO, a socket or a device

    def _regular(self, path: str, info: os.stat_result) -> None:
        """A regular file, read once (not again as a second hard link, or a second root)."""
        if (info.st_dev, info.st_ino) in self._seen:
            return
        self._seen.add((info.st_dev, info.st_ino))
        self._read(path, info.st_size)

    def _read(self, path: str, size: int) -> None:
        if self.jobs <= 1:
            self._apply(path, scan_file(self.matcher, path, self.max_size, self._uid))
        elif self._batches.add(path, size):
            self._dispatch()

    def _dispatch(self) -> None:
        """Hand full batches of files to the workers (started at the first full batch,
        so a small scan starts none), keeping a few batches in flight."""
        from concurrent.futures import FIRST_COMPLETED, wait

        if self._pool is None:
            self._pool, self._work = start_workers(self.jobs, self.matcher, self.max_size, self._uid)
        for batch in self._batches.full():
            self._running.add(self._pool.submit(self._work, batch))
            while len(self._running) >= 4 * self.jobs:
                done, _ = wait(self._running, return_when=FIRST_COMPLETED)
                for future in done:
                    self._take_from(future)

    def _finish(self) -> None:
        """Scan what is left in the batches, wait for the workers, stop them."""
        rest = self._batches.rest()
        if self._pool is None:
            if rest:
                self._take(read_batch(self.matcher, self.max_size, self._uid, rest))
        else:  # what is left, cut in one batch a worker
            for share in (rest[i :: self.jobs] for i in range(self.jobs)):
                if share:
                    self._running.add(self._pool.submit(self._work, share))
        for future in list(self._running):
            self._take_from(future)

    def _settle(self) -> None:
        """After a Ctrl+C: the batches no worker has started are dropped (none of their files was
        read); those started are waited for (a batch takes milliseconds) and reported, so every
        file read before the press is said.  A second Ctrl+C stops the waiting."""
        for future in self._running:
            future.cancel()
        with contextlib.suppress(KeyboardInterrupt):
            for future in list(self._running):
                if not future.cancelled() and future.exception() is None:
                    self._take_from(future)

    def _take_from(self, future: Any) -> None:
        """A worker's batch, taken once (its result waited for, if need be)."""
        result = future.result()
        self._running.discard(future)
        self._take(result)

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _take(self, batch: BatchResult) -> None:
        files, size, rest = batch
        self.outcome.files += files
        self.outcome.bytes += size
        for path, result in rest:
            self._apply(path, result)
        if files:
            self._tick()

    def _apply(self, path: str, result: FileResult) -> None:
        status, reason, size, hits = result
        if status == "skip":
            self.outcome.skipped.append((path, reason))
        elif status == "unreadable":
            self.outcome.unreadable.append((path, reason))
        elif status == "binary":
            self.outcome.binaries += 1
        elif status == "read":
            self.outcome.files += 1
            self.outcome.bytes += size
            self.outcome.findings += [Finding(c, k, live, form, path, line) for c, k, live, form, line in hits]
            self._tick()

    def _git(self, work: Path, dot_git: Path) -> None:
        """Every object of the repository at ``work``, with the path each blob had in a tree."""
        import subprocess  # here: a scan with no repository in it does without (docs/launcher.md)

        self.outcome.repositories += 1
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        base = ["git", "-C", str(work), "-c", "core.fsmonitor=false"]
        try:
            listed = subprocess.run(  # noqa: S603 - git, with fixed arguments and a folder
                [*base, "rev-list", "--all", "--objects", "--reflog"], capture_output=True, env=env, check=False
            )
            paths: dict[str, str] = {}
            for line in listed.stdout.decode(errors="replace").splitlines():
                sha, _, name = line.partition(" ")
                if name:
                    paths.setdefault(sha, name)
            with subprocess.Popen(  # noqa: S603 - git, with fixed arguments and a folder
                [*base, "cat-file", "--batch-all-objects", "--batch", "--unordered"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                env=env,
            ) as reader:
                assert reader.stdout is not None  # noqa: S101 - asked for above
                for sha, kind, data in _objects(reader.stdout, self.max_size):
                    self.outcome.objects += 1
                    if data is None:
                        where = f"{dot_git} (git object {sha[:12]} {paths.get(sha, kind)})"
                        self.outcome.skipped.append(
                            (where, f"larger than the {size_text(self.max_size)} limit (--max-size)")
                        )
                        continue
                    if kind not in ("blob", "commit", "tag") or b"\0" in data[:BINARY_PROBE]:
                        continue
                    self.outcome.bytes += len(data)
                    for hit in self.matcher.find(data):
                        who = hit.who
                        self.outcome.findings.append(
                            Finding(who.credential, who.kind, who.live, hit.form, str(work), hit.line, sha,
                                    paths.get(sha, f"({kind})"))
                        )  # fmt: skip
                    self._tick()
                problem = reader.stderr.read().decode(errors="replace").strip() if reader.stderr else ""
                code = reader.wait()
        except FileNotFoundError:
            self._skip(dot_git, "git is not installed: the repository's history was not read")
            return
        except OSError as exc:
            self._unreadable(dot_git, exc)
            return
        problem = problem or listed.stderr.decode(errors="replace").strip()
        if code != 0 or listed.returncode != 0 or problem:  # git says "error: ..." and exits 0 on a bad object
            said = (problem or f"git exited {code}").splitlines()
            self._skip(dot_git, f"a git repository git could not read whole ({said[0][:160]}); the rest was skipped")

    def _skip(self, path: Path, why: str) -> None:
        self.outcome.skipped.append((str(path), why))

    def _unreadable(self, path: Path, exc: OSError) -> None:
        self.outcome.unreadable.append((str(path), why(exc)))

    def _tick(self) -> None:
        if self._progress is not None:
            self._progress(self.outcome)


def _objects(stream: object, max_size: int) -> Iterator[tuple[str, str, bytes | None]]:
    """``git cat-file --batch``'s output, object by object (None for one over ``max_size``: read
    past in pieces, never held whole)."""
    read = stream.read  # type: ignore[attr-defined]
    readline = stream.readline  # type: ignore[attr-defined]
    while True:
        header = readline()
        if not header:
            return
        parts = header.split()
        if len(parts) != 3 or not parts[2].isdigit():
            continue  # "<sha> missing" and the like
        size = int(parts[2])
        if size > max_size:
            while size > 0:
                piece = read(min(size, 1 << 20))
                if not piece:
                    return
                size -= len(piece)
            data = None
        else:
            data = read(size)
        read(1)  # the newline after each object
        yield parts[0].decode(), parts[1].decode(), data


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


class _Batches:
    """Files waiting for a worker, cut into batches of about :data:`BATCH_BYTES`."""

    def __init__(self) -> None:
        self._waiting: list[str] = []
        self._bytes = 0
        self._full: list[list[str]] = []

    def add(self, path: str, size: int) -> bool:
        """Queue ``path``; whether a batch is now full."""
        self._waiting.append(path)
        self._bytes += size
        if self._bytes >= BATCH_BYTES or len(self._waiting) >= BATCH_FILES:
            self._full.append(self._waiting)
            self._waiting, self._bytes = [], 0
        return bool(self._full)

    def full(self) -> list[list[str]]:
        full, self._full = self._full, []
        return full

    def rest(self) -> list[str]:
        rest = [p for batch in self._full for p in batch] + self._waiting
        self._full, self._waiting, self._bytes = [], [], 0
        return rest
