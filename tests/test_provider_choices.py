"""The sign-in screen's provider list (screens/logic/provider_choices.py, no Textual): a user's
own registration of a generic server reads as its host, not as the template's long name."""

from __future__ import annotations

from pathlib import Path

import vault
from screens.logic.provider_choices import provider_choices
from tests.support.authserver import AuthServer
from tests.support.cli import CliRunner


def test_a_registered_openid_server_is_shown_by_its_host(cli: CliRunner, auth_server: AuthServer, home: Path) -> None:
    auth_server.register_client("choices-client")
    assert cli("init").code == 0
    assert cli("provider", "add", "dev-idp", "--issuer", auth_server.issuer, "--client-id", "choices-client").code == 0
    with vault.open_vault(home) as v:
        choices = {choice.key: choice.prompt().plain for choice in provider_choices(v)}
    row = choices["dev-idp"]
    assert row.startswith("dev-idp") and "registered" in row
    assert "127.0.0.1" in row and "Any OpenID Connect" not in row, row
    assert "GitHub" in choices["github"]  # a built-in keeps its name
