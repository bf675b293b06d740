"""Bearer secrets: API keys (``pk_…``) and session tokens, stored only as hashes.

Both are 256-bit random strings, so a single SHA-256 is enough to store them:
unlike passwords they cannot be guessed, and a fast hash lets every request
look its credential up by hash in one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = [
    "API_KEY_PREFIX",
    "SESSION_PREFIX",
    "display_prefix",
    "hash_secret",
    "new_api_key",
    "new_session_token",
]

API_KEY_PREFIX = "pk_"
SESSION_PREFIX = "ps_"


def new_api_key() -> str:
    """A fresh API key: ``pk_`` plus 43 URL-safe characters."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A fresh dashboard session token: ``ps_`` plus 43 URL-safe characters."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The stored form of a key or token (hex SHA-256)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The first characters of a key, safe to show in listings to tell keys apart."""
    return secret[:10]
