"""The manual's tables that the code already holds, rendered from it: the exit codes
(:data:`vault.errors.EXIT_CODES` and every error class's ``exit_code``) and the environment
variables (:data:`vault.settings.ENVIRONMENT`, and the ``TOKENDECK_*`` names in
:mod:`vault.settings` that are for tests only).

Each table sits in its page between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``;
``python -m tests.support.docs_tables`` (``make docs``) writes them, and ``tests/test_docs.py``
fails while a page holds anything else.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vault.errors import VaultError

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "docs" / "cli.md"


def error_classes() -> list[type[VaultError]]:
    """Every :class:`vault.errors.VaultError` class defined in :mod:`vault.errors`, in the
    order the module defines them."""
    from vault import errors

    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.VaultError) and value.__module__ == errors.__name__
    ]


def exit_code_table() -> str:
    """One row per exit code: what :data:`~vault.errors.EXIT_CODES` says it means (else the
    titles of its classes) and the classes that exit with it."""
    from vault import errors

    by_code: dict[int, list[type[VaultError]]] = {}
    for cls in error_classes():
        by_code.setdefault(cls.exit_code, []).append(cls)
    rows = ["| code | meaning | raised as (`vault.errors`) |", "|---|---|---|"]
    for code in sorted(set(errors.EXIT_CODES) | set(by_code)):
        classes = by_code.get(code, [])
        meaning = errors.EXIT_CODES.get(code) or "; ".join(cls.default_title for cls in classes)
        rows.append(f"| {code} | {meaning} | {', '.join(f'`{cls.__name__}`' for cls in classes)} |")
    return "\n".join(rows)


def _settings_docstrings() -> dict[str, str]:
    """Each string constant of :mod:`vault.settings` whose value is a ``TOKENDECK_*`` name:
    that name and the attribute docstring under it."""
    tree = ast.parse((REPO / "vault" / "settings.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    body = tree.body
    for node, after in zip(body, [*body[1:], None], strict=True):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
            continue
        value = node.value.value
        if not (isinstance(value, str) and value.startswith("TOKENDECK_")):
            continue
        doc = ""
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            doc = after.value.value
        found[value] = doc
    return found


def _plain(docstring: str) -> str:
    """A docstring's text on one line, its reST roles and literals as Markdown code."""
    text = " ".join(docstring.split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def environment_table() -> str:
    """The variables ``tokendeck --help`` lists, in its order, then those for tests only."""
    from vault import settings

    rows = ["| variable | what it does |", "|---|---|"]
    listed = [name for name, _ in settings.ENVIRONMENT]
    rows += [f"| `{name}` | {meaning} |" for name, meaning in settings.ENVIRONMENT]
    for name, doc in _settings_docstrings().items():
        if name not in listed:
            said = _plain(doc)
            said = re.sub(r"^(for (the )?[\w-]+ tests only|for tests only)[:,]?\s*", "", said, flags=re.IGNORECASE)
            rows.append(f"| `{name}` | for tests only: {said} |")
    return "\n".join(rows)


TABLES: dict[str, tuple[Path, Callable[[], str]]] = {
    "exit codes": (CLI, exit_code_table),
    "environment": (CLI, environment_table),
}
"""Each generated table: the page it is on, and what renders it."""


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end: {name} -->)", re.DOTALL)


def current(page: Path, name: str) -> str:
    """The table ``name`` as ``page`` holds it now."""
    found = _block(name).search(page.read_text(encoding="utf-8"))
    if found is None:
        raise AssertionError(f"{page.name} has no generated {name} table")
    return found.group(2).rstrip("\n")


def write() -> list[Path]:
    """Render every table into its page; returns the pages that changed."""
    changed = []
    for name, (page, render) in TABLES.items():
        text = page.read_text(encoding="utf-8")
        found = _block(name).search(text)
        if found is None:
            raise SystemExit(f"{page.name} has no generated {name} table: add its two marker lines")
        new = text[: found.start(2)] + render() + "\n" + text[found.end(2) :]
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed


if __name__ == "__main__":
    for path in write():
        sys.stdout.write(f"wrote {path.relative_to(REPO)}\n")
