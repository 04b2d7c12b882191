"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a free port, keeping what it receives.

In a test package, make the fixture available from its conftest.py and point the app at it:

    from tests.smtp import smtp_server  # noqa: F401  (the fixture)

    @pytest.fixture
    def app_config(app_config, smtp_server):
        return {**app_config, **smtp_server.app_config, "MAIL_DELIVERY": "inline"}

    def test_confirmation_is_sent(client, smtp_server):
        ...
        [mail] = smtp_server.messages            # email.message.EmailMessage (policy.default)
        assert mail["To"] == "Ada <ada@example.com>"

Or, outside pytest fixtures: `with running_smtp_server() as server: ...`. The server can refuse on purpose
(`server.refuse(550, "No such mailbox")`), be stopped and started again on the same port (`stop()`, `start()`),
ask for a login (`SmtpServer(credentials=("user", "pass"))`) and require STARTTLS with a certificate of its own
(`SmtpServer(tls=True)`; trust it with `monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)`).
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes  # exactly the bytes of the DATA command
    message: EmailMessage
    login: str | None  # the user name the client signed in with, if any


class SmtpServer:
    def __init__(self, *, credentials: tuple[str, str] | None = None, tls: bool = False):
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.credentials = credentials
        self._tls_dir = tempfile.TemporaryDirectory(prefix="smtp-tls-") if tls else None
        self.ca_file = _self_signed_certificate(Path(self._tls_dir.name), self.host) if tls else None
        self.received: list[Received] = []
        self._refusal: tuple[str, int, str] | None = None
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    # --- what the app needs -----------------------------------------------------------------------------------
    @property
    def app_config(self) -> dict:
        config = {"SMTP_HOST": self.host, "SMTP_PORT": self.port}
        if self.credentials:
            config.update(SMTP_USERNAME=self.credentials[0], SMTP_PASSWORD=self.credentials[1])
        if self.ca_file:
            config["SMTP_STARTTLS"] = True
        return config

    @property
    def messages(self) -> list[EmailMessage]:
        return [received.message for received in self.received]

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages once at least `count` have arrived (for deliveries from another thread)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} message(s) within {timeout}s, got {len(self.received)}")
        return self.messages

    # --- behaviour ----------------------------------------------------------------------------------------------
    def refuse(self, code: int, text: str = "Refused", *, at: str = "RCPT") -> None:
        """Answer `code text` to every RCPT (or DATA) until `accept()`."""
        assert at in ("RCPT", "DATA")
        self._refusal = (at, code, text)

    def accept(self) -> None:
        self._refusal = None

    def start(self) -> None:
        kwargs = {}
        if self.credentials:
            kwargs = dict(auth_required=True, auth_require_tls=bool(self.ca_file), authenticator=self._authenticate)
        if self.ca_file:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.ca_file, Path(self.ca_file).with_name("key.pem"))
            kwargs.update(tls_context=context, require_starttls=True)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def close(self) -> None:
        self.stop()
        if self._tls_dir is not None:
            self._tls_dir.cleanup()

    # --- internals ----------------------------------------------------------------------------------------------
    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        user, password = self.credentials
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
        given = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
        return AuthResult(success=(login, given) == (user, password), handled=False, auth_data=auth_data)

    def _store(self, envelope, session) -> None:
        login = getattr(session.auth_data, "login", None) if session.authenticated else None
        raw = bytes(envelope.original_content or envelope.content)
        received = Received(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), raw=raw,
                            message=message_from_bytes(raw, policy=policy.default),
                            login=login.decode() if isinstance(login, bytes) else login)
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        refusal = self.server._refusal
        if refusal and refusal[0] == "RCPT":
            return f"{refusal[1]} {refusal[2]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        refusal = self.server._refusal
        if refusal and refusal[0] == "DATA":
            return f"{refusal[1]} {refusal[2]}"
        self.server._store(envelope, session)
        return "250 Message accepted for delivery"


def _self_signed_certificate(directory: Path, host: str) -> str:
    """A certificate for `host` that is its own authority; returns the PEM file to trust (key.pem beside it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test SMTP server {host}")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(directory / "cert.pem")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_smtp_server(**options) -> Iterator[SmtpServer]:
    server = SmtpServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server on 127.0.0.1; its `app_config` points SMTP_HOST/SMTP_PORT at it."""
    with running_smtp_server() as server:
        yield server


def wait_until(condition, timeout: float = 5.0, step: float = 0.02) -> None:
    """Poll `condition()` until true (for work done by another thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)
