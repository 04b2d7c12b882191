"""Manage-link secrets: generated here, stored only as hashes, checked in constant time by lookup of the hash."""
from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 24  # 192 bits; the issue asks for at least 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: object) -> bool:
    """Cheap shape check before touching the database (URL-safe base64 of TOKEN_BYTES bytes)."""
    return isinstance(token, str) and len(token) == 32 and all(c.isalnum() or c in "-_" for c in token)
