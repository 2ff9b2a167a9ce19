"""Rules and tables written once: what is drawn or listed by hand is checked against the code.

- the error tree in :mod:`vault.errors`' docstring against the classes in that module (every
  class drawn once, under its own base, with its exit code);
- ``vault.__all__`` against what each name resolves to (importable, no duplicates, at the home
  :data:`vault._HOMES` names, the same as the ``TYPE_CHECKING`` imports, documented);
- :data:`~vault.core.model.STATUSES` against the :data:`~vault.core.model.Status` type;
- the "expiring" status and the background refresher's warnings: one rule
  (:meth:`~vault.core.model.Credential.expiry_warning`);
- "when is the next renewal": one rule (:func:`~vault.core.model.next_renewal`) for the
  refresher's timer and the TUI's status line;
- "may this sign-in replace that credential's account": one rule
  (:func:`~vault.services.signin.account_change`), applied where every sign-in is stored
  (:func:`~vault.services.signin.store_signed_in`), for the CLI, the TUI and the agent.
- "what of the user's input may be repeated back": one rule (:func:`~vault.core.masking.echo`,
  :func:`~vault.core.masking.secret_kind`) for the core's messages, argparse's usage errors and
  the TUI's fields.
- "does the exported token stay fresh": one rule (:func:`~vault.export.freshness.freshness`),
  called only where every export is planned (:mod:`vault.services.exports`), for the CLI and
  the TUI's export screen.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import typing
from pathlib import Path

import pytest

import vault
import vault.errors
from vault.core.clock import FrozenClock
from vault.core.model import STATUSES, Credential, Status, StatusPolicy, next_renewal
from vault.core.secret import Secret

REPO = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000.0
DAY = 86400.0

# ------------------------------------------------------------------ the error tree

TREE_LINE = re.compile(r"^(?P<indent>[ │├└─]*?)(?P<name>[A-Z]\w+)\s+exit (?P<code>\d+)\s+(?P<what>\S.*)$")


def drawn_tree() -> dict[str, tuple[str | None, int, str]]:
    """The drawing in vault.errors' docstring: each class's drawn parent, exit code and description."""
    doc = vault.errors.__doc__ or ""
    drawing = doc.split("::", 1)[1].split("\n\n")[1]  # the indented block after the "::" line
    drawn: dict[str, tuple[str | None, int, str]] = {}
    parents: list[str] = []  # the ancestors of the current line, by depth
    base = None
    for line in drawing.splitlines():
        found = TREE_LINE.match(line)
        assert found, f"a line of the error tree that is not 'Name  exit N  what': {line!r}"
        column = len(found["indent"])
        base = column if base is None else base
        depth, rest = divmod(column - base, 4)
        assert rest == 0 and depth <= len(parents), f"misaligned in the error tree: {line!r}"
        del parents[depth:]
        name = found["name"]
        assert name not in drawn, f"{name} is drawn twice"
        drawn[name] = (parents[-1] if parents else None, int(found["code"]), found["what"])
        parents.append(name)
    return drawn


def actual_tree() -> dict[str, tuple[str | None, int]]:
    """Every VaultError class defined in vault.errors: its parent (the VaultError it extends) and exit code."""
    tree: dict[str, tuple[str | None, int]] = {}
    for name, cls in vars(vault.errors).items():
        if inspect.isclass(cls) and issubclass(cls, vault.errors.VaultError) and cls.__module__ == "vault.errors":
            bases = [b for b in cls.__bases__ if issubclass(b, vault.errors.VaultError)]
            assert len(bases) <= 1, f"{name} extends two errors: the tree cannot draw it"
            tree[name] = (bases[0].__name__ if bases else None, cls.exit_code)
    return tree


def test_the_error_tree_in_the_docstring_is_the_class_tree() -> None:
    drawn, actual = drawn_tree(), actual_tree()
    assert set(drawn) - set(actual) == set(), "drawn, but no such error in vault/errors.py"
    assert set(actual) - set(drawn) == set(), "an error in vault/errors.py missing from the drawing"
    for name, (parent, code) in actual.items():
        assert drawn[name][:2] == (parent, code), f"{name}: drawn as {drawn[name][:2]}, defined as {(parent, code)}"


def test_the_tree_parser_sees_a_wrong_drawing() -> None:
    """The check above is only as good as the parser: a moved or missing class is caught."""
    doc = vault.errors.__doc__ or ""
    try:
        vault.errors.__doc__ = doc.replace("    │   ├── NoKey ", "    ├── NoKey     ")
        assert drawn_tree()["NoKey"][0] == "VaultError" != actual_tree()["NoKey"][0]
        vault.errors.__doc__ = "\n".join(line for line in doc.splitlines() if "Declined" not in line)
        assert "Declined" not in drawn_tree() and "Declined" in actual_tree()
    finally:
        vault.errors.__doc__ = doc


# ------------------------------------------------------------------ vault.__all__


def type_checking_imports() -> dict[str, str]:
    """The names ``vault/__init__.py`` imports under ``if TYPE_CHECKING:``, and from where."""
    tree = ast.parse((REPO / "vault" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    return {
        alias.asname or alias.name: node.module or ""
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_vault_all_resolves_once_each_to_its_documented_home() -> None:
    names = vault.__all__
    assert len(names) == len(set(names)), "a name is in vault.__all__ twice"
    assert names == sorted(names), "vault.__all__ is kept sorted"
    homes = vault._HOMES
    assert set(homes) <= set(names), f"in _HOMES but not exported: {set(homes) - set(names)}"
    imported = type_checking_imports()
    assert set(imported) == set(names), "the TYPE_CHECKING imports (for type checkers) and __all__ differ"
    drawn = drawn_tree()
    for name in names:
        home = homes.get(name, "vault.errors")
        assert imported[name] == home, f"{name}: the TYPE_CHECKING import says {imported[name]}, _HOMES {home}"
        value = getattr(vault, name)
        assert value is getattr(importlib.import_module(home), name), f"vault.{name} is not {home}.{name}"
        if home == "vault.errors":
            assert inspect.isclass(value) and issubclass(value, vault.errors.VaultError), name
            assert name in drawn and drawn[name][2], f"{name} has no line in the error tree"
        else:
            assert getattr(value, "__module__", home) == home, f"{name} is defined in {value.__module__}, not {home}"
            assert (value.__doc__ or "").strip(), f"vault.{name} has no docstring of its own"
    with pytest.raises(AttributeError):
        vault.__getattr__("not_a_public_name")


# ------------------------------------------------------------------ STATUSES and Status


def test_statuses_are_the_status_type() -> None:
    assert typing.get_args(Status) == STATUSES
    assert len(STATUSES) == len(set(STATUSES))


# ------------------------------------------------------------------ the 7-day warning


def static(expires_in: float | None) -> Credential:
    return Credential(
        name="pat",
        provider="github-pat",
        kind="static",
        access_token=Secret("ghp_x"),
        expires_at=None if expires_in is None else NOW + expires_in,
        created_at=NOW - DAY,
    )


def renewable(refresh_expires_in: float, *, expires_in: float = 3600.0) -> Credential:
    return Credential(
        name="gh",
        provider="github",
        kind="oauth",
        access_token=Secret("at"),
        refresh_token=Secret("rt"),
        expires_at=NOW + expires_in,
        refresh_expires_at=NOW + refresh_expires_in,
        created_at=NOW - 60,
        extras={},
    )


@pytest.mark.parametrize(
    ("credential", "warned"),
    [
        (static(None), None),
        (static(8 * DAY), None),
        (static(7 * DAY), (NOW + 7 * DAY, "token")),
        (static(60), (NOW + 60, "token")),
        (static(0), None),  # already run out: expired, not expiring
        (renewable(6 * DAY), (NOW + 6 * DAY, "refresh token")),
        (renewable(30 * DAY), None),
    ],
)
def test_expiring_status_and_expiry_warning_are_one_rule(
    credential: Credential, warned: tuple[float, str] | None
) -> None:
    assert credential.expiry_warning(NOW) == warned
    status = credential.status_at(NOW)
    assert (status == "expiring") == (warned is not None)
    shorter = StatusPolicy(long_lived_warning=3600)
    assert (credential.status_at(NOW, shorter) == "expiring") == (credential.expiry_warning(NOW, shorter) is not None)


def test_the_refresher_warns_by_the_same_rule(home: Path) -> None:
    from vault.services.opening import init_vault
    from vault.services.refresher import BackgroundRefresher

    clock = FrozenClock(NOW)
    with init_vault(home, mode="keyring", clock=clock) as v:
        v.records.add_static("soon", provider="api-key", token="k1", expires_at=NOW + 6 * DAY)
        v.records.add_static("later", provider="api-key", token="k2", expires_at=NOW + 8 * DAY)
        statuses = {c.name: c.status_at(NOW) for c in v.credentials()}
        assert statuses == {"soon": "expiring", "later": "active"}
        events = BackgroundRefresher(v).run_once()
        assert [(e.credential, e.kind) for e in events] == [("soon", "expiring")]
        narrower = BackgroundRefresher(v, policy=StatusPolicy(long_lived_warning=DAY))
        assert narrower.run_once() == []


# ------------------------------------------------------------------ the next renewal


def test_the_next_renewal_is_one_rule() -> None:
    from screens.logic import refreshing
    from vault.services import refresher

    assert vars(refreshing)["next_renewal"] is next_renewal is vars(refresher)["next_renewal"]
    first, second = renewable(30 * DAY, expires_in=600), renewable(30 * DAY, expires_in=3600)
    second = dataclasses.replace(second, name="zz")
    assert next_renewal([second, first]) == ("gh", first.renew_at())
    assert next_renewal([static(60)]) is None


def test_every_status_reads_as_a_phrase() -> None:
    """Messages say "gh needs a new sign-in", never "gh is needs login": one phrase per status."""
    from vault.core.phrases import PHRASES

    assert tuple(PHRASES) == STATUSES
    assert all("_" not in phrase and phrase == phrase.strip() for phrase in PHRASES.values())


# ------------------------------------------------------------------ another account


def _sources(*rooms: str) -> dict[str, str]:
    return {
        str(path.relative_to(REPO)): path.read_text(encoding="utf-8")
        for room in rooms
        for path in sorted((REPO / room).rglob("*.py"))
    }


def test_replacing_an_account_is_one_rule_where_sign_ins_are_stored() -> None:
    """Only ``store_signed_in`` saves a sign-in (``action="login"``) and it asks
    ``account_change`` first; no front end compares accounts or subjects itself: the CLI, the
    TUI and the agent reach the rule through it (the CLI and the agent by the
    ``sign-in-store`` request, the TUI and ``login_mcp`` by ``login``)."""
    import vault.services.signin as signin

    sources = _sources("vault", "screens")
    saving = sorted(path for path, text in sources.items() if 'action="login"' in text)
    assert saving == ["vault/services/signin.py"]
    store = inspect.getsource(signin.store_signed_in)
    assert store.index("account_change(") < store.index("records.save(")

    def names(text: str) -> set[str]:
        tree = ast.parse(text)
        found = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        found |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        return found | {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
        }

    calls = sorted(path for path, text in sources.items() if names(text) & {"account_change", "SUBJECT_EXTRA"})
    assert calls == ["vault/oauth/identity.py", "vault/services/signin.py"]
    from vault.services import signin_store

    assert "store_signed_in(" in inspect.getsource(signin_store.sign_in_store)
    assert "store_signed_in(" in inspect.getsource(signin.login)


# ------------------------------------------------------------------ what may be repeated back


def test_what_may_be_repeated_back_is_one_rule() -> None:
    from screens.widgets import guarded_input
    from vault.cli.parser import Parser
    from vault.core import masking, model, repository, timefmt
    from vault.core.timefmt import parse_when
    from vault.errors import InvalidInput

    assert vars(guarded_input)["secret_kind"] is masking.secret_kind
    assert vars(model)["echo"] is vars(timefmt)["echo"] is vars(repository)["echo"] is masking.echo
    token = "ghp_" + "a1B2c3D4" * 4 + "e5F6"  # a fake
    described = masking.echo(token)
    with pytest.raises(InvalidInput) as refused:
        parse_when(token, NOW)
    assert described in refused.value.message and token not in refused.value.message
    said = Parser(prog="tokendeck")._explain(f"argument --limit: invalid int value: '{token}'")
    assert said == f"argument --limit: invalid int value: {described}"
    assert masking.echo("2026-12-31") == repr("2026-12-31")  # an ordinary value is shown as before


def test_whether_an_export_stays_fresh_is_one_rule() -> None:
    """Only :mod:`vault.services.exports` calls the rule, and no other module words it."""
    root = Path(__file__).parent.parent
    callers, wording = [], []
    for path in sorted(p for d in ("vault", "screens") for p in (root / d).rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name == "vault/export/freshness.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "import freshness" in text:
            callers.append(name)
        if re.search(r"access token lasts|kept fresh while", text):
            wording.append(name)
    assert callers == ["vault/services/exports.py"] and wording == []


def test_a_count_reads_as_english() -> None:
    from vault.core.phrases import counted

    assert [counted(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert counted(1, "old copy", "old copies") == "1 old copy"
    assert counted(3, "old copy", "old copies") == "3 old copies"
