"""Issue 33, item 4: no ``None`` in any message.

Two walks.  At run time, a matrix of commands against credentials whose optional facts are
all missing (no account, expiry, scopes, refresh token, last error; revoked, failed or signed
out with no reason; a provider the catalog does not know) must never print the word ``None``
on stdout or stderr, nor the TUI's detail screen show it.  In the source, every f-string
message (raised, said, notified, reported) that interpolates an attribute some class of
``vault``/``screens`` declares Optional must guard it in the same function, or be listed
in :data:`REVIEWED` with the reason it cannot be None there.

Nothing here reaches the network: no provider is registered, so nothing can be refreshed,
revoked or verified at a provider."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from vault.core.restored import RESTORED_EXTRA

PASS = "correct horse battery staple"
NONE = re.compile(r"\bNone\b")


def bare(name: str, **facts: object) -> vault.Credential:
    now = time.time()
    fields: dict[str, object] = {"provider": "github", "kind": "oauth", "access_token": vault.Secret(f"tok-{name}")}
    fields.update(facts)
    return vault.Credential(name=name, created_at=now, updated_at=now, **fields)  # type: ignore[arg-type]


@pytest.fixture
def sparse(ready: CliRunner, home: Path) -> CliRunner:
    """``ready``'s vault plus credentials with every optional fact missing, in each state."""
    past, later = time.time() - 60, time.time() + 600
    with vault.open_vault(home, PASS) as v:
        for credential in (
            bare("plain"),  # oauth: no account, expiry, scopes, token type, refresh token
            bare("stranger", provider="no-such-idp"),  # a provider the catalog does not know
            bare("ended", expires_at=past),  # expired, nothing to renew it with
            bare("signedout", stored_status="needs_login", refresh_token=vault.Secret("r"), expires_at=past),
            bare("gone", stored_status="revoked", access_token=None),  # revoked, no reason
            bare("broken", stored_status="error", access_token=None),  # an error with no last_error
            bare("failing", refresh_token=vault.Secret("r"), expires_at=past, refresh_failures=3),
            bare("noclient", refresh_token=vault.Secret("r"), expires_at=past),  # no registration for github
            bare("backoff", refresh_token=vault.Secret("r"), expires_at=past, refresh_failures=2, retry_at=later),
            bare("held", refresh_token=vault.Secret("r"), expires_at=past, extras={RESTORED_EXTRA: {}}),
        ):
            v.records.save(credential)
        v.records.add_static("key", provider="api-key", token="sk-none-test")
    return ready


NAMES = (
    "plain", "stranger", "ended", "signedout", "gone", "broken", "failing", "noclient", "backoff", "held", "key",
)  # fmt: skip
PER_NAME = (
    ["show", "{}"],
    ["token", "{}"],
    ["refresh", "{}"],
    ["verify", "{}"],
    ["export", "shell", "--name", "{}", "--var", "X"],
    ["export", "claude-code", "--name", "{}", "--server", "s", "--var", "X", "--file", "{file}", "--command", "srv"],
    ["export", "dotenv", "--name", "{}", "--var", "X", "--file", "{env}", "--plaintext", "--dry-run"],
)
GLOBAL = (
    ["list"],
    ["audit"],
    ["refresh", "--due"],
    ["export", "--list"],
    ["provider", "list"],
)


def assert_no_none(argv: list[str], out: str, err: str) -> None:
    for stream, text in (("stdout", out), ("stderr", err)):
        found = NONE.search(text)
        assert found is None, f"tokendeck {' '.join(argv)}: None on {stream}:\n{text}"


@pytest.mark.parametrize("name", NAMES)
def test_no_command_says_none_about_a_sparse_credential(sparse: CliRunner, name: str, tmp_path: Path) -> None:
    for template in PER_NAME:
        argv = [a.format(name, file=tmp_path / "mcp.json", env=tmp_path / ".env") for a in template]
        for tty in (False, True):
            r = sparse(*argv, stdout_tty=tty)
            assert_no_none(argv, r.out, r.err)
    asked = sparse("revoke", name, tty=True, answers=["n"])  # the question, answered no
    assert_no_none(["revoke", name, "(answered no)"], asked.out, asked.err)
    argv = ["revoke", name, "--yes"]  # last: it erases what it can
    r = sparse(*argv)
    assert_no_none(argv, r.out, r.err)
    r = sparse("show", name, stdout_tty=True)
    assert_no_none(["show", name, "(after revoke)"], r.out, r.err)


def test_no_listing_says_none(sparse: CliRunner) -> None:
    for argv in GLOBAL:
        for tty in (False, True):
            r = sparse(*argv, stdout_tty=tty)
            assert_no_none(list(argv), r.out, r.err)


# ------------------------------------------------------------------ the source walk

ROOTS = ("vault", "screens")
MESSAGE_CALLS = frozenset({"said", "notify", "Report", "notice"})
"""Calls whose arguments are messages, besides a raised exception's and ``notices.append``."""
COLLECTIONS = frozenset({"notices", "problems", "lines"})

