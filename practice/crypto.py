"""Encryption at rest for sensitive columns (intake answers, two-step secrets).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, with MultiFernet for rotation: the first key encrypts,
every key decrypts, and `rotate` re-encrypts old tokens with the first key.
"""
from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import LargeBinary, TypeDecorator


class KeyringError(RuntimeError):
    pass


class Keyring:
    def __init__(self) -> None:
        self._fernet: MultiFernet | None = None

    def configure(self, keys: list[str]) -> None:
        if not keys:
            raise KeyringError("no encryption keys configured (ENCRYPTION_KEYS)")
        try:
            self._fernet = MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
        except ValueError as exc:
            raise KeyringError(f"ENCRYPTION_KEYS holds a key that is not a Fernet key: {exc}") from None

    @property
    def fernet(self) -> MultiFernet:
        if self._fernet is None:
            raise KeyringError("encryption keys are not configured")
        return self._fernet

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self.fernet.decrypt(token)
        except InvalidToken:
            raise KeyringError("cannot decrypt: none of the configured keys fits this value") from None

    def rotate(self, token: bytes) -> bytes:
        return self.fernet.rotate(token)


keyring = Keyring()


def new_key() -> str:
    return Fernet.generate_key().decode()


class EncryptedText(TypeDecorator):
    """A string stored encrypted; the database only ever sees ciphertext."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect):
        return None if value is None else keyring.encrypt(value.encode("utf-8"))

    def process_result_value(self, value: bytes | None, dialect):
        return None if value is None else keyring.decrypt(bytes(value)).decode("utf-8")


class EncryptedJSON(TypeDecorator):
    """A JSON document stored encrypted."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect):
        if value is None:
            return None
        return keyring.encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"))

    def process_result_value(self, value: bytes | None, dialect):
        return None if value is None else json.loads(keyring.decrypt(bytes(value)))
