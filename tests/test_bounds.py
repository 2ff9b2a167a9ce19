"""Every reader of outside data is bounded (issue 30): nested JSON from any server answer is
``bad_response``, never a ``RecursionError``; a device, a FIFO or an oversized file given as
any input file is one line naming it; a zip bomb backup writes nothing past its limit.  Each
refusal leaves the vault as it was."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner, Result
from tests.support.json_handler import serving
from tests.support.seeded import seed
from vault.core import backup as backup_file
from vault.core.outside import MAX_DEPTH, TooDeep, Unparsable, check_depth, copy_member, load_json, load_yaml
from vault.errors import ProviderError

DEEP = b"[" * 100_000 + b"]" * 100_000
"""What a hostile server sends: deep enough for Python's own decoder to raise RecursionError."""
DEEP_OBJECT = b'{"access_token": "a", "x": ' + b'{"y": ' * 50_000 + b"1" + b"}" * 50_000 + b"}"
JUST_DEEP = b'{"access_token": "a", "x": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}"
"""Past the limit but well under Python's: decoded fine, yet no caller may have to walk it."""


def one_line(r: Result) -> str:
    assert "Traceback" not in r.err and "RecursionError" not in r.err, r.err
    lines = [line for line in r.err.splitlines() if line.startswith("tokendeck:")]
    assert len(lines) == 1, r.err
    return lines[0]


def within(seconds: float, run: Callable[[], Result]) -> Result:
    """``run()`` on a thread, so a reader that blocks (a FIFO) fails the test instead of hanging it."""
    done: list[Result] = []
    thread = threading.Thread(target=lambda: done.append(run()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert done, f"still running after {seconds} s: the reader blocked"
    return done[0]


# ------------------------------------------------------- nested JSON from servers


@pytest.fixture
def seeded(cli: CliRunner, home: Path, auth_server: AuthServer) -> CliRunner:
    """A keyring vault with ``acme`` (valid) and ``stale`` (expired: any read refreshes it)."""
    assert cli("init").code == 0
    with vault.open_vault(home) as v:
        seed(v, auth_server, "acme")
        c = seed(v, auth_server, "stale")
        v.records.save(dataclasses.replace(c, expires_at=time.time() - 5))
    return cli


def stored(home: Path, name: str) -> vault.Credential:
    with vault.open_vault(home) as v:
        return v.get(name)


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, JUST_DEEP], ids=["arrays", "objects", "just-past-the-limit"])
@pytest.mark.parametrize("command", [("token", "stale"), ("refresh", "stale")])
def test_nested_json_from_the_token_endpoint_is_bad_response_and_keeps_the_credential(
    seeded: CliRunner, home: Path, auth_server: AuthServer, body: bytes, command: tuple[str, ...]
) -> None:
    before = stored(home, "stale")
    auth_server.settings.token_response_override = (200, "application/json", body)
    r = seeded(*command)
    assert r.code == 1 and "stale" not in r.out
    line = one_line(r)
    assert "acme: bad_response" in line and "nested too deeply" in line, line
    after = stored(home, "stale")
    assert (after.access_token, after.refresh_token, after.stored_status) == (
        before.access_token,
        before.refresh_token,
        "active",
    )
    assert after.last_error is not None and after.last_error.startswith("bad_response")
    assert auth_server.token_request_count("refresh_token") >= 1


def test_the_library_raises_a_vault_error_for_nested_json(seeded: CliRunner, auth_server: AuthServer) -> None:
    auth_server.settings.token_response_override = (200, "application/json", DEEP)
    with pytest.raises(ProviderError) as caught:
        vault.get_token("stale")
    assert caught.value.code == "bad_response" and isinstance(caught.value, vault.VaultError)


def test_the_agent_answers_nested_json_as_an_error_and_keeps_serving(
    home: Path, passphrase_env: str, auth_server: AuthServer
) -> None:
    from tests.test_agent import start_agent
    from vault.agent import wire

    with vault.init_vault(mode="passphrase") as v:
        c = seed(v, auth_server, "stale")
        v.records.save(dataclasses.replace(c, expires_at=time.time() - 5))
        v.records.add_static("gh", provider="github-pat", token="ghp_still_served")
    auth_server.settings.token_response_override = (200, "application/json", DEEP)
    with start_agent() as running:
        answer = wire.call("token", "stale")
        assert answer is not None and answer[0] == "1"
        error = wire.error_from(answer)
        assert isinstance(error, ProviderError) and error.code == "bad_response"
        assert wire.call("token", "gh") == ["0", "ghp_still_served"]
        assert not [line for line in running.log if "Traceback" in line or "RecursionError" in line]


