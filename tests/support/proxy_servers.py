"""Loopback HTTPS servers standing in for providers' hosts, and the CAs the proxy tests use.

`make_ca` makes a CA with `cryptography`; `StandIn` serves HTTPS (or plain HTTP) on 127.0.0.1 with a
certificate for the names it stands in for, and records the Authorization-like headers it got.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import http.server
import json
import os
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RECORDED = ("authorization", "private-token", "x-api-key")


@dataclass
class StandInCA:
    cert_pem: bytes
    key_pem: bytes
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def leaf(self, names: list[str]) -> tuple[bytes, bytes]:
        """A certificate (PEM) and key (PEM) for names, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_ca(name: str) -> StandInCA:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return StandInCA(cert.public_bytes(serialization.Encoding.PEM), key_pem, key, cert)


@dataclass
class StandIn:
    """A loopback server; `.seen` holds (method, path, {recorded header: value}) per request."""

    port: int
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


def _memfd_path(data: bytes) -> tuple[int, str]:
    fd = os.memfd_create("test-standin")
    os.write(fd, data)
    return fd, f"/proc/self/fd/{fd}"


def carries(authorization: str | None, token: str) -> bool:
    """Whether an Authorization value holds token as a provider reads it: `Bearer`/`token` TOKEN, or
    Basic with TOKEN as the password (what git sends)."""
    scheme, _, rest = (authorization or "").partition(" ")
    if scheme.lower() in ("bearer", "token"):
        return rest.strip() == token
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded.partition(":")[2] == token
    return False


def serve(ca: StandInCA | None, names: list[str], git_root: Path | None = None, token: str | None = None) -> StandIn:
    """Serves on 127.0.0.1: HTTPS with a certificate for names signed by ca, or plain HTTP when ca is None.

    With git_root, paths ending in .git/... are git's smart HTTP (`git http-backend` over CGI, push
    included) for the bare repositories under it, once the request carries an Authorization.  With
    token, a request whose Authorization does not carry it (:func:`carries`) gets a 401 asking for
    Basic credentials, as the provider would answer: only the real token gets through.
    """
    standin = StandIn(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = -1  # one write per answer (flushed after each request): no Nagle/delayed-ACK stall
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            got = {k: v for k in RECORDED if (v := self.headers.get(k)) is not None}
            standin.seen.append((self.command, self.path, got))
            if token is not None and not carries(got.get("authorization"), token):
                self._unauthorized()
                return
            if git_root is not None and ".git/" in self.path and "authorization" in got:
                self._git(git_root, body)
                return
            if self.headers.get("Upgrade", "").lower() == "websocket":
                self._echo()
                return
            if "/info/refs" in self.path and "authorization" not in got:  # git asks for credentials on a 401
                self._unauthorized()
                return
            body = json.dumps({"login": "octocat", "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _unauthorized(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _git(self, root: Path, body: bytes) -> None:
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "REMOTE_USER": "octocat",
            }
            done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _echo(self) -> None:
            """Switches protocols, then sends back every byte it gets (frames are the client's business)."""
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while chunk := self.rfile.read1(65536):
                self.wfile.write(chunk)
                self.wfile.flush()
            self.close_connection = True

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if ca is not None:
        cert_pem, key_pem = ca.leaf(names)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert_fd, cert_path = _memfd_path(cert_pem)
        key_fd, key_path = _memfd_path(key_pem)
        try:
            context.load_cert_chain(cert_path, key_path)
        finally:
            os.close(cert_fd)
            os.close(key_fd)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    standin.port = server.server_address[1]
    standin.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin


def bare_repository(root: Path) -> Path:
    """root/octo/repo.git, a bare repository with one commit on main."""
    work = root / "work"
    git = ["git", "-c", "user.name=Octo", "-c", "user.email=octo@example.test", "-C", str(work)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "README").write_text("hello\n")
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    bare = root / "octo" / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return root


def write_bundle(path: Path, *pems: bytes) -> str:
    """A CA bundle file (certificates only: public)."""
    path.write_bytes(b"".join(pems))
    return str(path)
