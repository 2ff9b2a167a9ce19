"""The README and the manual in docs/ stay true to each other and to the code (issue 32).

The README is short and links every page of the manual; every relative link on every page
resolves (the file, and the heading an ``#anchor`` names); the exit-code and environment
tables in docs/cli.md are the ones :mod:`tests.support.docs_tables` renders from the code
(``make docs`` writes them), so they cannot drift; the dependency table in
docs/dependencies.md names exactly what ``pyproject.toml`` and the npm lockfile's project
declare, so every dependency says why it is there.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from tests.support import docs_tables

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = (README, REPO / "ARCHITECTURE.md", *sorted(DOCS.glob("*.md")))

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub makes of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def test_slugs_are_githubs() -> None:
    assert slug(" What is on disk, and how it is protected") == "what-is-on-disk-and-how-it-is-protected"
    assert slug("Dependencies, and why each") == "dependencies-and-why-each"
    assert slug("`tokendeck ssh` and trust") == "tokendeck-ssh-and-trust"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    assert not broken, f"{page.name}: {broken}"


def test_the_readme_is_short_and_links_every_page_of_the_manual() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"the README is {len(lines)} lines; the manual belongs in docs/"
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README)}
    missing = [page.name for page in DOCS.glob("*.md") if page.resolve() not in linked]
    assert not missing, f"pages of the manual the README does not link: {missing}"


# ----------------------------------------------------------------------------- the tables from the code


@pytest.mark.parametrize("name", sorted(docs_tables.TABLES))
def test_the_generated_tables_are_current(name: str) -> None:
    page, render = docs_tables.TABLES[name]
    assert docs_tables.current(page, name) == render(), f"{page.name}'s {name} table is stale: run make docs"


def table_rows(page: Path, name: str) -> list[list[str]]:
    rows = [line.strip("|").split("|") for line in docs_tables.current(page, name).splitlines()]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def test_the_exit_code_table_has_every_code_the_code_has_and_no_other() -> None:
    """Independently of the renderer: each :data:`vault.errors.EXIT_CODES` entry and each
    error class's ``exit_code`` is a row, and each class is named in its code's row."""
    from vault import errors

    classes = docs_tables.error_classes()
    codes = set(errors.EXIT_CODES) | {cls.exit_code for cls in classes}
    rows = {int(row[0]): row for row in table_rows(docs_tables.CLI, "exit codes")}
    assert set(rows) == codes
    for cls in classes:
        assert f"`{cls.__name__}`" in rows[cls.exit_code][2], cls


def test_the_environment_table_has_every_variable_the_code_reads_and_no_other() -> None:
    """Every ``TOKENDECK_*`` name written anywhere in vault/ or screens/, and every variable
    ``tokendeck --help`` lists, is a row (those for tests say so); nothing else is."""
    from vault import settings

    read = {
        name
        for folder in ("vault", "screens")
        for source in (REPO / folder).rglob("*.py")
        for name in re.findall(r"\bTOKENDECK_[A-Z0-9_]*[A-Z0-9]\b", source.read_text(encoding="utf-8"))
    }
    listed = {name for name, _ in settings.ENVIRONMENT}
    rows = {row[0].strip("`"): row[1] for row in table_rows(docs_tables.CLI, "environment")}
    assert set(rows) == read | listed
    for name in read - listed:
        assert rows[name].startswith("for tests only"), name


# ----------------------------------------------------------------------------- dependencies, and why each


def dependency_rows() -> list[tuple[str, list[str]]]:
    """Each row of docs/dependencies.md's table: its kind (``""``, an extra such as ``test:``, ``test (npm):``)
    and the packages it names (the backticked words before the ``|``)."""
    rows = []
    for line in (DOCS / "dependencies.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith(("| package", "|---")):
            continue
        first = line.split("|")[1]
        kind = first.split("`")[0].strip()
        rows.append((kind, re.findall(r"`([^`]+)`", first)))
    return rows


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()


def test_every_dependency_says_why_it_is_there() -> None:
    """The table names exactly the runtime dependencies, each extra (``test:``, ``httpx:``) and the npm project's
    dependencies: a package added without its reason, or a reason left for a package gone, fails."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    npm = json.loads((REPO / "tests" / "interop" / "package.json").read_text(encoding="utf-8"))
    documented: dict[str, set[str]] = {}
    for kind, names in dependency_rows():
        documented.setdefault(kind, set()).update(name.lower() for name in names)
    assert documented == {
        "": {requirement_name(r) for r in project["dependencies"]},
        **{
            f"{extra}:": {requirement_name(r) for r in requirements}
            for extra, requirements in project["optional-dependencies"].items()
        },
        "test (npm):": set(npm.get("dependencies", {})) | set(npm.get("devDependencies", {})),
    }