@pytest.mark.parametrize(
    ("setting", "argv", "code", "said"),
    [
        ("token_response_override", ("login", "acme"), 1, "bad_response"),
        ("device_authorization_response_override", ("login", "acme", "--device"), 1, "bad_response"),
        ("token_response_override", ("login", "acme", "--device"), 1, "bad_response"),
        ("userinfo_response_override", ("login", "acme"), 0, "could not learn the account (bad_response)"),
    ],
    ids=["code-exchange", "device-authorization", "device-poll", "userinfo"],
)
def test_nested_json_in_sign_in_answers(
    cli: CliRunner,
    auth_server: AuthServer,
    browser_log: Path,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    argv: tuple[str, ...],
    code: int,
    said: str,
) -> None:
    auth_server.register_client("bounds-client")
    assert cli("init").code == 0
    assert cli("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", "bounds-client").code == 0
    auth_server.settings.device_auto_approve_after = 0
    monkeypatch.setenv("FAKE_BROWSER_MODE", "device" if "--device" in argv else "approve")
    setattr(auth_server.settings, setting, (200, "application/json", DEEP))
    r = cli(*argv)
    assert r.code == code and said in r.err, r.err
    assert "Traceback" not in r.err and "RecursionError" not in r.err
    with vault.open_vault(home) as v:
        signed_in = v.credentials()
    if code:
        assert signed_in == []  # a failed sign-in stores nothing
    else:
        assert [(c.name, c.account) for c in signed_in] == [("acme", None)]


def test_nested_json_from_the_revocation_endpoint_keeps_the_tokens(
    seeded: CliRunner, home: Path, auth_server: AuthServer
) -> None:
    before = stored(home, "acme")
    auth_server.settings.revocation_response_override = (400, "application/json", DEEP)
    r = seeded("revoke", "acme", "--yes")
    assert r.code == 1 and "not confirmed" in r.err and "Traceback" not in r.err, r.err
    assert stored(home, "acme").access_token == before.access_token


def test_nested_json_in_a_503_is_a_transient_failure(seeded: CliRunner, home: Path, auth_server: AuthServer) -> None:
    auth_server.settings.token_response_override = (503, "application/json", DEEP)
    r = seeded("refresh", "stale")
    assert r.code == 1 and "acme: http_503" in one_line(r)
    assert stored(home, "stale").stored_status == "active"


