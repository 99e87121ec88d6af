"""A real HTTPS server (127.0.0.1 by default) with a certificate from a test CA; records what reached it.

What a destination test needs to see from the far side: how many TCP connections were accepted
(a refused destination must get none), the TLS SNI name the client sent, and each request's
method, path, ``Host`` header and body. The certificate names host names only (no IP address),
so a client that verified it against the IP it connected to would fail the handshake.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HANDSHAKE_TIMEOUT_SECONDS = 5.0
VALIDITY = dt.timedelta(days=1)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    encoding, layout = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, layout, serialization.NoEncryption())


class TestCA:
    """A certificate authority of its own, trusted only by the clients a test gives it to."""

    __test__ = False  # not a test class, whatever pytest's name pattern says

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name("Strata test CA"))
            .issuer_name(_name("Strata test CA"))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self._folder = Path(tempfile.mkdtemp(prefix="strata-test-ca-"))

    @property
    def ca_file(self) -> Path:
        """The CA certificate as a PEM file (for ``SSL_CERT_FILE``)."""
        path = self._folder / "ca.pem"
        if not path.exists():
            path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def client_context(self) -> ssl.SSLContext:
        """A client SSL context trusting this CA only (host names checked, as by default)."""
        return ssl.create_default_context(cadata=self.certificate.public_bytes(serialization.Encoding.PEM).decode())

    def server_files(self, name: str, *, ip: str | None = None) -> tuple[Path, Path]:
        """A certificate for DNS ``name`` (and ``ip`` if given) signed by this CA, and its key: two PEM files
        (for servers configured by file, such as ``redis-server --tls-cert-file``)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        names: list[x509.GeneralName] = [x509.DNSName(name)]
        if ip is not None:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        cert_file, key_file = self._folder / f"{name}.crt", self._folder / f"{name}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        key_file.chmod(0o600)
        return cert_file, key_file

    def server_context(self, *names: str) -> ssl.SSLContext:
        """A server SSL context with a certificate for ``names`` (DNS names only) signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        chain = self._folder / f"{names[0]}.pem"
        chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + _pem_key(key))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context


@dataclass
class Seen:
    """One request that reached the server."""

    method: str
    path: str
    host: str | None
    body: bytes


@dataclass
class TlsServer:
    """An HTTPS server (on 127.0.0.1 unless ``bind`` says) answering every GET and POST with ``status`` and ``body``."""

    ca: TestCA
    names: tuple[str, ...]
    bind: str = "127.0.0.1"
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    connections: int = 0
    """TCP connections accepted (before any TLS)."""
    sni: list[str | None] = field(default_factory=list)
    """The SNI name of each TLS handshake."""
    requests: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> TlsServer:
        context = self.ca.server_context(*self.names)
        context.sni_callback = lambda _socket, name, _context: self.sni.append(name)  # type: ignore[assignment,misc]
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length) if length else b""
                owner.requests.append(Seen(self.command, self.path, self.headers.get("host"), body))
                payload = owner.body if isinstance(owner.body, bytes) else json.dumps(owner.body).encode()
                self.send_response(owner.status)
                for name, value in owner.headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            def get_request(self) -> tuple[socket.socket, Any]:
                raw, address = self.socket.accept()
                owner.connections += 1
                raw.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
                return context.wrap_socket(raw, server_side=True), address

        self._server = Server((self.bind, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
