"""services.registration: the one set of rules for registering an OAuth app, which
``tokendeck provider add`` and the TUI's registration form both follow.  Where the two
used to differ, the stricter behaviour is kept (docs/cli.md, "Rules both front ends share")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import vault
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner
from vault.core.model import ClientRegistration
from vault.core.secret import Secret
from vault.errors import InvalidInput
from vault.services.registration import RegistrationRequest, check_request, prepare, store

MICROSOFT = RegistrationRequest("microsoft", "app-id", params={"tenant": "contoso"})
GITHUB = RegistrationRequest("github", "Iv1.abc")


@pytest.fixture
def v(home: Path) -> Iterator[vault.Vault]:
    with vault.init_vault(home, mode="keyring") as opened:
        yield opened


@pytest.fixture
def ready(cli: CliRunner, home: Path) -> CliRunner:
    with vault.init_vault(home, mode="keyring"):
        pass
    return cli


def test_a_provider_that_takes_no_secret_is_never_given_one(v: vault.Vault) -> None:
    prepared = prepare(v.records, MICROSOFT)
    assert not prepared.asks_for_secret()
    with pytest.raises(InvalidInput, match="take no client secret"):
        prepared.asks_for_secret(offered=True)
    with pytest.raises(InvalidInput, match="take no client secret"):
        store(v.records, prepared, Secret("s3cret"))
    assert v.records.clients() == []


def test_a_stored_secret_for_such_a_provider_is_dropped_when_it_is_edited(v: vault.Vault) -> None:
    old = ClientRegistration("microsoft", "microsoft", "app-id", Secret("from-before"), {"tenant": "contoso"})
    v.records.set_client(old)
    edited = RegistrationRequest("microsoft", "app-id-2", base="microsoft", params={"tenant": "contoso"}, existing=old)
    store(v.records, prepare(v.records, edited), None)
    (stored,) = v.records.clients()
    assert (stored.client_id, stored.client_secret) == ("app-id-2", None)


def test_the_cli_refuses_with_secret_for_it_before_reading_one(ready: CliRunner) -> None:
    r = ready("provider", "add", "microsoft", "--client-id", "app", "--param", "tenant=t", "--with-secret",
              stdin="s3cret\n")  # fmt: skip
    assert r.code == 2 and "take no client secret" in r.err and "s3cret" not in r.err
    assert ready("provider", "list", "--json").out.count('"registered": true') == 0


def test_a_required_secret_is_needed_except_for_a_device_sign_in_that_works_without(v: vault.Vault) -> None:
    prepared = prepare(v.records, GITHUB)
    assert prepared.asks_for_secret() and not prepared.asks_for_secret(device=True)
    with pytest.raises(InvalidInput, match=r"GitHub \(OAuth App\) needs your app's client secret too"):
        store(v.records, prepared, None)
    assert v.records.clients() == []
    assert store(v.records, prepared, None, device=True).client_secret is None
    edited = RegistrationRequest("github", "Iv1.abc", existing=v.records.get_client("github"))
    assert prepare(v.records, edited).asks_for_secret()  # nothing kept yet: a browser sign-in still needs one


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "GitHub \\(OAuth App\\) needs your app's client secret too"),  # asked for, nothing typed
        ("tab\there", "empty or has control characters"),
        ("line\nbreak", "empty or has control characters"),
    ],
)
def test_a_given_secret_must_be_printable(v: vault.Vault, secret: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        store(v.records, prepare(v.records, GITHUB), Secret(secret))
    assert v.records.clients() == []


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (RegistrationRequest("bad name", "id"), "invalid provider"),
        (RegistrationRequest("github", "  "), "client ID"),
        (RegistrationRequest("github", "x" * 501), "client ID"),
        (RegistrationRequest("github", "tab\tid"), "client ID"),
        (RegistrationRequest("gitlab", "id", params={"base_url": ""}), "base_url must not be empty"),
        (RegistrationRequest("gitlab", "id", params={"base_url": "https://a\x1b.example"}), "must not be empty"),
        (RegistrationRequest("acme", "id", base="oidc"), "needs its issuer URL"),
        (RegistrationRequest("pat", "id", base="github-pat"), "static-token provider"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_read(request_: RegistrationRequest, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_request(request_)


def test_the_client_id_is_stored_without_surrounding_spaces(ready: CliRunner, home: Path) -> None:
    r = ready("provider", "add", "gitlab", "--client-id", "  gl-app  ")
    assert r.code == 0, r.err
    with vault.open_vault(home) as v:
        assert v.records.get_client("gitlab").client_id == "gl-app"


def test_a_parameter_must_be_printable_from_the_cli_too(ready: CliRunner) -> None:
    r = ready("provider", "add", "gitlab", "--client-id", "id", "--param", "base_url=https://a\x1bb.example")
    assert r.code == 2 and "must not be empty" in r.err
    assert '"registered": true' not in ready("provider", "list", "--json").out


def test_a_new_server_may_not_take_a_registered_name_unless_replacing(v: vault.Vault, auth_server: AuthServer) -> None:
    v.records.set_client(ClientRegistration("acme", "github", "first"))
    new = RegistrationRequest("acme", "second", base="oidc", issuer=auth_server.issuer)
    with pytest.raises(InvalidInput, match="already registered"):
        prepare(v.records, new)
    assert v.records.get_client("acme").client_id == "first"
    replaced = store(v.records, prepare(v.records, RegistrationRequest(**{**vars(new), "replace": True})), None)
    assert (replaced.base, replaced.client_id) == ("oidc", "second")
