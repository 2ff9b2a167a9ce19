"""The proxy's leaf certificates, made in-process and kept in memory files.

proxy.py loads a certificate and its key by file path (ssl.SSLContext.load_cert_chain). A private
key never lands on disk here: the leaf key and each host's certificate live in anonymous memory
files (os.memfd_create), handed to the engine as /proc/self/fd/N. One leaf key per run, one
certificate per host, signed by the vault's CA with `cryptography`.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from vault.core.secret import Secret

_LEAF_DAYS = 7
_CLOCK_SKEW = datetime.timedelta(hours=1)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)  # MFD_CLOEXEC: no child inherits it
    try:
        os.write(fd, data)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


class LeafCertificates:
    """Signs a certificate for each host the proxy intercepts, once per run.

    Args:
        ca_cert_pem: the vault's CA certificate.
        ca_key_pem: its private key (PEM), read once into memory and never written out.
    """

    def __init__(self, *, ca_cert_pem: bytes, ca_key_pem: Secret) -> None:
        self._ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
        ca_key = serialization.load_pem_private_key(ca_key_pem.reveal().encode(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError("the proxy's CA key must be an EC or RSA key")
        self._ca_key = ca_key
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf_pem = self._leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._fds: list[int] = [_memfd("tokendeck-proxy-leaf-key", leaf_pem)]
        self._by_host: dict[str, str] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def key_path(self) -> str:
        """Where the engine reads the leaf key: a memory file of this process."""
        return _fd_path(self._fds[0])

    def cert_path(self, host: str) -> str:
        """The path of a certificate for host (made on first use), a memory file of this process."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the proxy has stopped")
            path = self._by_host.get(host)
            if path is None:
                fd = _memfd("tokendeck-proxy-leaf", self._sign(host))
                self._fds.append(fd)
                path = self._by_host[host] = _fd_path(fd)
            return path

    def _sign(self, host: str) -> bytes:
        now = datetime.datetime.now(datetime.UTC)
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self._ca_cert.subject)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _CLOCK_SKEW)
            .not_valid_after(now + datetime.timedelta(days=_LEAF_DAYS))
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()), critical=False
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        chain = cert.public_bytes(serialization.Encoding.PEM) + self._ca_cert.public_bytes(serialization.Encoding.PEM)
        return chain

    def close(self) -> None:
        """Closes every memory file: the leaf key and the certificates are gone."""
        with self._lock:
            self._closed = True
            fds, self._fds = self._fds, []
            self._by_host.clear()
        for fd in fds:
            os.close(fd)
