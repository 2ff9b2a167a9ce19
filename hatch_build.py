"""Builds ``vault/core/libliterals.so.1``, the C side of ``tokendeck scan``'s literal search
(``vault/core/literals.c``), into the wheel (and, for an editable install, beside its source).

Where no C compiler is found or the build fails, the wheel is built without it, pure Python as
before, and ``tokendeck scan`` uses Hyperscan alone (docs/scan.md): a missing compiler never stops
an install.  The library is loaded with ctypes, so it does not depend on the Python version; the
wheel is tagged for this platform when it holds one.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "vault/core/literals.c"
LIBRARY = "vault/core/libliterals.so.1"
FLAGS = ["-O2", "-std=c11", "-fPIC", "-shared", "-Wall", "-Wextra", "-fvisibility=default"]


def compiler() -> list[str] | None:
    """``$CC``, else the compiler Python was built with, else ``cc``: the first that exists."""
    for candidate in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        if candidate:
            argv = shlex.split(candidate)
            if argv and shutil.which(argv[0]):
                return argv
    return None


def build(source: Path, target: Path) -> Path | None:
    """Compile the library to ``target``; its path, or None (and why, on stderr) when it could not be."""
    cc = compiler()
    if cc is None:
        print("tokendeck: no C compiler found; scan will use Hyperscan alone", file=sys.stderr)
        return None
    made = subprocess.run([*cc, *FLAGS, "-o", str(target), str(source)], capture_output=True, text=True)  # noqa: S603 - the compiler, on our own source
    if made.returncode != 0:
        print(
            f"tokendeck: the C literal search did not build; scan will use Hyperscan alone\n{made.stderr}",
            file=sys.stderr,
        )
        target.unlink(missing_ok=True)
        return None
    return target


class LiteralsBuildHook(BuildHookInterface):  # type: ignore[type-arg]  # hatchling: generic over its builder config
    """The wheel's one build step: the C literal search, when it can be built."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        if version == "editable":  # an editable install loads it from the source tree itself
            target = root / LIBRARY
        else:  # a wheel takes it from a folder of its own: the checkout is left as it was
            self._folder = tempfile.mkdtemp(prefix="tokendeck-native-")
            target = Path(self._folder) / Path(LIBRARY).name
        built = build(root / SOURCE, target)
        if built is None:
            return
        from packaging.tags import sys_tags  # hatchling's own dependency

        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{next(iter(sys_tags())).platform}"  # ctypes: any Python 3, this platform
        if version != "editable":
            build_data["force_include"][str(built)] = LIBRARY

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        folder = getattr(self, "_folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
