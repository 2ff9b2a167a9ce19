"""The built wheel works on its own: build it, install it into a fresh venv, run it.

A checkout hides packaging mistakes (``vault.core.resources`` falls back to the
top-level ``assets/``, and the editable install puts the repository on
``sys.path``), so these tests run the installed product from a directory
outside the repository, in a virtualenv made from the base interpreter, and
check that the stylesheets came along inside ``vault/assets``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 600.0
RUN_TIMEOUT = 120.0
PASSPHRASE = "packaging test passphrase"
SIGN_IN_ASSETS = ("providers.toml", "signin-success.html", "signin-failure.html")
"""Read at run time by the provider catalog and the loopback listener's pages."""
BUILTIN_PROVIDERS = (
    "google", "github", "gitlab", "linear", "atlassian", "slack", "microsoft",
    "notion", "dropbox", "bitbucket", "oidc", "github-pat", "jira-dc", "api-key",
)  # fmt: skip
TOKEN = "ghp_" + "p" * 36


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float, stdin: str = "") -> str:
    """Run a command to completion (killed on timeout); fail the test with its stderr if it fails."""
    done = subprocess.run(
        argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def _clean_env() -> dict[str, str]:
    """This environment without anything that would let the checkout or the project venv leak in."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("TOKENDECK_")}


def _base_python() -> str:
    """The interpreter the project venv was made from (not the venv itself)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base if Path(base).exists() else sys.executable


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from this checkout (``python -m build --wheel``, isolated build env)."""
    outdir = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(REPO)],
        cwd=outdir,
        env=_clean_env(),
        timeout=BUILD_TIMEOUT,
    )
    wheels = list(outdir.glob("tokendeck-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@dataclass(frozen=True)
class Installed:
    """A fresh virtualenv with only the wheel (and its dependencies) installed."""

    python: Path
    tokendeck: Path
    purelib: Path
    outside: Path
    """A working directory outside the repository, so the checkout is not importable."""


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    outside = root / "cwd"
    outside.mkdir()
    env = _clean_env()
    try:
        _run([_base_python(), "-m", "venv", str(venv)], cwd=outside, env=env, timeout=RUN_TIMEOUT)
        python = venv / "bin" / "python"
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        constraints = REPO / "requirements" / "ci-constraints.txt"
        if constraints.exists():
            pip += ["--constraint", str(constraints)]
        _run([*pip, str(wheel)], cwd=outside, env=env, timeout=BUILD_TIMEOUT)
        purelib = _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=outside,
            env=env,
            timeout=RUN_TIMEOUT,
        ).strip()
        yield Installed(python, venv / "bin" / "tokendeck", Path(purelib).resolve(), outside)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # a venv with textual is large; do not keep it around


@pytest.fixture
def product_env(installed: Installed, tmp_path: Path) -> dict[str, str]:
    """How a headless user runs it: a passphrase in the environment, no keyring."""
    env = _clean_env()
    env.update(
        TOKENDECK_HOME=str(tmp_path / "home"),
        TOKENDECK_PASSPHRASE=PASSPHRASE,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        PYTHONNOUSERSITE="1",
    )
    return env


def test_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        data = dist_info.removesuffix(".dist-info") + ".data"
        launcher = zf.read(f"{data}/scripts/tokendeck").decode()

    assert "vault/assets/app.tcss" in names
    for asset_name in SIGN_IN_ASSETS:  # named outright: the rglob below passes vacuously if assets/ moves
        assert f"vault/assets/{asset_name}" in names, f"{asset_name} is missing from the wheel"
    for asset in (REPO / "assets").rglob("*"):
        if asset.is_file():
            assert f"vault/assets/{asset.relative_to(REPO / 'assets').as_posix()}" in names
    for module in (REPO / "vault").glob("*.py"):
        assert f"vault/{module.name}" in names
    for module in (REPO / "screens").rglob("*.py"):
        assert f"screens/{module.relative_to(REPO / 'screens').as_posix()}" in names
    # The command is bin/tokendeck as it is (pip writes the interpreter over "#!python"), not a
    # generated console-script wrapper: no entry point would make a second `tokendeck`.
    assert launcher == (REPO / "bin" / "tokendeck").read_text() and launcher.startswith("#!python\n")
    assert f"{dist_info}/entry_points.txt" not in names

    tops = {n.split("/")[0] for n in names}
    assert tops == {"vault", "screens", dist_info, data}, f"unexpected top-level entries: {tops}"
    # scan's literal search, built by hatch_build.py (a C compiler is among the system packages
    # CI installs): in the wheel, which is then for this platform, any Python 3 (ctypes loads it)
    assert "vault/core/libliterals.so.1" in names
    assert wheel.name.endswith(f"-py3-none-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}.whl")
    assert not any(n.startswith(("tests/", "benchmarks/", "assets/")) or "/tests/" in n for n in names)


def test_without_a_working_compiler_the_wheel_is_built_pure_python(tmp_path: Path) -> None:
    """A compiler that fails (here ``CC=false``; the same path as none at all) never stops an
    install: the wheel is built without the C side, for any platform, and scan uses Hyperscan."""
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(REPO)],
        cwd=tmp_path,
        env=_clean_env() | {"CC": "false"},
        timeout=BUILD_TIMEOUT,
    )
    (wheel,) = tmp_path.glob("tokendeck-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert "vault/core/libliterals.so.1" not in zf.namelist() and "vault/core/literals.py" in zf.namelist()


def test_the_installed_scan_uses_the_sampled_search(installed: Installed, product_env: dict[str, str]) -> None:
    """The installed package loads its own ``libliterals.so.1`` (from site-packages, not the checkout)."""
    said = _run(
        [
            str(installed.python),
            "-c",
            "from vault.core import literals; print(literals.available(), literals._LIBRARY)",
        ],
        cwd=installed.outside,
        env=product_env,
        timeout=RUN_TIMEOUT,
    ).split()
    assert said[0] == "True" and Path(said[1]).is_relative_to(installed.purelib), said


def test_installed_cli_round_trip(installed: Installed, product_env: dict[str, str]) -> None:
    def tokendeck(*argv: str, stdin: str = "") -> str:
        return _run(
            [str(installed.tokendeck), *argv], cwd=installed.outside, env=product_env, timeout=RUN_TIMEOUT, stdin=stdin
        )

    assert "usage: tokendeck" in tokendeck("--help")
    tokendeck("init", "--passphrase")
    tokendeck("add", "gh", "--provider", "github-pat", stdin=TOKEN + "\n")
    listing = tokendeck("list").splitlines()
    assert any(line.split()[:2] == ["gh", "github-pat"] for line in listing), listing
    assert tokendeck("token", "gh") == TOKEN + "\n"


def test_the_installed_command_starts_with_only_what_it_needs(
    installed: Installed, product_env: dict[str, str], runtime: Path
) -> None:
    """The installed ``tokendeck`` is the plain launcher, its shebang the venv's interpreter, and
    ``tokendeck token`` through the agent imports nothing but the fast path (no ``re``, which
    pip's console-script wrapper imported before any of tokendeck's code ran)."""
    first, *rest = installed.tokendeck.read_text().splitlines()
    assert first == f"#!{installed.python}" and rest == (REPO / "bin" / "tokendeck").read_text().splitlines()[1:]
    env = product_env | {"TOKENDECK_RUNTIME_DIR": str(runtime / "tokendeck")}

    def tokendeck(*argv: str, stdin: str = "", python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*python, str(installed.tokendeck), *argv], cwd=installed.outside, env=env, input=stdin,
            capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
        )  # fmt: skip

    assert tokendeck("init", "--passphrase").returncode == 0
    assert tokendeck("add", "gh", "--provider", "github-pat", stdin=TOKEN + "\n").returncode == 0
    assert tokendeck("agent", "start").returncode == 0
    try:
        env.pop("TOKENDECK_PASSPHRASE")  # only the agent can answer now
        done = tokendeck("token", "gh", python=(str(installed.python), "-X", "importtime"))
        assert done.returncode == 0 and done.stdout == TOKEN + "\n", done.stderr
        loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert not {"re", "argparse", "__future__"} & loaded, sorted(loaded)
        assert {m for m in loaded if m.split(".")[0] == "vault"} == {
            "vault", "vault.settings", "vault.cli", "vault.agent", "vault.cli.fast", "vault.agent.wire",
        }  # fmt: skip
    finally:
        env["TOKENDECK_PASSPHRASE"] = PASSPHRASE
        tokendeck("agent", "stop")


CHECK_ASSETS = """
import json, vault, vault.core.resources, screens.app
css = screens.app.VaultApp.CSS_PATH
css = css if isinstance(css, list) else [css]
print(json.dumps({
    "vault": vault.__file__,
    "asset": str(vault.core.resources.asset("app.tcss")),
    "css_path": [str(p) for p in css],
}))
"""


def test_installed_assets_resolve_inside_site_packages(installed: Installed, product_env: dict[str, str]) -> None:
    out = _run([str(installed.python), "-c", CHECK_ASSETS], cwd=installed.outside, env=product_env, timeout=RUN_TIMEOUT)
    found = json.loads(out)
    assert Path(found["vault"]).resolve().is_relative_to(installed.purelib), "the checkout was imported, not the wheel"
    asset = Path(found["asset"]).resolve()
    assert asset.is_relative_to(installed.purelib / "vault" / "assets"), f"assets not packaged: resolved to {asset}"
    assert asset.is_file(), asset
    assert found["css_path"], "VaultApp.CSS_PATH is empty"
    for css in found["css_path"]:
        path = Path(css)
        assert path.is_absolute(), f"a relative CSS_PATH ({css}) resolves against screens/, where no assets are"
        assert path.resolve().is_relative_to(installed.purelib) and path.is_file(), css


RUN_TUI = """
import asyncio, json
from vault import open_vault
from screens.main import make_app

async def main():
    with open_vault() as v:
        app = make_app(v)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            sources = [path for path, _ in app.stylesheet.source]
            await pilot.press("q")
    print(json.dumps(sources))

asyncio.run(main())
"""


def test_installed_tui_loads_its_stylesheet(installed: Installed, product_env: dict[str, str]) -> None:
    _run(
        [str(installed.tokendeck), "init", "--passphrase"],
        cwd=installed.outside,
        env=product_env,
        timeout=RUN_TIMEOUT,
    )
    out = _run([str(installed.python), "-c", RUN_TUI], cwd=installed.outside, env=product_env, timeout=RUN_TIMEOUT)
    sources = [Path(p) for p in json.loads(out.strip().splitlines()[-1])]
    assert any(p.name == "app.tcss" and p.resolve().is_relative_to(installed.purelib) for p in sources), sources


CHECK_SIGN_IN_ASSETS = """
import json, vault.core.providers, vault.core.resources
from vault.core.providers import catalog
from vault.oauth.loopback import render
providers = catalog()
print(json.dumps({
    "providers_module": vault.core.providers.__file__,
    "catalog_file": str(vault.core.resources.asset("providers.toml")),
    "providers": {key: p.kind for key, p in providers.items()},
    "pages": {page: str(vault.core.resources.asset(page)) for page in ("signin-success.html", "signin-failure.html")},
    "success": render("signin-success.html", "x", "y").decode("utf-8"),
    "failure": render("signin-failure.html", "acme<", "bad & worse").decode("utf-8"),
}))
"""


def test_installed_sign_in_assets_resolve_inside_site_packages(
    installed: Installed, product_env: dict[str, str]
) -> None:
    out = _run(
        [str(installed.python), "-c", CHECK_SIGN_IN_ASSETS], cwd=installed.outside, env=product_env, timeout=RUN_TIMEOUT
    )
    found = json.loads(out.strip().splitlines()[-1])
    assert Path(found["providers_module"]).resolve().is_relative_to(installed.purelib), "the checkout was imported"
    packaged = installed.purelib / "vault" / "assets"
    for path in (found["catalog_file"], *found["pages"].values()):
        resolved = Path(path).resolve()
        assert resolved.is_relative_to(packaged) and resolved.is_file(), f"asset not packaged: resolved to {path}"
    missing = [key for key in BUILTIN_PROVIDERS if key not in found["providers"]]
    assert not missing, f"built-ins missing from the installed catalog: {missing}"
    assert found["providers"]["oidc"] == "oauth" and found["providers"]["github-pat"] == "static"
    for page in ("success", "failure"):
        assert "${" not in found[page] and "</html>" in found[page].lower(), found[page]
    assert "Signed in to x" in found["success"] and "<p>y</p>" in found["success"], found["success"]
    assert "did not complete" in found["failure"], found["failure"]
    assert "acme&lt;" in found["failure"] and "<p>bad &amp; worse</p>" in found["failure"]  # filled in, escaped


def _readme_install_command() -> list[str]:
    """The install command as the README gives it (the first ``pipx install`` line of a code block)."""
    import shlex

    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("pipx install"):
            return shlex.split(line.partition("#")[0])
    raise AssertionError("the README gives no pipx install command")


def test_the_readmes_install_command_puts_tokendeck_on_path(tmp_path: Path) -> None:
    """From a fresh clone, the README's command installs a ``tokendeck`` that a new shell finds on PATH."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "clone"
    _run(["git", "clone", "--quiet", str(REPO), str(clone)], cwd=tmp_path, env=_clean_env(), timeout=RUN_TIMEOUT)
    command = _readme_install_command()
    assert command[:3] == ["pipx", "install", "."]
    env = _clean_env() | {
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    _run([sys.executable, "-m", *command], cwd=clone, env=env, timeout=BUILD_TIMEOUT)  # pipx from the test tools
    shell = env | {"PATH": f"{tmp_path / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path)}
    from importlib.metadata import version

    out = _run(["sh", "-c", "command -v tokendeck && tokendeck --version"], cwd=tmp_path, env=shell,
               timeout=RUN_TIMEOUT)  # fmt: skip
    where, said = out.splitlines()
    assert Path(where).parent == tmp_path / "bin" and said == f"tokendeck {version('tokendeck')}"
    assert "COMMAND" in _run(["sh", "-c", "tokendeck --help"], cwd=tmp_path, env=shell, timeout=RUN_TIMEOUT)
