"""What the OAuth code trusts for TLS (issue 32): the move from httpx to httpx2 kept it.
certifi's Mozilla bundle, unless ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` names other CAs (a
company's proxy, a self-hosted GitLab's private CA), as httpx's default was; httpx2's own
default (the operating system's store) is not used for provider calls."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import certifi
import pytest

from vault.oauth import http


def fresh_context() -> ssl.SSLContext:
    return http.ssl_context.__wrapped__()  # not the cached one


def serials(context: ssl.SSLContext) -> set[str]:
    return {str(cert["serialNumber"]) for cert in context.get_ca_certs()}


def test_the_default_is_certifis_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = fresh_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert serials(context) == serials(ssl.create_default_context(cafile=certifi.where()))


def test_ssl_cert_file_names_the_only_cas_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", Path(certifi.where()).read_text(),
                      re.DOTALL)  # fmt: skip
    assert first is not None
    ca = tmp_path / "company-ca.pem"
    ca.write_text(first.group(0))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    context = fresh_context()
    assert len(context.get_ca_certs()) == 1 and context.verify_mode == ssl.CERT_REQUIRED


def test_every_provider_call_uses_that_context() -> None:
    transport = http.connection_pool()
    try:
        assert transport._pool._ssl_context is http.ssl_context()
    finally:
        transport.close()
