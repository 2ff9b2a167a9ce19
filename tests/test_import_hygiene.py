"""``vault`` is the core: importable without the UI or the network stack, and the
hot ``token`` path loads only what it needs.  Checked in fresh interpreters."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import vault
from tests.support.authserver import AuthServer
from tests.support.seeded import seed

FORBIDDEN = ("textual", "rich", "screens", "httpx", "httpx2", "httpcore", "httpcore2", "authlib", "google", "mcp")
REPO = Path(__file__).resolve().parent.parent


def loaded_roots(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


NETWORK_LAYER = (
    "vault.oauth",
    "vault.services.signin",
    "vault.services.mcp_signin",
    "vault.cli.signin",
    "vault.services.tokens",
    "vault.services.refresher",
    "vault.integrations.httpx_auth",
    "vault.integrations.httpx2_auth",
    "vault.bridges.mcp_bridge",
    "vault.proxy.engine",  # and engine_*: proxy.py's package loads its example plugins, one imports httpx
)
"""Modules that exist to talk HTTP: they may load httpx2 (httpx for ``httpx_auth``), Authlib and
the MCP SDK, nothing else may."""


def all_vault_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(vault.__path__, "vault."))


WITHOUT_CLICK = "import sys\nsys.modules['click'] = None\n"
"""httpx (which ``vault.integrations.httpx_auth`` imports, for programs on httpx) loads its
optional command line (click + rich) whenever click is installed, and it is (uvicorn, through
mcp, and Flask in the tests); the probe hides click so that it checks tokendeck's own imports."""


def test_every_vault_error_lives_in_errors_py() -> None:
    """So the agent can send any of them and the client rebuild it (vault.errors.from_fields)."""
    import importlib
    import inspect

    from vault.errors import VaultError

    elsewhere = {
        f"{module}.{name}"
        for module in all_vault_modules()
        for name, value in vars(importlib.import_module(module)).items()
        if inspect.isclass(value) and issubclass(value, VaultError) and value.__module__ == module
        and module != "vault.errors"
    }  # fmt: skip
    assert not elsewhere


def test_no_vault_module_loads_the_ui() -> None:
    modules = all_vault_modules()
    assert "vault.cli" in modules and "vault.oauth.flows" in modules
    roots = loaded_roots(WITHOUT_CLICK + "\n".join(f"import {m}" for m in modules))
    assert roots.isdisjoint(("textual", "rich", "screens", "google")), roots


def test_import_vault_loads_no_ui_http_or_google() -> None:
    """docs/library.md's promise: the package itself is lazy (PEP 562), so importing it costs nothing."""
    baseline = loaded_roots("pass")  # the interpreter's own start-up (site, .pth files)
    roots = loaded_roots("import vault\nassert callable(vault.__getattr__)")
    assert roots - baseline - set(sys.stdlib_module_names) == {"vault"}, roots - baseline


def test_the_core_loads_no_network_stack() -> None:
    core = [m for m in all_vault_modules() if not m.startswith(NETWORK_LAYER)]
    assert "vault.core.store" in core and "vault.core.providers" in core
    roots = loaded_roots("\n".join(f"import {m}" for m in core))
    assert roots.isdisjoint(FORBIDDEN), roots & set(FORBIDDEN)


def test_token_for_a_passphrase_vault_loads_neither_keyring_nor_ui(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": "pass phrase",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    setup = (
        "import vault\n"
        "with vault.init_vault(mode='passphrase') as v:\n"
        "    v.records.add_static('gh', provider='github-pat', token='ghp_x')\n"
    )
    subprocess.run([sys.executable, "-c", setup], check=True, env=env, cwd=REPO, timeout=60)
    roots = loaded_roots(
        "import contextlib, io\n"
        "from vault.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert main(['token', 'gh']) == 0\n"
        "assert out.getvalue() == 'ghp_x\\n'",
        env,
    )
    assert roots.isdisjoint((*FORBIDDEN, "keyring", "platformdirs")), roots


