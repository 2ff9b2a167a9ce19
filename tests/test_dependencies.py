"""Every third-party package that ``vault/`` or ``screens/`` imports is declared in
``pyproject.toml`` (issue 32): an import that works only because another dependency happens
to bring the package (``anyio`` through ``mcp``, ``google.auth`` through
``google-auth-oauthlib``) breaks the day that dependency stops bringing it.

Every import counts, wherever it stands: at module level, inside functions, under
``TYPE_CHECKING``.  Each imported top-level module is mapped to the distribution that installs
it (:func:`importlib.metadata.packages_distributions`; for a namespace such as ``google``,
the one whose files hold the imported subpackage).  A module listed in :data:`OPTIONAL` is an
integration for programs that have the package already: its imports may be declared in that
extra instead.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("vault", "screens")

OPTIONAL: dict[str, str] = {"vault.integrations.httpx_auth": "httpx"}
"""Modules of ``vault/`` that only a program already using a package imports, and the extra
(``pip install 'tokendeck[EXTRA]'``) that declares it."""


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])


def project() -> dict[str, object]:
    table: dict[str, object] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return table


def declared() -> tuple[set[str], dict[str, set[str]]]:
    """The runtime dependencies, and each extra's."""
    table = project()
    runtime = {requirement_name(r) for r in table["dependencies"]}  # type: ignore[attr-defined]
    extras = {
        extra: {requirement_name(r) for r in requirements}
        for extra, requirements in table.get("optional-dependencies", {}).items()  # type: ignore[attr-defined]
    }
    return runtime, extras


def source_files() -> Iterator[tuple[str, Path]]:
    for root in FIRST_PARTY:
        for path in sorted((REPO / root).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def third_party_imports(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, dotted module, the import as written) for each absolute import of something
    neither the standard library nor this project."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        else:
            continue
        for module in modules:
            root = module.split(".")[0]
            if root not in sys.stdlib_module_names and root not in FIRST_PARTY:
                yield node.lineno, module, ast.unparse(node)


@cache
def _top_levels() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


@cache
def _files(distribution: str) -> frozenset[str]:
    return frozenset(str(f) for f in metadata.distribution(distribution).files or ())


def distributions_of(module: str) -> set[str]:
    """The installed distributions that provide ``module`` (a namespace package's top level,
    such as ``google``, is shared: keep those whose files hold the imported subpackage)."""
    found = set(_top_levels().get(module.split(".")[0], ()))
    parts = module.split(".")
    while len(found) > 1 and len(parts) > 1:
        prefix = "/".join(parts)
        holding = {d for d in found if any(f.startswith((prefix + "/", prefix + ".")) for f in _files(d))}
        if holding:
            return {canonical(d) for d in holding}
        parts = parts[:-1]
    return {canonical(d) for d in found}


def undeclared(runtime: set[str], extras: Mapping[str, set[str]], optional: Mapping[str, str]) -> list[str]:
    """Every third-party import whose distribution is not declared where it must be."""
    problems = []
    for name, path in source_files():
        allowed = runtime | extras.get(optional[name], set()) if name in optional else runtime
        where = (
            f"[project].dependencies or the {optional[name]!r} extra" if name in optional
            else "[project].dependencies"
        )  # fmt: skip
        for line, module, statement in third_party_imports(path):
            distributions = distributions_of(module)
            place = f"{path.relative_to(REPO)}:{line}: `{statement}`"
            if not distributions:
                problems.append(f"{place}: no installed distribution provides {module!r}")
            elif not distributions & allowed:
                problems.append(f"{place}: {module!r} comes from {', '.join(sorted(distributions))}, not in {where}")
    return problems


def test_every_third_party_import_is_a_declared_dependency() -> None:
    runtime, extras = declared()
    problems = undeclared(runtime, extras, OPTIONAL)
    assert not problems, "\n".join(problems)


def test_the_walk_sees_imports_inside_functions() -> None:
    """``requests`` is imported inside a method only (the Google code exchange); the check sees it."""
    sessions = REPO / "vault" / "oauth" / "sessions.py"
    assert "\nimport requests" not in sessions.read_text(encoding="utf-8")  # not at module level
    assert "requests" in {module for _, module, _ in third_party_imports(sessions)}
    assert distributions_of("google.oauth2.credentials") == {"google-auth"}
    assert distributions_of("yaml") == {"pyyaml"}


def test_a_dependency_taken_out_is_named_with_its_import() -> None:
    """The check fails for each declared dependency removed in turn, naming where it is imported."""
    runtime, extras = declared()
    for gone, where in (("requests", "vault/oauth/sessions.py"), ("anyio", "vault/bridges/mcp_bridge.py")):
        problems = undeclared(runtime - {gone}, extras, OPTIONAL)
        assert problems and all(gone in p for p in problems), (gone, problems)
        assert any(p.startswith(where) for p in problems), (gone, problems)


def test_every_optional_integration_names_an_extra_that_exists() -> None:
    _, extras = declared()
    modules = dict(source_files())
    for module, extra in OPTIONAL.items():
        assert module in modules, module
        assert extra in extras, extra
