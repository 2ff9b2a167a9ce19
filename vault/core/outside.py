"""Data from outside the vault, read with bounds: the files a user points tokendeck at, the
JSON, YAML and TOML in them, and the JSON servers answer.

One rule for every reader, so a hostile or broken input costs a clear line, never memory,
time or a traceback:

- a file is read only if it is a regular file: a device (``/dev/zero`` never ends), a FIFO
  (it blocks until someone writes), a socket or a directory is refused with one line naming
  the path (:func:`open_regular`, :func:`read_file`);
- a read stops at a cap counted in bytes actually read, never trusted to ``st_size`` (it is
  0 for a device, and a file can grow while it is read);
- JSON, YAML and TOML are refused past :data:`MAX_DEPTH` levels of nesting before anything
  recursive sees them (:func:`load_json`, :func:`load_yaml`, :func:`load_toml`), so no
  ``RecursionError`` can come out of a decoder, or later out of code that walks or writes
  the value; YAML aliases (which no tool tokendeck reads from writes) are refused too;
- a zip member is refused when its declared size is over the cap, and copied only up to
  that size and that cap (:func:`copy_member`): a zip bomb writes nothing past the cap.

Decoding errors are :class:`Unparsable` (a ``ValueError``), which each caller turns into its
own error (``bad_response`` for a server, "not changed" for a file); file errors are
:class:`~vault.errors.VaultError` lines that name the path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from vault.core.masking import echo
from vault.core.paths import failed
from vault.errors import InvalidInput, NotFound

MAX_DEPTH = 64
"""The deepest nesting read from outside (arrays and objects).  Token responses nest two or
three levels, the deepest MCP client config a handful; Python's own decoders give up near
1,000, and a value just under that still breaks whatever writes or walks it later."""

CHUNK = 64 * 1024


class Unparsable(ValueError):
    """Outside text that could not be decoded (or was refused before decoding): ``reason``
    says why after the name of what it is (``is not valid JSON (line 3, column 1)``), never
    quoting the text (it may hold a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooDeep(Unparsable):
    """Nested past the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"is nested too deeply (more than {limit} levels)")


# ---------------------------------------------------------------------- files


def describe_kind(mode: int) -> str:
    """What a file that is not a regular file is, for a message."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading, if it is a regular file (a link to one is followed).

    Opened without blocking, so a FIFO is seen for what it is instead of waiting for a writer.

    Raises:
        NotFound: nothing there.
        InvalidInput: a directory, FIFO, device or socket, or a name that cannot be a file.
        VaultError: any other OS error (permission denied, an I/O error), naming the path.
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotFound(f"no file at {echo(str(path), quoted=False)}") from None
    except PermissionError:
        raise InvalidInput(f"permission denied reading {echo(str(path), quoted=False)}") from None
    except OSError as exc:
        raise failed(exc, "read", path) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InvalidInput(f"{echo(str(path), quoted=False)} is {describe_kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises:
        InvalidInput: over ``limit`` bytes (counted as read, so a file that grows is caught), or
            not a regular file (:func:`open_regular`).
        NotFound, VaultError: as :func:`open_regular`, or an error while reading.
    """
    with open_regular(path) as f:
        try:
            data = read_capped(f, limit)
        except OSError as exc:
            raise failed(exc, "read", path) from None
    if data is None:
        raise InvalidInput(f"{path} is over the limit of {size_text(limit)}")
    return data


def read_capped(f: BinaryIO, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of ``f``; None when there are more."""
    data = bytearray()
    while len(data) <= limit:
        chunk = f.read(min(CHUNK, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
    return None


def require_regular(path: Path) -> None:
    """Raise as :func:`open_regular` unless ``path`` is a regular file (for a reader that opens
    the file itself, such as SQLite)."""
    with open_regular(path):
        pass


def size_text(n: int) -> str:
    """``1 MiB``, ``64 KiB``, ``300 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


# ------------------------------------------------------------------ zip members


def copy_member(archive: Any, name: str, out: BinaryIO, limit: int) -> int:
    """Copy member ``name`` of ``archive`` (a :class:`zipfile.ZipFile`) into ``out``: refused
    before a byte is written when it declares more than ``limit`` bytes, and stopped before
    writing past its declared size or ``limit`` (a member whose data says otherwise); the
    bytes copied.

    Raises:
        Unparsable: declared or found over the limit, or longer than declared.
        VaultError: ``out`` could not be written (naming it).
        KeyError: no such member; zipfile's own errors for a damaged archive, OSError for a
            failed read of it.
    """
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise Unparsable(f"declares {info.file_size} bytes for {name}, over the limit of {size_text(limit)}")
    allowed = min(info.file_size, limit)
    copied = 0
    with archive.open(info) as source:
        while chunk := source.read(CHUNK):
            copied += len(chunk)
            if copied > allowed:
                raise Unparsable(f"holds more in {name} than the {info.file_size} bytes it declares")
            try:
                out.write(chunk)
            except OSError as exc:  # the copy's disk, not the archive: said as a write to it
                raise failed(exc, "write", str(getattr(out, "name", "the copy"))) from None
    return copied


def read_member(archive: Any, name: str, limit: int) -> bytes:
    """Member ``name`` of ``archive``, bounded as :func:`copy_member`."""
    import io

    buffer = io.BytesIO()
    copy_member(archive, name, buffer, limit)
    return buffer.getvalue()


# ------------------------------------------------------------------------ JSON

_JSON_PARTS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def _check_json_depth(text: str, limit: int) -> None:
    """Refuse JSON text nested deeper than ``limit`` without decoding it (strings skipped)."""
    if text.count("[") + text.count("{") <= limit:
        return  # too few brackets to nest that deep: nothing to scan
    depth = 0
    for part in _JSON_PARTS.finditer(text):
        bracket = part.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > limit:
                raise TooDeep(limit)
        elif bracket in ("]", "}"):
            depth -= 1


def load_json(data: str | bytes, *, max_depth: int = MAX_DEPTH, **hooks: Any) -> Any:
    """Decode JSON from outside, with ``json.loads``'s ``hooks`` (``object_pairs_hook``, ...).

    Raises:
        Unparsable: not UTF-8, not JSON (with the line and column), nested past
            ``max_depth``, or a number too long to read.  A hook's own exception passes through.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode(json.detect_encoding(data))
        except UnicodeDecodeError:
            raise Unparsable("is not UTF-8 text") from None
    else:
        text = data
    _check_json_depth(text, max_depth)
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        raise Unparsable(f"is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:  # not reached past the scan above; kept so no decoder can raise it
        raise TooDeep(max_depth) from None
    except Unparsable:
        raise
    except ValueError:  # an integer past Python's digit limit
        raise Unparsable("has a number too long to read") from None


def check_depth(value: Any, limit: int = MAX_DEPTH) -> Any:
    """``value`` (a decoded structure) if it nests at most ``limit`` levels, walked without
    recursion and each container once (a YAML alias seen again is not walked again).

    Raises:
        Unparsable: nested deeper.
    """
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list | tuple) or id(item) in seen:
            continue
        if depth >= limit:
            raise TooDeep(limit)
        seen.add(id(item))
        children = list(item.keys()) + list(item.values()) if isinstance(item, dict) else list(item)
        stack.extend((child, depth + 1) for child in children)
    return value


# ------------------------------------------------------------------ YAML, TOML


def load_yaml(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``yaml.safe_load`` of text from outside, after PyYAML's event parser (which does not
    recurse) has shown it nests at most ``max_depth`` levels and uses no alias.

    Raises:
        Unparsable: not YAML, too deep, or with an alias (``*name``).
    """
    import yaml  # deferred: only the gh import reads YAML

    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise TooDeep(max_depth)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                raise Unparsable("uses YAML aliases (*name), which this reader does not follow")
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise Unparsable("is not valid YAML") from None
    except RecursionError:  # pragma: no cover - the scan above keeps the loader shallow
        raise TooDeep(max_depth) from None


def load_toml(text: str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """``tomllib.loads`` of text from outside, nested at most ``max_depth`` levels (a deeper
    document is refused whether the decoder or :func:`check_depth` finds it).

    Raises:
        Unparsable: too deep.
        tomllib.TOMLDecodeError: not TOML (its message names the line and column).
    """
    import tomllib

    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise TooDeep(max_depth) from None
    check_depth(data, max_depth)
    return data


def read_settings_file(path: Path, limit: int) -> dict[str, Any] | None:
    """A TOML settings file the user keeps (``vault.toml``, ``tui.toml``): its table, or None when
    there is none.  One rule for every such file: a regular file of at most ``limit`` bytes,
    UTF-8 TOML, nested within bounds.

    Raises:
        InvalidInput: not a regular file, too large, unreadable, or not TOML (one line, naming it).
    """
    import tomllib

    from vault.errors import VaultError

    try:
        return load_toml(read_file(path, limit).decode("utf-8"))
    except NotFound:
        return None
    except VaultError as exc:  # a FIFO, a device, too large, an OS error
        raise InvalidInput(f"{exc.message}: not a settings file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, Unparsable) as exc:
        raise InvalidInput(f"{path} is not readable TOML ({type(exc).__name__})") from None
