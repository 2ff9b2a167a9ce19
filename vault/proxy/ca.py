"""The bundle ``tokendeck proxy run``'s command trusts: a file in the runtime directory (0700, this
user's), mode 0600, one per run and removed when it ends: the system's CA certificates followed by
the vault's CA certificate (:mod:`vault.services.proxy_ca` makes the CA), so a program told to trust
only the bundle (``SSL_CERT_FILE``...) still verifies every other host.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path

from vault.core.paths import failed
from vault.errors import VaultError

SYSTEM_BUNDLES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, the BSDs, Alpine
)


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
