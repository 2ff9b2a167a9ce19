"""The vault's own CA for ``tokendeck proxy run``: made with ``cryptography`` on first use and kept
in the vault (:mod:`vault.core.authority`).

An EC P-256 key, the certificate named ``tokendeck proxy CA for <home>``, valid
:data:`VALIDITY_DAYS` days, a CA that may sign only end certificates (path length 0).  When it
has less than :data:`RENEW_DAYS` days left, a new one (new key) replaces it.  The private key
leaves the vault only as a :class:`~vault.core.secret.Secret` in memory, handed to the engine;
no file ever holds it.  The bundle the command trusts is written by :mod:`vault.proxy.ca`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from vault.core.secret import Secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from vault.core.repository import Repository

VALIDITY_DAYS = 30
RENEW_DAYS = 7


@dataclass(frozen=True)
class Authority:
    """The CA the engine signs with: its certificate (public) and key (a secret)."""

    cert_pem: bytes
    key_pem: Secret
    not_after: float


def common_name(home: Path | str) -> str:
    """``tokendeck proxy CA for HOME``; a long home keeps its end (X.509 caps a name at 64)."""
    lead = "tokendeck proxy CA for "
    where = str(home)
    return lead + (where if len(lead) + len(where) <= 64 else "..." + where[-(64 - len(lead) - 3) :])


def make_authority(home: Path | str, now: float) -> Authority:
    """A new CA (new key), valid from a minute before ``now`` for :data:`VALIDITY_DAYS` days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name(home)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tokendeck"),
        ]
    )
    start = datetime.datetime.fromtimestamp(now - 60, datetime.UTC)
    end = start + datetime.timedelta(days=VALIDITY_DAYS)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return Authority(cert.public_bytes(serialization.Encoding.PEM), Secret(key_pem), end.timestamp())


def not_after(cert_pem: bytes) -> float:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc.timestamp()


def needs_renewal(cert_pem: bytes, now: float) -> bool:
    return not_after(cert_pem) - now < RENEW_DAYS * 86400


def authority_for(records: Repository, home: Path | str, now: float) -> Authority:
    """The vault's CA: the stored one, or a new one stored first (on first use, or when the
    stored one is near its end)."""
    stored = records.authority.get()
    if stored is not None and not needs_renewal(stored.cert_pem.encode("ascii"), now):
        cert = stored.cert_pem.encode("ascii")
        return Authority(cert, stored.key_pem, not_after(cert))
    made = make_authority(home, now)
    records.authority.put(made.cert_pem.decode("ascii"), made.key_pem, detail="renewed" if stored else "created")
    return made