NOT_FOR_A_REFRESH = (
    "click",
    "rich",
    "pygments",
    "textual",
    "screens",
    "httpx",
    "mcp",
    "starlette",
    "uvicorn",
    "pydantic",
)
"""What a command that refreshes a token has no use for: the UI, httpx (whose optional command
line brings click, rich and pygments whenever click is installed, and it always is: uvicorn,
which the MCP SDK requires, brings it), and the MCP SDK with its server stack."""


def test_a_cold_refresh_loads_one_http_stack_and_no_ui(home: Path, auth_server: AuthServer) -> None:
    """``tokendeck token NAME`` for an expired OAuth credential: a new process refreshes it over
    loopback (httpx2, Authlib's helpers) and loads nothing of the UI, httpx or the MCP SDK.  Click
    is not hidden here: it is installed, as on every user's machine."""
    with vault.init_vault(home, mode="passphrase", passphrase="pass phrase") as v:
        old = seed(v, auth_server, "acme", expires_in=-60).access_token
    env = {**os.environ, "TOKENDECK_PASSPHRASE": "pass phrase", "TOKENDECK_NO_AGENT": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}  # fmt: skip
    roots = loaded_roots(
        "import contextlib, io\n"
        "from vault.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert main(['token', 'acme']) == 0\n"
        "print(out.getvalue().strip())",
        env,
    )
    assert auth_server.token_request_count("refresh_token") == 1  # it did refresh, in that process
    with vault.open_vault(home, passphrase="pass phrase") as v:
        assert v.get("acme").access_token != old
    loaded = sorted(roots & set(NOT_FOR_A_REFRESH))
    assert not loaded, f"a cold refresh loaded {loaded}"
    assert {"httpx2", "httpcore2", "authlib"} <= roots  # the probe went through the OAuth stack


# ------------------------------------------------------------------ the layers

FOUNDATION = frozenset({"vault.errors", "vault.settings"})
LAYERS: dict[str, frozenset[str]] = {
    "vault.errors": frozenset(),
    "vault.settings": frozenset(),
    "vault.core": FOUNDATION,
    "vault.oauth": FOUNDATION | {"vault.core"},
    "vault.export": FOUNDATION | {"vault.core"},
    "vault.services": FOUNDATION | {"vault.core", "vault.oauth", "vault.export"},
    "vault.agent": FOUNDATION | {"vault.core", "vault.services"},
    "vault.integrations": FOUNDATION | {"vault.core", "vault.services", "vault.agent"},
    "vault.bridges": FOUNDATION | {"vault.core", "vault.services", "vault.agent", "vault.integrations"},
    "vault.proxy": FOUNDATION | {"vault.core", "vault.services", "vault.agent"},
    "vault.cli": FOUNDATION
    | {
        "vault.core",
        "vault.services",
        "vault.export",
        "vault.agent",
        "vault.integrations",
        "vault.bridges",
        "vault.proxy",
    },
    "vault": FOUNDATION | {"vault.core", "vault.services", "vault.integrations"},
    "vault.compat": frozenset({"vault.integrations"}),
    "screens": FOUNDATION | {"vault", "vault.core", "vault.services", "vault.agent"},
}
"""What each package may import besides itself (ARCHITECTURE.md draws it).  Every import
counts: at module level, inside functions, and under TYPE_CHECKING."""


def source_modules() -> dict[str, Path]:
    """Every module of ``vault`` and ``screens``, by dotted name."""
    found = {}
    for root in ("vault", "screens"):
        for path in (REPO / root).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules ``path`` imports: ``from a import b`` names ``a.b`` when that is a module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names
            ]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in ("vault", "screens"))


def layer_of(module: str) -> str:
    if module.startswith("screens"):
        return "screens"
    parts = module.split(".")
    return ".".join(parts[:2])


