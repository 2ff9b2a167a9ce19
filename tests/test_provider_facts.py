"""Issue 20: every built-in provider works the first time.  One test per fact of
PROVIDERS.md Part E: the loopback Authlib server plays the provider's part with that quirk
on (a path-sensitive redirect match, a 400 for a second revoke, a token endpoint that
refuses unknown body fields, a token narrowed by an explicit scope, ...), and each test
asserts what tokendeck does and what is in the vault afterwards."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner, Result
from vault.core.model import ClientRegistration
from vault.core.providers import builtin, resolve

CLIENT_ID = "part-e-client"
SECRET = "part-e-secret"  # noqa: S105 - a test value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_line(r: Result) -> str:
    lines = [line for line in r.err.splitlines() if line.startswith("tokendeck:")]
    assert len(lines) == 1 and "Traceback" not in r.err, r.err
    return lines[0]


def register(cli: CliRunner, server: AuthServer, name: str, base: str, *extra: str, secret: str | None = None) -> None:
    """``provider add NAME --base BASE`` with every endpoint moved to the loopback server."""
    endpoints = {
        "--authorize-url": "/authorize", "--token-url": "/token", "--revoke-url": "/revoke",
        "--userinfo-url": "/userinfo", "--identity-url": "/userinfo",
    }  # fmt: skip
    if builtin(base).has_device_flow:
        endpoints["--device-url"] = "/device_authorization"
    argv = [arg for flag, path in endpoints.items() for arg in (flag, server.url(path))]
    with_secret = ["--with-secret"] if secret is not None else []
    r = cli("provider", "add", name, "--base", base, "--client-id", CLIENT_ID, *with_secret, *argv, *extra,
            stdin=(secret or "") + "\n")  # fmt: skip
    assert r.code == 0, r.err


def last_page(log: Path) -> str:
    from tests.support.fake_browser import read_log

    final = read_log(log)[-1]["final"]
    return str(final["text"] if final else "")


def stored(home: Path) -> dict[str, vault.Credential]:
    with vault.open_vault(home) as v:
        return {c.name: c for c in v.credentials()}


# ---------------------------------------------------------------- 10. provider show


@pytest.mark.parametrize(
    ("base", "uri", "rule"),
    [
        ("microsoft", "http://127.0.0.1/callback", "any port"),
        ("linear", "http://127.0.0.1:8715/callback", "this exact port"),
        ("bitbucket", "http://127.0.0.1", "a prefix"),
    ],
)
def test_provider_show_prints_the_exact_redirect_uri_to_register(
    cli: CliRunner, base: str, uri: str, rule: str
) -> None:
    shown = json.loads(cli("provider", "show", base, "--json").out)
    assert shown["redirect_uri"].startswith(f"{uri} ({rule}")
    assert uri in shown["register_help"]
    assert f"redirect uri: {uri} ({rule}" in cli("provider", "show", base).out


def test_a_google_desktop_app_has_no_redirect_uri_to_register(cli: CliRunner) -> None:
    shown = json.loads(cli("provider", "show", "google", "--json").out)
    assert shown["redirect_uri"] == (
        "nothing to register (this kind of app takes any loopback redirect, such as http://127.0.0.1:PORT/callback)"
    )
    assert "'Desktop app'" in shown["register_help"]


def test_the_redirect_uri_follows_a_registrations_own_port(cli: CliRunner, passphrase_env: str) -> None:
    assert cli("init").code == 0
    r = cli("provider", "add", "my-linear", "--base", "linear", "--client-id", "c", "--redirect-port", "9123",
            "--with-secret", stdin="s\n")  # fmt: skip
    assert r.code == 0 and "http://127.0.0.1:9123/callback (this exact port" in r.err
    shown = json.loads(cli("provider", "show", "my-linear", "--json").out)
    assert "http://127.0.0.1:9123/callback" in shown["register_help"] and "8715" not in shown["register_help"]


# ---------------------------------------------------------------- 1. Microsoft

ENTRA_SCOPES = " ".join(builtin("microsoft").default_scopes)


def test_microsoft_signs_in_with_the_redirect_uri_its_help_names(
    cli: CliRunner, auth_server: AuthServer, browser_log: Path, home: Path, passphrase_env: str
) -> None:
    """Entra ignores a loopback redirect's port but not its path [e1]: the server registers
    exactly what ``provider show`` says (and would refuse ``http://127.0.0.1``, the old help)."""
    to_register = json.loads(cli("provider", "show", "microsoft", "--json").out)["redirect_uri"].split(" ")[0]
    auth_server.register_client(CLIENT_ID, redirect_uris=[to_register], scope=ENTRA_SCOPES)
    cli("init")
    register(cli, auth_server, "entra", "microsoft")
    r = cli("login", "entra")
    assert r.code == 0, r.err
    sent = auth_server.last_authorization_request
    assert sent is not None and sent["redirect_uri"].endswith("/callback") and sent["redirect_uri"] != to_register
    assert stored(home)["entra"].refresh_token is not None
    auth_server.register_client(CLIENT_ID, redirect_uris=["http://127.0.0.1"], scope=ENTRA_SCOPES)  # the old help
    again = cli("login", "entra", "--name", "entra-2", "--timeout", "2")  # the provider shows its error page
    assert again.code == 1 and "no answer from the browser within 2 s" in one_line(again)
    assert "is not supported by client" in last_page(browser_log)  # what the user read there
    assert sorted(stored(home)) == ["entra"]


def test_microsoft_device_sign_in_without_public_client_flows_names_the_switch(
    cli: CliRunner, auth_server: AuthServer, home: Path, passphrase_env: str
) -> None:
    auth_server.register_client(CLIENT_ID, scope=ENTRA_SCOPES)
    auth_server.settings.token_response_override = (
        400, "application/json",
        json.dumps({"error": "invalid_client", "error_description": "AADSTS7000218: The request body must contain "
                    "the following parameter: 'client_assertion' or 'client_secret'. Trace ID: 0f1e"}).encode(),
    )  # fmt: skip
    cli("init")
    register(cli, auth_server, "entra", "microsoft")
    r = cli("login", "entra", "--device")
    line = one_line(r)
    assert r.code == 1 and "'Allow public client flows' = Yes" in line and "AADSTS7000218" in line
    assert stored(home) == {}
    assert "Allow public client flows" in json.loads(cli("provider", "show", "microsoft", "--json").out)["device_help"]


# ---------------------------------------------------------------- 2. Google


def test_google_device_sign_in_is_refused_up_front_for_a_desktop_client(
    cli: CliRunner, auth_server: AuthServer, home: Path, passphrase_env: str
) -> None:
    auth_server.register_client(CLIENT_ID, client_secret=SECRET, token_endpoint_auth_method="client_secret_post")
    cli("init")
    register(cli, auth_server, "google", "google", secret=SECRET)
    r = cli("login", "google", "--device")
    line = one_line(r)
    assert r.code == 2 and "client type 'limited-input'" in line and "--client-type limited-input" in line
    assert auth_server.token_request_count() == 0 and auth_server.pending_user_codes() == []  # nothing was asked
    assert stored(home) == {}
    assert not resolve(ClientRegistration(provider="g", base="google", client_id="c")).offers_device_flow


def test_google_device_sign_in_runs_for_a_limited_input_client(
    cli: CliRunner, auth_server: AuthServer, home: Path, passphrase_env: str
) -> None:
    auth_server.register_client(CLIENT_ID, client_secret=SECRET, token_endpoint_auth_method="client_secret_post")
    auth_server.settings.device_auto_approve_after = 0
    cli("init")
    register(cli, auth_server, "google-tv", "google", "--client-type", "limited-input", "--scopes", "openid email",
             secret=SECRET)  # fmt: skip
    r = cli("login", "google-tv")  # such a client has no browser sign-in: the device code it is
    assert r.code == 0, r.err
    assert "client: signing in with a device code" in r.err and "Enter the code" in r.err
    assert stored(home)["google-tv"].refresh_token is not None
    assert [t.grant_type for t in auth_server.token_requests()] == ["urn:ietf:params:oauth:grant-type:device_code"]
    bad = cli("provider", "add", "g2", "--base", "google", "--client-id", "c", "--client-type", "tv", stdin="s\n")
    assert bad.code == 2 and "desktop or limited-input" in one_line(bad)


def seeded_google(cli: CliRunner, server: AuthServer, home: Path) -> dict[str, str]:
    server.register_client(CLIENT_ID)  # Google's revoke endpoint takes no client authentication
    server.settings.revoke_whole_grant = True  # Google: either token revokes the grant [e4]
    server.settings.revoke_invalid_token_status = 400  # ...and a dead token gets 400
    cli("init")
    register(cli, server, "google", "google", secret=SECRET)
    issued = server.issue_token(CLIENT_ID)
    now = time.time()
    with vault.open_vault(home) as v:
        v.records.save(
            vault.Credential(
                name="g", provider="google", kind="oauth",
                access_token=vault.Secret(issued["access_token"]), refresh_token=vault.Secret(issued["refresh_token"]),
                expires_at=now + 3600, created_at=now, updated_at=now,
            )
        )  # fmt: skip
    return issued


def test_google_revoke_sends_one_call_and_erases_the_secrets(
    cli: CliRunner, auth_server: AuthServer, home: Path, passphrase_env: str
) -> None:
    issued = seeded_google(cli, auth_server, home)
    r = cli("revoke", "g", "--yes")
    assert r.code == 0, r.err
    assert [(x.token_type_hint, x.status) for x in auth_server.revocations()] == [("refresh_token", 200)]
    assert auth_server.token_state(issued["access_token"]) == "revoked"  # the whole grant went
    g = stored(home)["g"]
    assert g.access_token is None and g.refresh_token is None and g.stored_status == "revoked"


def test_google_revoke_of_a_grant_already_revoked_at_google_erases_too(
    cli: CliRunner, auth_server: AuthServer, home: Path, passphrase_env: str
) -> None:
    """Revoked at myaccount.google.com first: Google answers 400 ``invalid_token``, which means
    there is nothing left to revoke, not a failure that keeps working-looking secrets."""
    issued = seeded_google(cli, auth_server, home)
    with auth_server._store.lock:  # the user revoked it on Google's own page
        auth_server._store.revoke_family(auth_server._store.by_access[issued["access_token"]].family)
    r = cli("revoke", "g", "--yes")
    assert r.code == 0, r.err
    assert [x.status for x in auth_server.revocations()] == [400]
    assert stored(home)["g"].access_token is None


# ---------------------------------------------------------------- 3. Linear


def test_linear_needs_the_secret_and_a_fixed_port(cli: CliRunner, passphrase_env: str, home: Path) -> None:
    linear = builtin("linear")
    assert linear.redirect_port == 8715 and "http://127.0.0.1:8715/callback" in (linear.help or "")
    assert "refreshed only with it" in (linear.help or "")
    cli("init")
    r = cli("provider", "add", "linear", "--client-id", "lin", stdin="\n")
    assert r.code == 2 and one_line(r) == (
        "tokendeck: Linear needs your app's client secret too (Linear refreshes its 24 h tokens only with it); "
        "nothing was stored."
    )
    with vault.open_vault(home) as v:
        assert v.records.clients() == []


# ---------------------------------------------------------------- 4. Dropbox


def test_dropbox_asks_for_no_scope_so_the_token_carries_the_apps_scopes(
    cli: CliRunner, auth_server: AuthServer, browser_log: Path, home: Path, passphrase_env: str
) -> None:
    """The server narrows a token to an explicit scope [e6]; tokendeck sends none, and the token
    has every scope the app was given in its console."""
    console_scopes = "account_info.read files.content.read files.content.write"
    auth_server.register_client(CLIENT_ID, scope=console_scopes)
    cli("init")
    register(cli, auth_server, "dropbox", "dropbox", "--redirect-port", str(free_port()))
    r = cli("login", "dropbox")
    assert r.code == 0, r.err
    sent = auth_server.last_authorization_request
    assert sent is not None and "scope" not in sent and sent["token_access_type"] == "offline"
    assert set(stored(home)["dropbox"].scopes) == set(console_scopes.split())


# ---------------------------------------------------------------- 5. Notion


def notion_server(server: AuthServer) -> None:
    server.register_client(CLIENT_ID, client_secret=SECRET, token_endpoint_auth_method="client_secret_basic")
    server.settings.require_pkce = False  # [e7]: not documented...
    server.settings.json_bodies = True
    server.settings.token_fields = frozenset({"grant_type", "code", "redirect_uri", "refresh_token"})  # ...so refused
    server.settings.required_headers = {"Notion-Version": "2025-09-03"}


def test_notion_signs_in_without_pkce_and_with_the_current_version_then_revokes(
    cli: CliRunner, auth_server: AuthServer, browser_log: Path, home: Path, passphrase_env: str
) -> None:
    notion_server(auth_server)
    cli("init")
    register(cli, auth_server, "notion", "notion", "--redirect-port", str(free_port()), secret=SECRET)
    r = cli("login", "notion")
    assert r.code == 0, r.err
    sent = auth_server.last_authorization_request
    assert sent is not None and "code_challenge" not in sent
    assert stored(home)["notion"].access_token is not None
    revoked = cli("revoke", "notion", "--yes")
    assert revoked.code == 0, revoked.err
    assert stored(home)["notion"].access_token is None
    assert builtin("notion").token_headers == {"Notion-Version": "2025-09-03"}
    code = [p for p in Path(vault.__file__).parent.rglob("*.py") if "Notion-Version" in p.read_text()]
    assert code == []  # the version is set in the catalog alone, for token and revoke calls


# ---------------------------------------------------------------- 6. Bitbucket


@pytest.mark.parametrize(
    ("user", "account"),
    [({"nickname": "ada", "account_id": "557058:1a2b"}, "ada"), ({"account_id": "557058:1a2b"}, "557058:1a2b")],
)
def test_bitbucket_names_the_account_by_nickname_else_account_id(user: dict[str, str], account: str) -> None:
    from tests.support.json_handler import JsonHandler, serving
    from vault.oauth.identity import learn_identity
    from vault.oauth.tokens import TokenSet

    handler = type("User", (JsonHandler,), {"do_GET": lambda self: self.send_json({"username": None, **user})})
    with serving(handler) as url:
        provider = resolve(
            ClientRegistration(provider="bb", base="bitbucket", client_id="c", overrides={"identity": {"url": url}})
        )
        tokens = TokenSet(access_token=vault.Secret("bb-token"))
        found, _, warning = learn_identity(provider, tokens)
    assert (found, warning) == (account, None)
    assert "Workspace settings > OAuth consumers" in (builtin("bitbucket").help or "")


# ---------------------------------------------------------------- 7. Slack


def test_slack_help_says_rotation_and_pkce_are_needed() -> None:
    text = builtin("slack").help or ""
    assert "Turn on token rotation" in text and "only for PKCE apps" in text


# ---------------------------------------------------------------- 8. GitHub


def test_github_revoke_without_a_secret_says_so_up_front_and_offers_local(
    cli: CliRunner, auth_server: AuthServer, home: Path, passphrase_env: str
) -> None:
    cli("init")
    with vault.open_vault(home) as v:
        v.records.set_client(ClientRegistration(provider="github", base="github", client_id="device-only",
                                        overrides={"revoke": {"url": auth_server.url("/revoke")}}))  # fmt: skip
        now = time.time()
        v.records.save(vault.Credential(name="gh", provider="github", kind="oauth",
                                        access_token=vault.Secret("gho_abc"),
                                        created_at=now, updated_at=now))  # fmt: skip
    r = cli("revoke", "gh", "--yes")
    line = one_line(r)
    assert r.code == 1 and "only with the app's client secret" in line and "--local" in line
    assert auth_server.revocations() == []  # nothing was sent
    assert stored(home)["gh"].access_token is not None  # and nothing erased
    local = cli("revoke", "gh", "--yes", "--local")
    assert local.code == 0 and stored(home)["gh"].access_token is None
    assert "https://github.com/settings/applications" in local.err