class Hostile(BaseHTTPRequestHandler):
    """Answers every request, GET or POST, with deeply nested JSON."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(DEEP)))
        self.end_headers()
        self.wfile.write(DEEP)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def hostile() -> Iterator[str]:
    with serving(Hostile) as url:
        yield url


def test_nested_json_from_discovery_is_refused_and_nothing_stored(cli: CliRunner, home: Path, hostile: str) -> None:
    assert cli("init").code == 0
    r = cli("provider", "add", "evil", "--issuer", hostile, "--client-id", "x")
    assert r.code == 1 and "bad_response" in one_line(r)
    with vault.open_vault(home) as v:
        assert [c.provider for c in v.records.clients()] == []


def test_nested_json_from_an_mcp_server_is_refused_and_nothing_stored(cli: CliRunner, home: Path, hostile: str) -> None:
    assert cli("init").code == 0
    r = cli("login", "--mcp", f"{hostile}/mcp", "--name", "evil")
    assert r.code in (1, 2) and "Traceback" not in r.err, r.err
    one_line(r)
    with vault.open_vault(home) as v:
        assert v.credentials() == [] and v.records.clients() == []


def test_nested_json_from_client_registration_is_bad_response(hostile: str) -> None:
    from vault.oauth.mcp import register_client

    with pytest.raises(ProviderError) as caught:
        register_client(f"{hostile}/register", [], name="evil")
    assert caught.value.code == "bad_response"


def test_nested_json_in_an_id_token_and_an_mcp_answer_is_no_claims_and_no_error() -> None:
    import base64

    from vault.bridges.mcp_bridge import _is_jsonrpc_error
    from vault.oauth.identity import id_token_claims

    payload = base64.urlsafe_b64encode(DEEP).decode().rstrip("=")
    assert id_token_claims(f"e30.{payload}.sig") == {}
    assert _is_jsonrpc_error(DEEP) is False


# ----------------------------------------------------------------- the decoders


def test_the_decoder_refuses_past_the_limit_and_reads_up_to_it() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(at_limit) == json.loads(at_limit)
    for deep in (DEEP, DEEP_OBJECT, JUST_DEEP, "[" * (MAX_DEPTH + 1)):
        with pytest.raises(TooDeep):
            load_json(deep)
    # brackets inside strings are text, not nesting
    assert load_json(json.dumps({"s": "[" * 10_000})) == {"s": "[" * 10_000}
    with pytest.raises(Unparsable, match="line 1, column 2"):
        load_json("{x")
    with pytest.raises(TooDeep):
        check_depth(json.loads(JUST_DEEP))


def test_yaml_nested_or_with_aliases_is_refused_before_it_is_loaded() -> None:
    assert load_yaml("github.com:\n  user: a\n") == {"github.com": {"user": "a"}}
    with pytest.raises(TooDeep):
        load_yaml("[" * 10_000 + "]" * 10_000)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    with pytest.raises(Unparsable, match="aliases"):
        load_yaml(bomb)


# ------------------------------------------------------------------ input files


def _device(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"input-{kind}"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)
    return path


@pytest.fixture
def ready(cli: CliRunner, home: Path) -> CliRunner:
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_kept\n").code == 0
    return cli


INPUT_COMMANDS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "import-dotenv": lambda f: ("import", "dotenv", f, "--yes"),
    "import-netrc": lambda f: ("import", "netrc", f, "--yes"),
    "import-gh": lambda f: ("import", "gh", "--file", f, "--yes"),
    "import-token-storage": lambda f: ("import", "token-storage", f, "--yes"),
    "restore": lambda f: ("restore", f, "--yes"),
    "export-target": lambda f: ("export", "dotenv", "--name", "gh", "--var", "GH", "--file", f, "--plaintext"),
}


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
@pytest.mark.parametrize("command", list(INPUT_COMMANDS))
def test_a_device_or_fifo_as_an_input_file_is_one_line_and_changes_nothing(
    ready: CliRunner, home: Path, tmp_path: Path, kind: str, command: str
) -> None:
    path = _device(kind, tmp_path)
    before = ready("list", "--json").out
    db = (home / "vault.db").read_bytes()
    r = within(60, lambda: ready(*INPUT_COMMANDS[command](str(path))))
    assert r.code == 2, r.err
    line = one_line(r)
    assert str(path) in line and ("not a regular file" in line or "symbolic link" in line), line
    assert ready("list", "--json").out == before and (home / "vault.db").read_bytes() == db


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_a_device_or_fifo_as_the_passphrase_file_is_refused(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", "pass phrase")
    assert cli("init", "--passphrase").code == 0
    monkeypatch.delenv("TOKENDECK_PASSPHRASE")
    path = _device(kind, tmp_path)
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_FILE", str(path))
    r = within(60, lambda: cli("list"))
    assert r.code == 3
    line = one_line(r)
    assert "TOKENDECK_PASSPHRASE_FILE" in line and str(path) in line and "TOKENDECK_PASSPHRASE_COMMAND" in line


def test_the_tui_settings_file_is_read_only_if_regular(home: Path, tmp_path: Path) -> None:
    from screens.logic.settings import load_settings
    from vault.core.paths import VaultPaths

    home.mkdir()
    (home / "tui.toml").symlink_to("/dev/zero")
    with pytest.raises(vault.InvalidInput, match="not a regular file"):
        load_settings(VaultPaths(home))
    (home / "tui.toml").unlink()
    os.mkfifo(home / "tui.toml")
    with pytest.raises(vault.InvalidInput, match="named pipe"):
        load_settings(VaultPaths(home))


def test_a_file_over_the_limit_is_refused_by_what_is_read(ready: CliRunner, tmp_path: Path) -> None:
    big = tmp_path / "big.env"
    big.write_bytes(b"A_TOKEN=x\n" + b"#" * (1 << 20))
    r = ready("import", "dotenv", str(big), "--yes")
    assert r.code == 2 and "over the limit of 1 MiB" in one_line(r)


def test_nested_yaml_and_toml_in_imported_and_merged_files(ready: CliRunner, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.yml"
    hosts.write_text("github.com: " + "[" * 10_000 + "]" * 10_000 + "\n")
    r = ready("import", "gh", "--file", str(hosts), "--yes")
    assert r.code == 2 and "nested too deeply" in one_line(r)
    codex = tmp_path / "config.toml"
    codex.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    before = codex.read_bytes()
    r = ready("export", "codex", "--name", "gh", "--var", "GH", "--server", "gh", "--file", str(codex))
    assert r.code == 2 and "nested too deeply" in one_line(r)
    assert codex.read_bytes() == before


# -------------------------------------------------------------------- zip bombs


def _bomb(good: Path, bomb: Path, size: int) -> None:
    """``good``'s manifest, and a ``vault.db`` of ``size`` zero bytes deflated to almost nothing."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr(backup_file.MANIFEST, src.read(backup_file.MANIFEST))
        with out.open(backup_file.DATABASE, "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)


def test_a_zip_bomb_backup_is_refused_before_anything_is_written(ready: CliRunner, home: Path, tmp_path: Path) -> None:
    good, bomb = tmp_path / "good.zip", tmp_path / "bomb.zip"
    assert ready("backup", str(good)).code == 0
    _bomb(good, bomb, backup_file.DATABASE_LIMIT + (1 << 20))
    assert bomb.stat().st_size < 1 << 20
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    r = ready("restore", str(bomb), "--yes")
    assert r.code == 2
    line = one_line(r)
    assert str(bomb) in line and "over the limit of 256 MiB" in line, line
    assert {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()} == before
    assert not list(home.glob("before-restore-*"))


def test_a_member_longer_than_it_declares_is_cut_at_the_declared_size(tmp_path: Path) -> None:
    """The central directory says 1,000 bytes; the data inflates to 4 MiB: no more than 1,000
    bytes are copied, then the archive is found damaged."""
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("vault.db", bytes(4 << 20))
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("vault.db")
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (1000).to_bytes(4, "little")  # uncompressed size
    data[info.header_offset + 22 : info.header_offset + 26] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    copied = io.BytesIO()
    with zipfile.ZipFile(archive) as z, pytest.raises((zipfile.BadZipFile, Unparsable)):
        copy_member(z, "vault.db", copied, 1 << 30)
    assert len(copied.getvalue()) <= 1000
