"""``tokendeck scan``'s walk: which files and git objects are read, which are skipped and why,
and the findings (docs/scan.md).  The matching itself is :mod:`vault.services.scan_match`.

Each file is opened once (``O_NOFOLLOW | O_NONBLOCK``, checked again on the open descriptor) and
read whole when it is a regular file of the user's under the size limit with no NUL byte in its
first block.  Symbolic links are followed only inside the tree being scanned, and never twice to
the same place; one out of the tree, or a loop, is skipped with its reason.  A git repository
under a path (its ``.git``) is read through ``git cat-file --batch-all-objects --batch``: every
object, loose or packed, reachable or not, so a secret committed and later deleted is found.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vault.services.scan_match import Matcher

MAX_SIZE = 64 * 1024 * 1024
"""A file larger than this is skipped (and said so); ``--max-size`` moves it."""
BINARY_PROBE = 8192
"""A NUL byte in this first block marks a binary file, skipped."""
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


@dataclass(frozen=True)
class Finding:
    """One copy: whose, what kind, live or old, where (a file and line, or a git object and the
    path it had in a tree), in which form.  Never the secret."""

    credential: str
    kind: str
    live: bool
    form: str
    path: str
    line: int = 0
    git_object: str = ""
    object_path: str = ""

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if v not in ("", 0) or k in ("live",)}


@dataclass
class Outcome:
    """What a scan found and what it could not read."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    binaries: int = 0
    objects: int = 0
    repositories: int = 0
    bytes: int = 0
    interrupted: bool = False


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
        progress: called with the outcome now and then (for a terminal's progress line).
    """

    def __init__(
        self, matcher: Matcher, *, max_size: int = MAX_SIZE, progress: Callable[[Outcome], None] | None = None
    ) -> None:
        self.matcher = matcher
        self.max_size = max_size
        self.outcome = Outcome()
        self._progress = progress
        self._seen: set[tuple[int, int]] = set()
        self._uid = os.getuid()

    def run(self, roots: list[Path]) -> Outcome:
        """Scan every root; a Ctrl+C ends it early with what was found so far (``interrupted``)."""
        try:
            for root in roots:
                self._root(Path(os.path.abspath(root)))
        except KeyboardInterrupt:
            self.outcome.interrupted = True
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
        """Walk a directory tree (no recursion: a deep tree cannot exhaust the stack)."""
        stack = [(top, info)]
        while stack:
            folder, here = stack.pop()
            if (here.st_dev, here.st_ino) in self._seen:
                self._skip(folder, "a symlink loop (already scanned)")
                continue
            self._seen.add((here.st_dev, here.st_ino))
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                self._unreadable(folder, exc)
                continue
            for entry in entries:
                path = Path(entry.path)
                if entry.name == ".git":
                    self._git(folder, path)
                    continue
                try:
                    if entry.is_symlink():
                        target = self._inside(path, tree)
                        if target is None:
                            continue
                        if stat.S_ISDIR(target.st_mode):
                            stack.append((path, target))
                        else:
                            self._file(path, tree)
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append((path, entry.stat(follow_symlinks=False)))
                    else:
                        self._file(path, tree)
                except OSError as exc:
                    self._unreadable(path, exc)

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
        if stat.S_ISDIR(target.st_mode) and (target.st_dev, target.st_ino) in self._seen:
            self._skip(link, "a symlink loop (already scanned)")
            return None
        return target

    def _file(self, path: Path, tree: str) -> None:
        data = self._read(path)
        if data is None:
            return
        self.outcome.files += 1
        self.outcome.bytes += len(data)
        for hit in self.matcher.find(data):
            who = hit.who
            self.outcome.findings.append(Finding(who.credential, who.kind, who.live, hit.form, str(path), hit.line))
        self._tick()

    def _read(self, path: Path) -> bytes | None:
        """The file's bytes, or None (skipped or unreadable: recorded)."""
        try:
            kind = _not_regular(os.lstat(path).st_mode)
            if kind and kind != "a symlink":
                self._skip(path, kind)  # never opened: a FIFO, a socket or a device
                return None
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None  # a symlink: judged by the walk, not here
            if exc.errno == errno.ENXIO:
                self._skip(path, "a socket")
            else:
                self._unreadable(path, exc)
            return None
        with os.fdopen(fd, "rb", buffering=0) as handle:
            info = os.fstat(fd)
            kind = _not_regular(info.st_mode)
            if kind:
                self._skip(path, kind)
                return None
            if (info.st_dev, info.st_ino) in self._seen:
                return None  # read once: a hard or symbolic link to a file already read
            self._seen.add((info.st_dev, info.st_ino))
            if info.st_uid != self._uid:
                self._skip(path, "not yours (owned by another user)")
                return None
            if info.st_size > self.max_size:
                self._skip(path, f"larger than the {_size(self.max_size)} limit ({_size(info.st_size)}; --max-size)")
                return None
            try:
                first = handle.read(BINARY_PROBE)
                if b"\0" in first:
                    self.outcome.binaries += 1
                    return None
                rest = handle.read(self.max_size + 1 - len(first)) if len(first) == BINARY_PROBE else b""
            except OSError as exc:
                self._unreadable(path, exc)
                return None
        return first + (rest or b"")

    def _git(self, work: Path, dot_git: Path) -> None:
        """Every object of the repository at ``work``, with the path each blob had in a tree."""
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
                for sha, kind, data in _objects(reader.stdout):
                    self.outcome.objects += 1
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
        self.outcome.unreadable.append((str(path), os.strerror(exc.errno) if exc.errno else type(exc).__name__))

    def _tick(self) -> None:
        if self._progress is not None:
            self._progress(self.outcome)


def _objects(stream: object) -> Iterator[tuple[str, str, bytes]]:
    """``git cat-file --batch``'s output, object by object."""
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
        data = read(size)
        read(1)  # the newline after each object
        yield parts[0].decode(), parts[1].decode(), data


def _not_regular(mode: int) -> str:
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"