REVIEWED: dict[tuple[str, str], str] = {
    ("screens/main.py", "resolve_home().home"): "VaultPaths.home is a Path",
    ("vault/agent/forwarding.py", "self.host"): "a Forward's host is a str",
    ("vault/bridges/mcp_bridge.py", "self.served.url"): "Served.url is a str (empty until read)",
    ("vault/bridges/mcp_stepup.py", "self.url"): "StepUp's url is a str",
    ("vault/cli/agent.py", "paths.home"): "VaultPaths.home is a Path",
    ("vault/cli/backup.py", "paths.home"): "VaultPaths.home is a Path",
    ("vault/cli/setup.py", "vault.paths.home"): "VaultPaths.home is a Path",
    ("vault/cli/signin.py", "args.provider"): "cmd_login calls _login_provider only with a provider",
    ("vault/core/backup.py", "exc.reason"): "Unparsable.reason is a str",
    ("vault/core/restoring.py", "paths.home"): "VaultPaths.home is a Path",
    ("vault/export/targets.py", "exc.reason"): "Unparsable.reason is a str",
    ("vault/integrations/google.py", "stored.provider"): "Credential.provider is a str",
    ("vault/oauth/mcp.py", "found.issuer"): "AuthServerMetadata.issuer is a str",
    ("vault/oauth/sessions.py", "exc.reason"): "Unparsable.reason is a str",
    ("vault/services/backups.py", "paths.home"): "VaultPaths.home is a Path",
    ("vault/services/commands.py", "credential.provider"): "Credential.provider is a str",
    ("vault/services/leak_fix_requests.py", "credential.provider"): "Credential.provider is a str",
    ("vault/cli/scan_fix.py", "fix.credential"): "Fix.credential is a str (a Finding's credential)",
    ("vault/services/file_commands.py", "b.credential"): "ExportBinding.credential is a str",
    ("vault/services/import_sources.py", "exc.reason"): "Unparsable.reason is a str",
    ("vault/services/mcp_signin.py", "found.issuer"): "AuthServerMetadata.issuer is a str",
    ("vault/services/opening.py", "paths.home"): "VaultPaths.home is a Path",
    ("vault/services/static_tokens.py", "current.provider"): "Credential.provider is a str",
    ("vault/services/tokens.py", "kept.reason"): "Held.reason is a str",
}
"""Interpolations the walk flags (their attribute is Optional in some class) that are not
Optional where they are read, each with the reason; anything else it flags must be guarded."""


ROOT = Path(__file__).parent.parent


def sources() -> list[Path]:
    return sorted(p.relative_to(ROOT) for d in ROOTS for p in (ROOT / d).rglob("*.py"))


def optional_attributes(trees: dict[Path, ast.Module]) -> set[str]:
    """Every attribute a class of ours annotates as possibly None (fields and properties)."""
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    if "None" in ast.unparse(item.annotation):
                        names.add(item.target.id)
                elif isinstance(item, ast.FunctionDef) and item.returns is not None:
                    is_property = any(ast.unparse(d).endswith("property") for d in item.decorator_list)
                    if is_property and "None" in ast.unparse(item.returns):
                        names.add(item.name)
    return names


def callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def message_calls(tree: ast.Module) -> list[ast.Call]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            found.append(node.exc)
        elif isinstance(node, ast.Call):
            named = callee(node)
            appended = named == "append" and isinstance(node.func, ast.Attribute)
            if named in MESSAGE_CALLS or (appended and ast.unparse(node.func.value) in COLLECTIONS):  # type: ignore[attr-defined]
                found.append(node)
    return found


def conditions(scope: ast.AST) -> list[str]:
    """The text of every test in ``scope``: an ``if``, a conditional expression, ``and``/``or``."""
    tests = []
    for node in ast.walk(scope):
        if isinstance(node, ast.If | ast.IfExp | ast.While | ast.Assert):
            tests.append(ast.unparse(node.test))
        elif isinstance(node, ast.BoolOp):
            tests.append(ast.unparse(node))
        elif isinstance(node, ast.comprehension):
            tests += [ast.unparse(test) for test in node.ifs]
    return tests


def maybe_none(value: ast.expr, optional: set[str]) -> bool:
    """An attribute some class declares Optional, or ``mapping.get(key)`` with no default."""
    if isinstance(value, ast.Attribute):
        return value.attr in optional
    return isinstance(value, ast.Call) and callee(value) == "get" and len(value.args) == 1 and not value.keywords


def findings(tree: ast.Module, optional: set[str]) -> list[tuple[int, str]]:
    """The line and text of each interpolation in a message of ``tree`` that may be None and
    that no test in its function mentions."""
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    found = []
    for call in message_calls(tree):
        around = [f for f in functions if f.lineno <= call.lineno <= (f.end_lineno or f.lineno)]
        scope: ast.AST = min(around, key=lambda f: (f.end_lineno or f.lineno) - f.lineno) if around else tree
        tests = conditions(scope)
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            for node in ast.walk(arg):
                if isinstance(node, ast.FormattedValue) and maybe_none(node.value, optional):
                    text = ast.unparse(node.value)
                    if not any(text in test for test in tests):
                        found.append((node.lineno, text))
    return found


def unguarded() -> set[tuple[str, str]]:
    trees = {path: ast.parse((ROOT / path).read_text(encoding="utf-8")) for path in sources()}
    optional = optional_attributes(trees)
    return {(path.as_posix(), text) for path, tree in trees.items() for _, text in findings(tree, optional)}


def test_every_optional_value_in_a_message_is_guarded() -> None:
    found = unguarded()
    assert found - set(REVIEWED) == set(), "guard these (x or 'fallback', or an if), or review them into REVIEWED"
    assert set(REVIEWED) - found == set(), "REVIEWED names an interpolation that is gone or now guarded"


def test_the_walk_finds_what_it_is_for(tmp_path: Path) -> None:
    """The walk itself: an unguarded Optional attribute in a raise is found, a guarded one is not."""
    tree = ast.parse(
        "class R:\n    reason: str | None = None\n"
        "def bad(r):\n    raise ValueError(f'failed: {r.reason}')\n"
        "def good(r):\n    raise ValueError(f'failed: {r.reason or \"no reason given\"}')\n"
        "def guarded(r):\n    if r.reason:\n        raise ValueError(f'failed: {r.reason}')\n"
    )
    optional = optional_attributes({tmp_path: tree})
    assert optional == {"reason"}
    assert findings(tree, optional) == [(4, "r.reason")]  # bad() only
