"""The library's :class:`vault.Vault` shows a small surface, and it cannot grow silently:
a new public method or attribute is a decision, made here and in ``docs/library.md``."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import vault
from vault.core.records import Records
from vault.core.repository import Repository
from vault.errors import AlreadyExists, InvalidInput, NotFound
from vault.export import Spec

METHODS = (
    "add",
    "close",
    "credentials",
    "export",
    "get",
    "refresh",
    "remove",
    "rename",
    "replace",
    "revoke",
    "token",
)
"""The documented methods (and ``with``: ``__enter__``/``__exit__``)."""

ATTRIBUTES = ("clock", "paths", "records")
"""Documented attributes: the time source, the home, the storage it holds."""

INTERNAL = ("held", "http_client", "http_transport")
"""Attributes tokendeck's own refreshers read (the class docstring says why they are not private)."""

DOCS = Path(__file__).resolve().parent.parent / "docs" / "library.md"


def public(cls: type) -> dict[str, object]:
    return {name: value for name, value in inspect.getmembers(cls) if not name.startswith("_")}


def test_the_public_methods_of_vault_are_pinned() -> None:
    members = public(vault.Vault)
    methods = sorted(name for name, value in members.items() if inspect.isfunction(value))
    assert methods == sorted(METHODS)
    properties = sorted(name for name, value in members.items() if isinstance(value, property))
    assert sorted(set(members) - set(methods)) == properties == sorted({*ATTRIBUTES, *INTERNAL} - {"records"})
    assert callable(vault.Vault.__enter__) and callable(vault.Vault.__exit__)


def test_the_vault_holds_its_records_and_is_not_them() -> None:
    assert not issubclass(vault.Vault, Repository)
    assert Repository not in vault.Vault.__mro__
    assert "records" in inspect.signature(vault.Vault.__init__).parameters


def test_the_repository_holds_its_links_and_keys() -> None:
    assert Repository.__mro__ == (Repository, object)
    for method in ("add_export_binding", "export_bindings", "map_git_host", "git_hosts", "rekey", "copy_to"):
        assert not hasattr(Repository, method), method


def test_every_public_method_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in METHODS + ATTRIBUTES:
        assert f"{name}(" in text or f".{name}" in text, name
        assert name == "records" or getattr(vault.Vault, name).__doc__, name


def test_an_open_vault_holds_records_that_fulfil_the_contract(home: Path) -> None:
    with vault.init_vault(home, mode="passphrase", passphrase="surface test passphrase", env={}) as v:
        assert isinstance(v.records, Records)
        assert sorted(name for name in vars(v) if not name.startswith("_")) == ["records"]
        assert v.records.paths == v.paths and v.records.clock is v.clock


def test_each_method_is_the_use_case_it_names(home: Path, tmp_path: Path) -> None:
    with vault.init_vault(home, mode="passphrase", passphrase="surface test passphrase", env={}) as v:
        added = v.add("openai", provider="api-key", token="sk-one", expires="90d")
        assert added.kind == "static" and added.expires_at is not None
        assert v.token("openai") == "sk-one" and [c.name for c in v.credentials()] == ["openai"]
        with pytest.raises(AlreadyExists):
            v.add("openai", provider="api-key", token="sk-two")
        with pytest.raises(InvalidInput):  # the static-token rules: an OAuth provider signs in
            v.add("gh", provider="github", token="gho_x")
        target = tmp_path / "openai.env"
        notices = v.export(Spec("dotenv", "openai", var="OPENAI_KEY", plaintext=True), target, force=True)
        assert notices and "sk-one" in target.read_text()
        renewed = v.replace("openai", "sk-two")
        assert renewed.expires_at == added.expires_at and v.token("openai") == "sk-two"
        assert "sk-two" in target.read_text()  # the plaintext export followed the new token
        v.rename("openai", "openai-work")
        assert v.get("openai-work").created_at == added.created_at
        with pytest.raises(InvalidInput):
            v.refresh("openai-work")  # a static token has nothing to refresh
        result = v.revoke("openai-work", local=True)  # no provider to ask: erased here
        assert result.erased and not result.revoked_at_provider
        assert v.get("openai-work").stored_status == "revoked"
        assert v.remove("openai-work").name == "openai-work"
        with pytest.raises(NotFound):
            v.get("openai-work")