def import_graph() -> dict[str, set[str]]:
    modules = source_modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path, modules):
            while imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_every_package_has_a_layer() -> None:
    assert {layer_of(m) for m in source_modules()} == set(LAYERS)


def test_imports_point_down_the_layers_only() -> None:
    graph = import_graph()
    assert "vault.core.model" in graph["vault.services.tokens"]  # the graph sees imports
    assert "vault.cli.terminal" in graph["vault.cli.fast"]  # ... inside functions too
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if layer_of(target) != layer_of(module) and layer_of(target) not in LAYERS[layer_of(module)]
    )
    assert not upward


def test_no_import_cycles() -> None:
    """No module reaches itself through imports, counting those inside functions (Tarjan's SCCs)."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles


def test_no_source_file_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(REPO)): n
        for path in source_modules().values()
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert not long


# ------------------------------------------------------------------ the rooms of screens/


def roots_imported_by(path: Path) -> set[str]:
    """The top-level package of everything ``path`` imports, wherever the import stands."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def classes_by_base(path: Path) -> dict[str, str]:
    """Each class ``path`` defines, with the name of its first base (``ModalScreen[bool]``: ``ModalScreen``)."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef) and node.bases:
            base = node.bases[0]
            base = base.value if isinstance(base, ast.Subscript) else base
            found[node.name] = ast.unparse(base).rpartition(".")[2]
    return found


def screen_modules() -> set[str]:
    """The modules that define a screen (a ``Screen``, not a ``ModalScreen``)."""
    return {name for name, path in source_modules().items() if "Screen" in classes_by_base(path).values()}


def test_each_room_of_screens_holds_its_kind() -> None:
    """Screens in ``screens/``, modal dialogs in ``screens/dialogs/``: the folder says what a file holds."""

    def misplaced(module: str, base: str) -> bool:
        if base == "Screen":
            return module.count(".") != 1
        return base == "ModalScreen" and not module.startswith("screens.dialogs.")

    wrong = sorted(
        f"{module}.{name} ({base})"
        for module, path in source_modules().items()
        if module.startswith("screens")
        for name, base in classes_by_base(path).items()
        if misplaced(module, base)
    )
    assert not wrong
    assert "screens.token_list" in screen_modules() and "screens.dialogs.help" not in screen_modules()


def test_the_screens_helpers_never_import_textual() -> None:
    """``screens/logic/`` is what the screens show and decide, testable without an app."""
    helpers = {name: path for name, path in source_modules().items() if name.startswith("screens.logic")}
    assert "screens.logic.list_order" in helpers
    textual = sorted(name for name, path in helpers.items() if "textual" in roots_imported_by(path))
    assert not textual


def test_widgets_dialogs_and_helpers_never_import_a_screen() -> None:
    """Imports point from the screens down to their parts: a widget or a dialog is opened by a
    screen and never names one, and the helpers name nothing of ``screens/`` outside their room."""
    graph = import_graph()
    screens = screen_modules()

    def upward(module: str, target: str) -> bool:
        if module.startswith("screens.logic."):
            return target.startswith("screens") and not target.startswith("screens.logic")
        return module.startswith(("screens.widgets.", "screens.dialogs.")) and target in screens

    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if upward(module, target)
    )
    assert "screens.widgets.registration" in graph and "screens.dialogs.rotate" in graph
    assert not wrong


def test_the_library_for_programs_never_imports_the_engines() -> None:
    """``vault.integrations`` is what programs import; the engines behind ``tokendeck ssh`` and
    ``mcp-bridge`` (``vault.bridges``) sit above it and are started by the CLI alone."""
    graph = import_graph()
    assert "vault.bridges.mcp_bridge" in graph and "vault.integrations.bearer" in graph["vault.bridges.mcp_bridge"]
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if target.startswith("vault.bridges") and not module.startswith(("vault.bridges", "vault.cli"))
    )
    assert not wrong
