"""The vault's own CA for ``tokendeck proxy run`` (issue 35): made once, kept in the encrypted
vault like any secret (never in a file), reused after; and the bundle the command trusts."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.support.compat_fixture import AT, PASSPHRASE
from vault import init_vault, open_vault
from vault.core.clock import FrozenClock
from vault.core.secret import Secret
from vault.errors import VaultError
from vault.proxy.ca import write_bundle
from vault.services.proxy_ca import RENEW_DAYS, VALIDITY_DAYS, authority_for, make_authority

NOW = 1_800_000_000.0
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "compat-v1"


def test_the_ca_is_clearly_named_short_lived_and_signs_only_end_certificates(home: Path) -> None:
    made = make_authority(home, NOW)
    cert = x509.load_pem_x509_certificate(made.cert_pem)
    (name,) = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert str(name.value).startswith("tokendeck proxy CA for ") and str(home).endswith(str(name.value)[-20:])
    assert len(str(name.value)) <= 64
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    lifetime = cert.not_valid_after_utc.timestamp() - cert.not_valid_before_utc.timestamp()
    assert lifetime <= (VALIDITY_DAYS * 86400) + 60
    assert isinstance(made.key_pem, Secret) and "PRIVATE KEY" not in repr(made.key_pem)
    key = load_pem_private_key(made.key_pem.reveal().encode(), None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_the_ca_is_made_once_kept_in_the_vault_and_reused(home: Path) -> None:
    with init_vault(home, mode="passphrase", passphrase="pass phrase", clock=FrozenClock(NOW)) as v:
        first = authority_for(v.records, home, NOW)
    with open_vault(home, "pass phrase", env={}, clock=FrozenClock(NOW + 3600)) as v:
        again = authority_for(v.records, home, NOW + 3600)
        assert [e.action for e in v.records.audit_log()].count("proxy-ca") == 1
    assert again.cert_pem == first.cert_pem and again.key_pem.reveal() == first.key_pem.reveal()
    secret = first.key_pem.reveal().encode()
    body = secret.splitlines()[1]  # a line of the key itself, not its PEM armour
    for path in home.rglob("*"):
        if path.is_file():
            assert body not in path.read_bytes(), f"the CA's key is readable in {path}"


def test_a_ca_near_its_end_is_replaced_by_a_new_one(home: Path) -> None:
    with init_vault(home, mode="passphrase", passphrase="pass phrase", clock=FrozenClock(NOW)) as v:
        first = authority_for(v.records, home, NOW)
        later = NOW + (VALIDITY_DAYS - RENEW_DAYS + 1) * 86400
        renewed = authority_for(v.records, home, later)
        assert renewed.cert_pem != first.cert_pem and renewed.key_pem.reveal() != first.key_pem.reveal()
        assert authority_for(v.records, home, later).cert_pem == renewed.cert_pem


def test_a_vault_from_an_earlier_tokendeck_gets_its_ca_too(tmp_path: Path) -> None:
    home = tmp_path / "compat-home"
    home.mkdir(mode=0o700)
    for name in ("vault.db", "vault.json"):
        shutil.copyfile(FIXTURE / name, home / name)
        (home / name).chmod(0o600)
    with open_vault(home, PASSPHRASE, env={}, clock=FrozenClock(AT + 60)) as v:
        assert v.records.authority.get() is None
        made = authority_for(v.records, home, AT + 60)
    with open_vault(home, PASSPHRASE, env={}, clock=FrozenClock(AT + 120)) as v:
        stored = v.records.authority.get()
        assert stored is not None and stored.cert_pem.encode() == made.cert_pem


def test_the_bundle_is_the_systems_cas_then_tokendecks_in_a_private_file(tmp_path: Path) -> None:
    made = make_authority("h", NOW)
    system = b"-----BEGIN CERTIFICATE-----\nsystem\n-----END CERTIFICATE-----\n"
    path = write_bundle(str(tmp_path / "run"), made.cert_pem, system=system, environ={})
    assert Path(path).read_bytes() == system + made.cert_pem
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "run").st_mode) == 0o700
    assert b"PRIVATE KEY" not in Path(path).read_bytes()


def test_the_default_bundle_holds_this_machines_cas(tmp_path: Path) -> None:
    path = write_bundle(str(tmp_path / "run"), make_authority("h", NOW).cert_pem)
    assert Path(path).read_bytes().count(b"-----BEGIN CERTIFICATE-----") > 10


def test_a_ca_file_the_user_already_trusts_stays_trusted(tmp_path: Path) -> None:
    """A company CA named by $REQUESTS_CA_BUNDLE (or any variable the run replaces) is in the run's
    bundle too: the command's direct connections (NO_PROXY hosts) still verify; a file named twice
    is in once, and a variable naming nothing readable adds nothing."""
    corp = make_authority("corp", NOW).cert_pem
    (tmp_path / "corp.pem").write_bytes(corp)
    environ = {
        "REQUESTS_CA_BUNDLE": str(tmp_path / "corp.pem"),
        "HTTPLIB2_CA_CERTS": str(tmp_path / "corp.pem"),
        "NODE_EXTRA_CA_CERTS": str(tmp_path / "missing.pem"),
    }
    made = make_authority("h", NOW)
    system = b"-----BEGIN CERTIFICATE-----\nsystem\n-----END CERTIFICATE-----\n"
    path = write_bundle(str(tmp_path / "run"), made.cert_pem, system=system, environ=environ)
    assert Path(path).read_bytes() == system + corp + made.cert_pem


def test_a_bundle_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    with pytest.raises(VaultError) as caught:
        write_bundle(str(shared), b"cert")
    assert "open to other users" in str(caught.value) and "\n" not in str(caught.value)
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(VaultError) as caught:
        write_bundle(str(blocked / "run"), b"cert")
    assert str(blocked) in str(caught.value) and "\n" not in str(caught.value)
