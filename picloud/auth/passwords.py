"""Password hashing with argon2id (argon2-cffi defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MIN_PASSWORD_LENGTH", "dummy_verify", "hash_password", "verify_password"]

#: Shorter passwords are refused at creation.
MIN_PASSWORD_LENGTH = 8
#: Upper bound so a huge "password" cannot burn CPU in the hasher.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login for a missing user
# costs the same time as one with a wrong password (no user enumeration).
_DUMMY_HASH = _hasher.hash("picloud-dummy-password")


def hash_password(password: str) -> str:
    """Return the argon2id hash string of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; never raises on a mismatch."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend one verification's time on nothing (unknown-user logins)."""
    verify_password(_DUMMY_HASH, password)
