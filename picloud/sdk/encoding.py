"""``base64::`` and ``hex::``: text forms of bytes.

Encoders take a Blob or a string (encoded as UTF-8); decoders return a Blob
(``blob.as_string()`` turns it back into text). Decoders are strict: a
character outside the alphabet is an error rather than silently skipped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from picloud.sdk._common import fail, namespace, want_bytes, want_str

__all__ = ["base64_members", "hex_members"]

_B = "base64"
_H = "hex"


def _pad(s: str) -> str:
    # Padding is optional on input: unpadded text (common in URLs and JWTs) decodes too.
    return s + "=" * (-len(s) % 4)


def _b64_encode(data: Any) -> str:
    """``base64::encode(blob_or_string)``: standard alphabet, padded."""
    return base64.b64encode(want_bytes(_B, "encode", data)).decode("ascii")


def _b64_decode(text: Any) -> bytearray:
    """``base64::decode(s)``: standard alphabet, padding optional."""
    s = want_str(_B, "decode", text)
    try:
        return bytearray(base64.b64decode(_pad(s).encode("ascii"), validate=True))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        fail(_B, "decode: not valid base64")


def _b64_encode_url(data: Any) -> str:
    """``base64::encode_url(blob_or_string)``: URL-safe alphabet, no padding."""
    raw = base64.urlsafe_b64encode(want_bytes(_B, "encode_url", data))
    return raw.rstrip(b"=").decode("ascii")


def _b64_decode_url(text: Any) -> bytearray:
    """``base64::decode_url(s)``: URL-safe alphabet, padding optional."""
    s = want_str(_B, "decode_url", text)
    if "+" in s or "/" in s:
        fail(_B, "decode_url: not valid URL-safe base64")
    try:
        std = _pad(s).replace("-", "+").replace("_", "/")
        return bytearray(base64.b64decode(std.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        fail(_B, "decode_url: not valid URL-safe base64")


def _hex_encode(data: Any) -> str:
    """``hex::encode(blob_or_string)``: lowercase hex digits."""
    return want_bytes(_H, "encode", data).hex()


def _hex_decode(text: Any) -> bytearray:
    """``hex::decode(s)``: upper- or lowercase digits, an even count, nothing else."""
    s = want_str(_H, "decode", text)
    if len(s) % 2:
        fail(_H, "decode: odd number of hex digits")
    if not s.isascii() or not all(c in "0123456789abcdefABCDEF" for c in s):
        fail(_H, "decode: not a hex string")
    return bytearray(bytes.fromhex(s))


def base64_members() -> dict[str, Callable[..., Any]]:
    """The ``base64::`` namespace."""
    return namespace(
        _B,
        {
            "encode": _b64_encode,
            "decode": _b64_decode,
            "encode_url": _b64_encode_url,
            "decode_url": _b64_decode_url,
        },
    )


def hex_members() -> dict[str, Callable[..., Any]]:
    """The ``hex::`` namespace."""
    return namespace(_H, {"encode": _hex_encode, "decode": _hex_decode})
