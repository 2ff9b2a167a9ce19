"""The vault's own CA for ``tokendeck proxy run``, and the bundle the command trusts.

Made with ``cryptography`` on first use and kept in the vault (:mod:`vault.core.authority`):
an EC P-256 key, the certificate named ``tokendeck proxy CA for <home>``, valid
:data:`VALIDITY_DAYS` days, a CA that may sign only end certificates (path length 0).  When it
has less than :data:`RENEW_DAYS` days left, a new one (new key) replaces it.  The private key
leaves the vault only as a :class:`~vault.core.secret.Secret` in this process's memory, handed
to the engine; no file ever holds it.

The bundle is a file in the runtime directory (0700, this user's), mode 0600, one per run and
removed when it ends: the system's CA certificates followed by the CA's certificate, so a
program told to trust only the bundle (``SSL_CERT_FILE``...) still verifies every other host.
"""

from __future__ import annotations

import datetime
import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vault.core.paths import failed
from vault.core.secret import Secret
from vault.errors import VaultError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from vault.core.repository import Repository

VALIDITY_DAYS = 30
RENEW_DAYS = 7
SYSTEM_BUNDLES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, the BSDs, Alpine
)


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


def system_bundle_paths() -> list[str]:
    """Where this machine keeps its CA certificates, best first: what OpenSSL was built to read,
    the distributions' usual files, certifi's."""
    paths = ssl.get_default_verify_paths()
    found = [p for p in (paths.cafile, paths.openssl_cafile) if p]
    found += SYSTEM_BUNDLES
    try:
        import certifi

        found.append(certifi.where())
    except ImportError:  # pragma: no cover - certifi is a dependency
        pass
    return list(dict.fromkeys(found))


def system_certificates(candidates: Sequence[str] | None = None) -> bytes:
    """The first readable, non-empty bundle of ``candidates`` (the system's by default); b"" when none."""
    for path in system_bundle_paths() if candidates is None else candidates:
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        if b"-----BEGIN CERTIFICATE-----" in data:
            return data if data.endswith(b"\n") else data + b"\n"
    return b""


def already_trusted(environ: Mapping[str, str]) -> list[bytes]:
    """The CA files the user's own environment names in the variables a run replaces
    (:data:`vault.proxy.environment.CA_VARIABLES`: a company CA in ``$REQUESTS_CA_BUNDLE``), each
    readable one once, in that order."""
    from vault.proxy.environment import CA_VARIABLES

    found: list[bytes] = []
    for path in dict.fromkeys(environ[var] for var in CA_VARIABLES if environ.get(var)):
        pem = system_certificates([path])
        if pem and pem not in found:
            found.append(pem)
    return found


def write_bundle(
    directory: str, cert_pem: bytes, *, system: bytes | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """Write the system's certificates, those the user already trusts (:func:`already_trusted`
    in ``environ``, default this process's), and ``cert_pem`` to a new 0600 file in ``directory``
    (made 0700 when missing, refused when others can enter it); its path.

    Raises:
        VaultError: the directory or the file cannot be made or written (one line naming it).
    """
    from vault.agent.wire import private_dir_problem

    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise failed(exc, "create", directory) from None
    problem = private_dir_problem(directory)
    if problem is not None:
        raise VaultError(f"cannot write the proxy's CA bundle: {problem}")
    base = system_certificates() if system is None else system
    extra = [pem for pem in already_trusted(os.environ if environ is None else environ) if pem != base]
    body = base + b"".join(extra) + cert_pem
    path = os.path.join(directory, f"proxy-ca-{os.getpid()}-{os.urandom(4).hex()}.pem")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(body)
    except OSError as exc:
        raise failed(exc, "write", path) from None
    return path


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
