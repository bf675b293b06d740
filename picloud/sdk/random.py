"""``random::``: unpredictable numbers, UUIDs and bytes from the OS's CSPRNG (``secrets``)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

from picloud.sdk._common import fail, namespace, want_int

__all__ = ["MAX_BYTES", "random_members"]

_P = "random"
#: Largest ``random::bytes(n)``.
MAX_BYTES = 65_536


def _int(lo: Any, hi: Any) -> int:
    """``random::int(lo, hi)``: uniform in ``lo..=hi`` (both ends included)."""
    low = want_int(_P, "int", lo)
    high = want_int(_P, "int", hi)
    if low > high:
        fail(_P, f"int: lo ({low}) is greater than hi ({high})")
    return low + secrets.randbelow(high - low + 1)


def _float() -> float:
    """``random::float()``: uniform in ``[0.0, 1.0)``."""
    # 53 random bits fill a double's mantissa exactly.
    return secrets.randbits(53) / (1 << 53)


def _uuid() -> str:
    """``random::uuid()``: a random (version 4) UUID in its hyphenated lowercase form."""
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


def _bytes(n: Any) -> bytearray:
    """``random::bytes(n)``: a Blob of ``n`` random bytes (``0 <= n <= MAX_BYTES``)."""
    n = want_int(_P, "bytes", n)
    if not 0 <= n <= MAX_BYTES:
        fail(_P, f"bytes: n must be between 0 and {MAX_BYTES}, got {n}")
    return bytearray(secrets.token_bytes(n))


def random_members() -> dict[str, Callable[..., Any]]:
    """The ``random::`` namespace."""
    return namespace(_P, {"int": _int, "float": _float, "uuid": _uuid, "bytes": _bytes})
