"""The ``tokendeck`` command line, in-process: outputs, exit codes, and what each
bad input leaves in the vault (nothing new, nothing lost)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vault
from tests.support.cli import CliRunner
from tests.support.memory_keyring import MemoryKeyring
from vault.core.keys import Key
from vault.core.store import Store

PASS = "correct horse battery staple"


@pytest.fixture
def ready(cli: CliRunner, passphrase_env: str) -> CliRunner:
    """A passphrase vault holding one GitHub PAT called ``gh``."""
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", "--account", "alice", stdin="ghp_one\n").code == 0
    return cli


def stored(home: Path) -> dict[str, str]:
    """Name -> token of everything in the vault, read through the library."""
    with vault.open_vault(home, PASS) as v:
        return {c.name: c.access_token.reveal() for c in v.credentials() if c.access_token}


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------- init


def test_init_prefers_the_keyring(cli: CliRunner, home: Path, memory_keyring: MemoryKeyring) -> None:
    r = cli("init")
    assert r.code == 0
    meta = json.loads((home / "vault.json").read_text())
    assert meta["mode"] == "keyring"
    key = memory_keyring.entries[("tokendeck", meta["keyring_user"])]
    assert len(bytes.fromhex(key)) == 32
    assert cli("list").code == 0  # no passphrase needed


def test_init_without_keyring_asks_for_a_passphrase(cli: CliRunner, home: Path, no_keyring: None) -> None:
    r = cli("init", tty=True, answers=[PASS, PASS])
    assert r.code == 0
    assert "no usable OS keyring" in r.err and "passphrase instead" in r.err
    assert json.loads((home / "vault.json").read_text())["mode"] == "passphrase"
    assert vault.open_vault(home, PASS).credentials() == []


def test_init_without_keyring_or_terminal_refuses(cli: CliRunner, home: Path, no_keyring: None) -> None:
    r = cli("init")
    assert r.code == 2
    assert "passphrase is needed" in one_line(r.err.split("\n", 1)[1])
    assert not (home / "vault.db").exists()


def test_init_reads_a_piped_passphrase_and_warns_when_it_is_short(
    cli: CliRunner, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_keyring: None
) -> None:
    r = cli("init", "--passphrase", stdin="tiny-pw\n")
    assert r.code == 0 and "shorter than 12 characters" in r.err and "tiny-pw" not in r.err
    assert vault.open_vault(home, "tiny-pw").credentials() == []
    monkeypatch.setenv("TOKENDECK_HOME", str(tmp_path / "second"))
    r = cli("init", stdin=PASS + "\n")  # no keyring here: a passphrase vault, from the pipe
    assert r.code == 0 and "shorter" not in r.err
    assert vault.open_vault(tmp_path / "second", PASS).credentials() == []


def test_init_keyring_required_but_missing_creates_nothing(cli: CliRunner, home: Path, no_keyring: None) -> None:
    r = cli("init", "--keyring")
    assert r.code == 1
    assert "no usable OS keyring" in one_line(r.err)
    assert not (home / "vault.db").exists() and not (home / "vault.json").exists()


def test_init_with_mismatched_passphrases_creates_nothing(cli: CliRunner, home: Path) -> None:
    r = cli("init", "--passphrase", tty=True, answers=[PASS, PASS + "x"])
    assert r.code == 2
    assert "do not match" in one_line(r.err)
    assert not (home / "vault.db").exists()


def test_init_twice_keeps_the_first_vault(ready: CliRunner, home: Path) -> None:
    before = (home / "vault.db").read_bytes()
    r = ready("init")
    assert r.code == 1
    assert "already exists" in one_line(r.err)
    assert (home / "vault.db").read_bytes() == before
    assert stored(home) == {"gh": "ghp_one"}


# ----------------------------------------------------------------------- add


def test_add_from_a_hidden_prompt(cli: CliRunner, home: Path, passphrase_env: str) -> None:
    cli("init")
    r = cli("add", "pat", "--provider", "github-pat", tty=True, answers=["  ghp_typed  "])
    assert r.code == 0
    assert stored(home) == {"pat": "ghp_typed"}
    assert "ghp_typed" not in r.out + r.err


def test_add_records_account_expiry_and_server(ready: CliRunner) -> None:
    r = ready(
        "add", "jira", "--provider", "jira-dc", "--account", "bob", "--expires", "2030-01-31",
        "--server-url", "https://jira.example.com", "--username", "bob",
        stdin="NjQ2OTk5\n",
    )  # fmt: skip
    assert r.code == 0
    facts = json.loads(ready("show", "jira", "--json").out)
    assert facts["expires_at"] == "2030-01-31T00:00:00Z"
    assert facts["extras"] == {"server_url": "https://jira.example.com", "username": "bob"}
    assert facts["account"] == "bob" and facts["kind"] == "static"


def test_duplicate_name_is_refused_before_reading_the_secret(ready: CliRunner, home: Path) -> None:
    r = ready("add", "gh", "--provider", "github-pat", stdin="ghp_two\n")
    assert r.code == 1
    assert "already exists" in one_line(r.err)
    assert stored(home) == {"gh": "ghp_one"}


def test_replace_rotates_the_token(ready: CliRunner, home: Path) -> None:
    created = json.loads(ready("show", "gh", "--json").out)["created_at"]
    assert ready("add", "gh", "--provider", "github-pat", "--replace", stdin="ghp_two\n").code == 0
    assert stored(home) == {"gh": "ghp_two"}
    assert json.loads(ready("show", "gh", "--json").out)["created_at"] == created


@pytest.mark.parametrize(
    ("name", "stdin", "message"),
    [
        ("has space", "s3cret", "invalid name"),
        ("tab\there", "s3cret", "invalid name"),
        ("bell\x07", "s3cret", "invalid name"),
        ("x" * 101, "s3cret", "invalid name"),
        ("ok", "", "empty"),
        ("ok", "two words", "whitespace"),
        ("ok", "line1\nline2", "whitespace"),
        ("ok", b"\xff\xfe\x00bad", "not UTF-8"),
        ("ok", "A" * (1024 * 1024), "limit of 65536 bytes"),
    ],
    ids=["space", "tab", "control", "too-long", "empty", "inner-space", "multi-line", "non-utf8", "1MiB"],
)
def test_bad_input_is_refused_and_the_vault_is_unchanged(
    ready: CliRunner, home: Path, name: str, stdin: str | bytes, message: str
) -> None:
    r = ready("add", name, "--provider", "api-key", stdin=stdin)
    assert r.code == 2
    assert message in one_line(r.err)
    assert stored(home) == {"gh": "ghp_one"}
    if isinstance(stdin, str) and stdin:
        assert stdin not in r.err


@pytest.mark.parametrize(
    ("when", "code"), [("2001-01-01", 2), ("yesterday", 2), ("0d", 2), ("2026-13-40", 2), ("90d", 0)]
)
def test_expiry_parsing(ready: CliRunner, home: Path, when: str, code: int) -> None:
    r = ready("add", "k", "--provider", "api-key", "--expires", when, stdin="tok123")
    assert r.code == code, r.err
    assert ("k" in stored(home)) == (code == 0)


def test_a_big_but_plausible_token_round_trips(ready: CliRunner) -> None:
    jwt = "eyJ" + "a" * 60000
    assert ready("add", "big", "--provider", "api-key", stdin=jwt).code == 0
    assert ready("token", "big").out == jwt + "\n"


# ------------------------------------------------------------ list/show/token


def test_token_prints_the_secret_and_nothing_else(ready: CliRunner) -> None:
    r = ready("token", "gh")
    assert (r.code, r.out, r.err) == (0, "ghp_one\n", "")


def test_unknown_name_is_exit_5(ready: CliRunner) -> None:
    for argv in (["token", "nope"], ["show", "nope"], ["rm", "nope", "--yes"], ["rename", "nope", "x"]):
        r = ready(*argv)
        assert r.code == 5, argv
        assert "no credential named 'nope'" in one_line(r.err)


def test_expired_token_is_exit_4_and_kept(ready: CliRunner, home: Path) -> None:
    with vault.open_vault(home, PASS) as v:
        v.records.add_static("old", provider="api-key", token="old-token", expires_at=v.clock.now() + 60)
    with (
        vault.open_vault(home, PASS, clock=vault.FrozenClock(9_999_999_999)) as v,
        pytest.raises(vault.NeedsSignIn, match="expired"),
    ):
        v.token("old")
    assert stored(home)["old"] == "old-token"


def test_list_human_and_json(ready: CliRunner) -> None:
    r = ready("list")
    assert r.code == 0
    header, row = r.out.splitlines()
    assert header.split() == ["NAME", "PROVIDER", "ACCOUNT", "STATUS", "EXPIRES"]
    assert row.split()[:4] == ["gh", "github-pat", "alice", "active"]
    data = json.loads(ready("list", "--json").out)
    assert [(c["name"], c["status"], c["has_refresh_token"]) for c in data] == [("gh", "active", False)]
    assert "ghp_one" not in r.out + json.dumps(data)


def test_list_on_a_terminal_says_time_left(ready: CliRunner) -> None:
    ready("add", "soon", "--provider", "api-key", "--expires", "2h", stdin="tok")
    out = ready("list", stdout_tty=True).out
    assert "in 1h 59m" in out or "in 2h" in out
    assert "no expiry" in out


def test_show_never_shows_the_token(ready: CliRunner) -> None:
    human = ready("show", "gh")
    assert human.code == 0 and "provider: github-pat" in human.out
    assert "ghp_one" not in human.out + ready("show", "gh", "--json").out


def test_show_on_a_terminal_gives_each_time_and_how_far_it_is(ready: CliRunner) -> None:
    import re

    ready("add", "soon", "--provider", "api-key", "--expires", "2h", stdin="tok")
    human = ready("show", "soon", stdout_tty=True).out
    expires = re.search(r"^expires at: (\S+) \((.*)\)$", human, re.M)
    assert expires is not None and expires[1].endswith("Z") and expires[2] in ("in 2h", "in 1h 59m")
    assert re.search(r"^created at: \S+Z \((just now|\d+s ago)\)$", human, re.M), human
    piped = ready("show", "soon").out  # a program: ISO 8601 alone
    assert re.search(r"^expires at: \d{4}-\d\d-\d\dT[\d:]+Z$", piped, re.M), piped


def test_empty_vault_list(cli: CliRunner) -> None:
    cli("init")
    r = cli("list")
    assert (r.code, r.out) == (0, "")
    assert "no credentials yet" in r.err


# ------------------------------------------------------------------ rm/rename


def test_rm_needs_confirmation_when_piped(ready: CliRunner, home: Path) -> None:
    r = ready("rm", "gh")
    assert r.code == 2 and "--yes" in one_line(r.err)
    assert stored(home) == {"gh": "ghp_one"}


def test_rm_asks_on_a_terminal(ready: CliRunner, home: Path) -> None:
    assert ready("rm", "gh", tty=True, answers=["n"]).code == 1
    assert stored(home) == {"gh": "ghp_one"}
    assert ready("rm", "gh", tty=True, answers=["y"]).code == 0
    assert stored(home) == {}


def test_rename(ready: CliRunner, home: Path) -> None:
    ready("add", "other", "--provider", "api-key", stdin="tok2")
    assert ready("rename", "gh", "other").code == 1  # taken
    assert ready("rename", "gh", "bad name").code == 2
    assert stored(home) == {"gh": "ghp_one", "other": "tok2"}
    assert ready("rename", "gh", "github").code == 0
    assert stored(home) == {"github": "ghp_one", "other": "tok2"}


# ----------------------------------------------------------------- unlocking


def test_wrong_passphrase_is_exit_3_and_one_line(ready: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (home / "vault.db").read_bytes()
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", "nope")
    for argv in (["list"], ["token", "gh"], ["add", "x", "--provider", "p"]):
        r = ready(*argv, stdin="tok")
        assert r.code == 3
        assert one_line(r.err) == "tokendeck: wrong passphrase"
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", "")
    assert "empty passphrase" in one_line(ready("list").err)
    assert (home / "vault.db").read_bytes() == before


def test_locked_without_any_source(ready: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENDECK_PASSPHRASE")
    r = ready("list")
    assert r.code == 3
    assert "TOKENDECK_PASSPHRASE_FILE" in one_line(r.err)
    assert ready("list", tty=True, answers=[PASS]).code == 0  # the prompt is the last resort


def test_unlock_order_command_then_file_then_variable(
    ready: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "pass.txt"
    file.write_text(PASS + "\n")
    monkeypatch.setenv("TOKENDECK_PASSPHRASE", "wrong")
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_FILE", str(file))
    assert ready("token", "gh").code == 0  # the file beats the variable
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_COMMAND", "printf '%s\\n' 'wrong again'")
    assert ready("token", "gh").code == 3  # the command beats the file
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_COMMAND", f"cat {file}")
    assert ready("token", "gh").out == "ghp_one\n"
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_COMMAND", "false")
    r = ready("token", "gh")
    assert r.code == 3 and "failed with exit code 1" in one_line(r.err)
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_COMMAND", "/no/such/program")
    assert ready("token", "gh").code == 3
    monkeypatch.delenv("TOKENDECK_PASSPHRASE_COMMAND")
    monkeypatch.setenv("TOKENDECK_PASSPHRASE_FILE", str(tmp_path / "missing"))
    r = ready("token", "gh")
    assert r.code == 3 and "cannot read TOKENDECK_PASSPHRASE_FILE" in one_line(r.err)


def test_no_vault_is_exit_5(cli: CliRunner) -> None:
    r = cli("list")
    assert r.code == 5 and "tokendeck init" in one_line(r.err)


# ---------------------------------------------------------------- passphrase


def test_passphrase_change_from_the_environment(ready: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENDECK_NEW_PASSPHRASE", "the new one")
    assert ready("passphrase", "change").code == 0
    with pytest.raises(vault.WrongPassphrase):
        vault.open_vault(home, PASS)
    assert vault.open_vault(home, "the new one").token("gh") == "ghp_one"


def test_passphrase_change_mismatch_changes_nothing(ready: CliRunner, home: Path) -> None:
    r = ready("passphrase", "change", tty=True, answers=["new one", "new two"])
    assert r.code == 2 and "do not match" in one_line(r.err)
    assert stored(home) == {"gh": "ghp_one"}


def test_passphrase_change_from_stdin(ready: CliRunner, home: Path) -> None:
    assert ready("passphrase", "change", stdin="piped passphrase\n").code == 0
    assert vault.open_vault(home, "piped passphrase").token("gh") == "ghp_one"


def test_keyring_and_back(
    ready: CliRunner, home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ready("passphrase", "change", "--keyring").code == 0
    meta = json.loads((home / "vault.json").read_text())
    assert meta["mode"] == "keyring" and list(memory_keyring.entries) == [("tokendeck", meta["keyring_user"])]
    monkeypatch.delenv("TOKENDECK_PASSPHRASE")
    assert ready("token", "gh").out == "ghp_one\n"
    salt = (home / "vault.db").read_bytes()[:16]
    assert Store.probe(home / "vault.db", Key.passphrase(PASS).database_key(salt, 2)) == "undecryptable"  # gone
    assert ready("passphrase", "change", "--keyring").code == 0  # rotate the key
    rotated = json.loads((home / "vault.json").read_text())["keyring_user"]
    assert list(memory_keyring.entries) == [("tokendeck", rotated)] and rotated != meta["keyring_user"]
    monkeypatch.setenv("TOKENDECK_NEW_PASSPHRASE", "back to a passphrase")
    assert ready("passphrase", "change").code == 0
    assert memory_keyring.entries == {}
    assert vault.open_vault(home, "back to a passphrase").token("gh") == "ghp_one"


def test_keyring_move_without_a_keyring_changes_nothing(ready: CliRunner, home: Path, no_keyring: None) -> None:
    before = (home / "vault.db").read_bytes()
    r = ready("passphrase", "change", "--keyring")
    assert r.code == 1 and "not changed" in one_line(r.err)
    assert json.loads((home / "vault.json").read_text())["mode"] == "passphrase"
    assert stored(home) == {"gh": "ghp_one"}
    assert (home / "vault.db").read_bytes() == before


# --------------------------------------------------------------------- audit


def test_audit_records_actions_without_secrets(ready: CliRunner) -> None:
    ready("add", "gh", "--provider", "github-pat", "--replace", stdin="ghp_two")
    ready("rename", "gh", "github")
    ready("rm", "github", "--yes")
    events = json.loads(ready("audit", "--json").out)
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("init", "ok"), ("add", "ok"), ("add", "replaced"), ("rename", "ok"), ("rm", "ok"),
    ]  # fmt: skip
    text = ready("audit").out
    assert "ghp_" not in text + json.dumps(events) and PASS not in text
    assert len(json.loads(ready("audit", "--json", "--limit", "2").out)) == 2
    history = [e["action"] for e in json.loads(ready("audit", "--json", "--name", "github").out)]
    assert history == ["add", "add", "rename", "rm"]  # the history followed the rename


def test_audit_on_a_terminal_has_a_header_and_piped_has_none(ready: CliRunner) -> None:
    shown = ready("audit", stdout_tty=True).out.splitlines()
    assert shown[0].split() == ["TIME", "CREDENTIAL", "ACTION", "OUTCOME", "DETAIL"]
    assert shown[0].index("ACTION") == shown[2].index("add")  # aligned under it
    piped = ready("audit").out.splitlines()
    assert len(piped) == len(shown) - 1 and piped[0].split()[2] == "init"


def test_help_documents_exit_codes(cli: CliRunner, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("--help")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "  3  locked" in out and "  5  not found" in out


def test_secret_flags_do_not_exist(cli: CliRunner) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("add", "x", "--provider", "p", "--token", "ghp_in_argv")
    assert exit_info.value.code == 2


def test_keyring_vault_whose_key_is_gone_is_locked(cli: CliRunner, home: Path, memory_keyring: MemoryKeyring) -> None:
    cli("init")
    cli("add", "gh", "--provider", "github-pat", stdin="ghp_one")
    key = dict(memory_keyring.entries)
    before = (home / "vault.db").read_bytes()
    memory_keyring.entries.clear()
    r = cli("token", "gh")
    assert r.code == 3 and "OS keyring has no key for this vault" in one_line(r.err)
    assert (home / "vault.db").read_bytes() == before
    memory_keyring.entries.update(key)
    assert cli("token", "gh").out == "ghp_one\n"


def test_keyring_vault_on_a_machine_without_keyring_is_locked(
    cli: CliRunner, home: Path, memory_keyring: MemoryKeyring
) -> None:
    cli("init")
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    r = cli("list")
    assert r.code == 3 and "no usable OS keyring" in one_line(r.err)


def test_bare_tokendeck_without_a_vault_or_terminal(cli: CliRunner, home: Path) -> None:
    r = cli()
    assert r.code == 5 and "tokendeck init" in one_line(r.err)
    assert not home.exists()


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_installed_version_and_touches_no_vault(home: Path, flag: str) -> None:
    import subprocess
    import sys
    from importlib.metadata import version

    script = Path(sys.executable).with_name("tokendeck")  # the console script pip installed
    done = subprocess.run([str(script), flag], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert (done.returncode, done.stdout, done.stderr) == (0, f"tokendeck {version('tokendeck')}\n", "")
    assert not home.exists()  # nothing opened or created


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["lsit"], "tokendeck: unknown command 'lsit'; did you mean list?"),
        (["export", "dotenvv", "--name", "gh"], "tokendeck export: unknown target 'dotenvv'; did you mean dotenv?"),
        (["list", "--jsn"], "tokendeck list: unknown option --jsn; did you mean --json?"),
        (["add", "x", "--provider", "api-key", "--json"], "tokendeck add: unknown option --json"),  # list's, not add's
        (["agent", "start", "--bogus"], "tokendeck agent start: unknown option --bogus"),
        (["--jsn"], "tokendeck: unknown option --jsn"),  # no command's option is suggested at the top
    ],
)
def test_a_misspelling_is_one_line_with_the_likely_meaning_and_a_hint(
    cli: CliRunner, capsys: pytest.CaptureFixture[str], home: Path, argv: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli(*argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [said, f"hint: {said.split(':')[0]} --help"]  # no usage block
    assert not home.exists()  # nothing opened or created


def test_a_value_that_starts_with_a_dash_is_explained_not_lost(
    cli: CliRunner, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    """OpenID servers issue client IDs such as ``-Xy3…`` (oidc-provider does, at random): argparse
    reads one after ``--client-id`` as an option; the message says the form that works, and that
    form stores the ID as given."""
    with pytest.raises(SystemExit) as exit_info:
        cli("provider", "add", "corp", "--issuer", "https://id.example", "--client-id", "-Xy3dash")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        "tokendeck provider add: --client-id needs a value (one that starts with '-' is given as --client-id=VALUE)"
    )
    assert not home.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["add", "gh", "ghp_TokenPastedByMistake0123456789", "--provider", "github-pat"],
        ["ghp_TokenPastedByMistake0123456789"],
        ["export", "ghp_TokenPastedByMistake0123456789"],
    ],
)
def test_a_token_given_on_argv_by_mistake_is_never_echoed(
    ready: CliRunner, capsys: pytest.CaptureFixture[str], home: Path, argv: list[str]
) -> None:
    before = (home / "vault.db").read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        ready(*argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "TokenPastedByMistake" not in captured.err + captured.out
    assert len(captured.err.splitlines()) == 2
    assert (home / "vault.db").read_bytes() == before  # the vault as it was


def test_help_lists_every_environment_variable_the_code_reads(
    cli: CliRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from vault import settings

    with pytest.raises(SystemExit):
        cli("--help")
    out = capsys.readouterr().out
    ours = {v for n, v in vars(settings).items() if n.endswith("_ENV") and str(v).startswith("TOKENDECK_")}
    listed = {name for name, _ in settings.ENVIRONMENT}
    tests_own = {
        settings.FAULT_ENV,
        settings.RUNTIME_DIR_OVERRIDE_ENV,
        settings.PROXY_RESOLVE_ENV,
        settings.PROXY_UPSTREAM_CA_ENV,
        settings.CONFIRM_TIMEOUT_ENV,
    }
    assert ours - listed == tests_own  # every one but the tests' own
    for name in listed:
        assert re.search(rf"^  {name} +\S", out, re.M), name


def test_every_command_argument_and_option_has_a_help_string() -> None:
    import argparse

    from vault.cli.parser import build_parser

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                described = {choice.dest: choice.help for choice in action._choices_actions}
                for name, sub in action.choices.items():
                    if not described.get(name):
                        missing.append(f"{path} {name}")
                    walk(sub, f"{path} {name}")
            elif not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "tokendeck")
    assert missing == []


@pytest.mark.parametrize(
    ("command", "listed"),
    [
        (
            "export",
            (
                "shell",
                "dotenv",
                "netrc",
                "claude-code",
                "claude-desktop",
                "cursor",
                "windsurf",
                "gemini",
                "vscode",
                "zed",
                "codex",
            ),
        ),  # fmt: skip
        ("git-credential", ("get", "store", "erase", "map", "unmap", "list")),
    ],
)
def test_help_lists_the_targets_and_actions(
    cli: CliRunner, capsys: pytest.CaptureFixture[str], command: str, listed: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit):
        cli(command, "--help")
    positional = capsys.readouterr().out.split("positional arguments:")[1].split("options:")[0]
    assert all(word in positional for word in listed)


def test_provider_list_and_show_need_no_vault(cli: CliRunner, home: Path) -> None:
    """The built-in catalog is static: no vault, no passphrase, nothing created."""
    listed = cli("provider", "list", "--json")
    assert listed.code == 0, listed.err
    rows = {row["name"]: row for row in json.loads(listed.out)}
    assert {"google", "github", "jira-dc"} <= set(rows) and not any(row["registered"] for row in rows.values())
    shown = cli("provider", "show", "github")
    assert shown.code == 0 and "GitHub" in shown.out
    assert cli("provider", "show", "nope").code == 5
    assert not home.exists()
