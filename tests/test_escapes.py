"""Nothing from outside reaches a terminal or the audit log raw (issue 30): a token an HTTP
field could not carry is refused where it comes in (from a provider, pasted, imported), with
the provider's name and never the value; control characters in anything shown (a server's
error, an imported name, an account, the audit log) come out escaped; a server that echoes a
secret of the vault in its error has it masked before it is printed or stored."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner, Result
from tests.support.seeded import seed
from vault.core.secret import Secret
from vault.errors import ProviderError, printable

ESC = "\x1b"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
"""An OSC 52 clipboard write: printed raw, a terminal puts ``echo pwned`` on the clipboard."""
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
"""Characters a terminal acts on (ESC, BEL, the 8-bit CSI) or that reorder text (RLO)."""


def raw_free(*texts: str) -> bool:
    return not any(ch in text for text in texts for ch in RAW)


def one_line(r: Result) -> str:
    assert "Traceback" not in r.err, r.err
    lines = [line for line in r.err.splitlines() if line.startswith("tokendeck:")]
    assert len(lines) == 1, r.err
    return lines[0]


@pytest.fixture
def seeded(cli: CliRunner, home: Path, auth_server: AuthServer) -> CliRunner:
    """A keyring vault with ``stale`` (expired: ``token`` refreshes it) at ``acme``, which has a client secret."""
    assert cli("init").code == 0
    with vault.open_vault(home) as v:
        c = seed(v, auth_server, "stale")
        v.records.save(dataclasses.replace(c, expires_at=time.time() - 5))
        v.records.set_client(
            dataclasses.replace(v.records.get_client("acme"), client_secret=Secret("client-secret-0123456789"))
        )
    return cli


def stored(home: Path, name: str = "stale") -> vault.Credential:
    with vault.open_vault(home) as v:
        return v.get(name)


def answer(status: int, body: dict[str, object]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()


# ------------------------------------------------- junk tokens from a provider

GOOD = {"access_token": "at-0123456789abcdef", "token_type": "Bearer", "expires_in": 3600}


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"access_token": "at-" + OSC52}, "access_token in the token response is unusable"),
        ({"access_token": "two words"}, "access_token in the token response is unusable"),
        ({"access_token": "tök-ü"}, "other than visible ASCII"),
        ({"refresh_token": "rt\r\nSet-Cookie: x"}, "refresh_token in the token response is unusable"),
        ({"id_token": "a.b c.d"}, "id_token in the token response is unusable"),
        ({"token_type": "Bearer\r\nX-Evil: 1"}, "token_type is not a scheme name"),
        ({"expires_in": True}, "expires_in is not a number"),
        ({"expires_in": [3600]}, "expires_in is not a number"),
        ({"scope": ["read", {"x": 1}]}, "scope list holds something other than text"),
        ({"scope": "read\x1b[2J"}, "scope holds a line break or control character"),
    ],
    ids=[
        "osc52-access-token",
        "space-in-token",
        "non-ascii-token",
        "crlf-refresh-token",
        "space-in-id-token",
        "crlf-token-type",
        "expires-in-true",
        "expires-in-list",
        "scope-not-text",
        "escape-in-scope",
    ],
)
def test_junk_from_the_token_endpoint_is_bad_response_and_nothing_is_stored(
    seeded: CliRunner, home: Path, auth_server: AuthServer, changes: dict[str, object], said: str
) -> None:
    before = stored(home)
    auth_server.settings.token_response_override = answer(200, {**GOOD, **changes})
    r = seeded("token", "stale")
    assert r.code == 1 and r.out == ""
    line = one_line(r)
    assert "acme: bad_response" in line and said in line and raw_free(r.err), line
    for value in changes.values():  # the value is never quoted
        assert not isinstance(value, str) or value not in r.err
    after = stored(home)
    assert (after.access_token, after.refresh_token, after.token_type, after.expires_at) == (
        before.access_token,
        before.refresh_token,
        before.token_type,
        before.expires_at,
    )
    audit = seeded("audit").out
    assert raw_free(audit) and "bad_response" in audit


def test_a_good_answer_still_refreshes(seeded: CliRunner, home: Path, auth_server: AuthServer) -> None:
    auth_server.settings.token_response_override = answer(200, {**GOOD, "expires_in": "3600", "token_type": "DPoP"})
    r = seeded("token", "stale")
    assert (r.code, r.out) == (0, "at-0123456789abcdef\n")
    assert stored(home).token_type == "DPoP"


# ------------------------------------------------ a server's words, escaped and masked


def test_escape_codes_in_a_provider_error_are_escaped_everywhere(
    seeded: CliRunner, home: Path, auth_server: AuthServer
) -> None:
    auth_server.settings.token_response_override = answer(
        400, {"error": f"invalid_request{OSC52}", "error_description": f"no{ESC}[2J\u202eway\x9b31m"}
    )
    r = seeded("token", "stale")
    assert r.code == 1 and raw_free(r.err)
    assert "invalid_request\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in one_line(r)  # shown, escaped
    facts = seeded("show", "stale", "--json").out
    for text in (seeded("audit").out, seeded("audit", "--json").out, facts, seeded("list").out):
        assert raw_free(text), text
    assert "\\x1b]52" in json.loads(facts)["last_error"]


@pytest.mark.parametrize("which", ["refresh_token", "access_token", "client_secret"])
def test_a_secret_a_server_echoes_is_masked_before_it_is_printed_or_stored(
    seeded: CliRunner, home: Path, auth_server: AuthServer, which: str
) -> None:
    credential = stored(home)
    secrets = {
        "refresh_token": credential.refresh_token.reveal(),  # type: ignore[union-attr]
        "access_token": credential.access_token.reveal(),  # type: ignore[union-attr]
        "client_secret": "client-secret-0123456789",
    }
    echoed = secrets[which]
    said = f"the {which} {echoed} is not valid for this client"
    auth_server.settings.token_response_override = answer(400, {"error": "invalid_request", "error_description": said})
    r = seeded("token", "stale")
    assert r.code == 1 and "invalid_request" in one_line(r)
    shown = [
        seeded("audit").out,
        seeded("audit", "--json").out,
        seeded("show", "stale", "--json").out,
        stored(home).last_error or "",
    ]
    assert "***" in shown[0] and "***" in (stored(home).last_error or "")
    for text in shown:
        assert echoed not in text, which
    assert echoed not in r.err and "***" in r.err  # the message too, the access token included
    assert stored(home).refresh_token == credential.refresh_token  # nothing else changed


def test_provider_errors_mask_what_was_sent_before_shortening() -> None:
    """Masked first: a description cut at 200 characters never keeps the start of a secret."""
    secret = "rt-" + "s" * 40
    error = ProviderError("acme", "invalid_grant", "x" * 190 + secret, secrets=[secret])
    assert "rt-" not in error.message and "s" * 8 not in error.message
    assert printable(f"a{OSC52}b\tc\u202ed") == "a\\x1b]52;c;ZWNobyBwd25lZA==\\x07b\\tc\\u202ed"


# ------------------------------------------------------- pasted and imported input


def test_a_pasted_token_with_escape_codes_or_non_ascii_is_refused(cli: CliRunner, home: Path) -> None:
    assert cli("init").code == 0
    for token, said in ((f"ghp_{OSC52}", "control characters"), ("ghp_tökén", "visible ASCII")):
        r = cli("add", "gh", "--provider", "github-pat", stdin=token + "\n")
        assert r.code == 2 and said in one_line(r) and raw_free(r.err) and "ghp_" not in r.err
    with vault.open_vault(home) as v:
        assert v.credentials() == []


def test_escape_codes_in_an_imported_file_are_escaped_in_the_plan_and_not_stored(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    assert cli("init").code == 0
    netrc = tmp_path / "netrc"
    netrc.write_text(
        f"machine api.example.com login alice{ESC}[31m password tok-0123456789\n"
        f"machine evil{ESC}]52;c;eA==\x07.example login bob password tok-{OSC52}\n"
        "machine ok.example login carol password tok-9876543210\n"
    )
    r = cli("import", "netrc", str(netrc), "--yes")
    assert r.code == 0 and raw_free(r.err), r.err
    assert "machine evil\\x1b]52;c;eA==\\x07.example" in r.err  # shown escaped, and why it is skipped
    assert "the account must be 1-200 printable characters" in r.err
    with vault.open_vault(home) as v:
        assert {c.name: c.account for c in v.credentials()} == {"ok-example": "carol"}
    assert raw_free(cli("audit").out, cli("list").out)


def test_a_path_with_escape_codes_is_escaped_in_the_message(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("init").code == 0
    r = cli("import", "dotenv", str(tmp_path / f"no{OSC52}such.env"))
    assert r.code == 5 and raw_free(r.err) and "\\x1b]52" in one_line(r)


def test_what_an_older_tokendeck_stored_raw_is_shown_escaped(cli: CliRunner, home: Path) -> None:
    """An account and an audit line written raw before this rule (or by hand) come out escaped
    in every listing, and the stored token that is no token is not handed out."""
    assert cli("init").code == 0
    assert cli("add", "gh", "--provider", "github-pat", stdin="ghp_good_token\n").code == 0
    with vault.open_vault(home) as v, v.records._store.transaction() as conn:  # noqa: SLF001 - as an older version wrote it
        conn.execute("UPDATE credentials SET account = ?, access_token = ?", (f"al{OSC52}ice", f"ghp_{OSC52}"))
        conn.execute("UPDATE audit SET detail = ?", (f"detail{ESC}[2J\u202e",))
    outputs = [cli(*argv) for argv in (("list",), ("list", "--json"), ("show", "gh"), ("show", "gh", "--json"))]
    outputs += [cli("audit"), cli("audit", "--json")]
    for r in outputs:
        assert r.code == 0 and raw_free(r.out, r.err), r.out
    assert "al\\x1b]52" in outputs[0].out
    token = cli("token", "gh")
    assert token.code == 4 and token.out == "" and raw_free(token.err)


def test_a_device_user_code_with_escape_codes_is_bad_response(
    cli: CliRunner, auth_server: AuthServer, home: Path
) -> None:
    auth_server.register_client("escapes-client")
    assert cli("init").code == 0
    assert cli("provider", "add", "acme", "--issuer", auth_server.issuer, "--client-id", "escapes-client").code == 0
    body = {
        "device_code": "dc-0123456789",
        "user_code": f"ABCD{OSC52}",
        "verification_uri": auth_server.url("/device"),
        "expires_in": 600,
        "interval": 1,
    }
    auth_server.settings.device_authorization_response_override = answer(200, body)
    r = cli("login", "acme", "--device")
    assert r.code == 1 and "bad_response" in one_line(r) and raw_free(r.err, r.out)


def test_the_tuis_facts_and_cells_are_escaped_too() -> None:
    """The TUI draws what the terminal would get: its facts, list cells and audit rows use the same rule."""
    from screens.logic.facts import fact_values
    from screens.widgets.credential_table import plain
    from vault.core.model import Credential

    credential = Credential(
        name="gh",
        provider="github-pat",
        kind="static",
        access_token=Secret("ghp_good_token"),
        account=f"al{OSC52}ice",
        last_error=f"said{ESC}[2J",
        extras={f"k{ESC}": f"v\u202e{ESC}"},
    )
    facts = fact_values(credential, 0.0)
    assert raw_free(*facts.values()) and "al\\x1b]52" in facts["account"]
    assert raw_free(plain(credential.account).plain)


def test_a_huge_last_error_with_control_characters_is_shown_cut_and_escaped() -> None:
    """Issue 34: a failure message of 10,000 characters (an error page an older tokendeck, or
    another tool, stored whole) is one bounded line in the detail and the side panel, escaped."""
    from screens.logic.facts import fact_values
    from vault.core.model import Credential
    from vault.errors import CLIP_LIMIT, clipped

    huge = f"{OSC52}line one\nline two{ESC}[2J" + "x" * 10_000 + "THE END"
    credential = Credential(name="gh", provider="acme", kind="static", access_token=Secret("t"), last_error=huge)
    fact = fact_values(credential, 0.0)["last_error"]
    assert raw_free(fact) and "\n" not in fact  # one line: the break is written as \\n
    assert fact.startswith("\\x1b]52;c;") and "line one\\nline two\\x1b[2J" in fact
    assert len(fact) == CLIP_LIMIT and fact.endswith("…") and "THE END" not in fact
    assert clipped("short and clean") == "short and clean"


def test_an_error_from_an_agent_that_will_not_decode_keeps_its_message() -> None:
    from vault.errors import from_fields

    error = from_fields([f"bad{ESC}", "ProviderError", "t", "[" * 100_000 + "]" * 100_000])
    assert isinstance(error, ProviderError) and error.message == "bad\\x1b"
