"""Subscriber tokens: HMAC-SHA256 over a URL-safe payload, one signing key per app.

A token is ``<payload>.<signature>``, both unpadded URL-safe base64: the payload
is JSON ``{"a": app id, "t": [topics], "e": expiry (unix seconds)}``, the
signature HMAC-SHA256 of the payload text under the app's key. The key lives in
``app_secrets`` (created on the first mint) and never in the event log; a
rotation replaces it, which invalidates every token of the app at once, and
logs only that it happened. There is no per-token revocation: short TTLs are
the safety mechanism.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Any

import msgspec

from picloud.errors import InvalidInput

__all__ = [
    "KEY_NAME",
    "check_topics",
    "clamp_ttl",
    "mint",
    "parse",
    "rotate_key",
    "sign",
    "signing_key",
    "verify",
]

#: The ``app_secrets`` row holding the signing key.
KEY_NAME = "subscriber_token_key"


class _Payload(msgspec.Struct, frozen=True):
    a: str
    t: list[str]
    e: int


_encode = msgspec.json.Encoder()
_decode = msgspec.json.Decoder(_Payload)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def clamp_ttl(ttl: int | None, settings: Any) -> int:
    """The TTL to mint with: the default when ``None``, else clamped to the configured range."""
    if ttl is None:
        return int(settings.subscriber_token_ttl_default_sec)
    return max(
        int(settings.subscriber_token_ttl_min_sec),
        min(int(settings.subscriber_token_ttl_max_sec), int(ttl)),
    )


async def signing_key(conn: Any, app_id: str, *, create: bool) -> bytes | None:
    """The app's key; made (32 random bytes) when ``create`` and there is none yet."""
    if create:
        # Two first mints racing both insert; one wins and both read the winner.
        await conn.execute(
            "INSERT INTO app_secrets (app_id, name, secret) VALUES ($1::uuid, $2, $3)"
            " ON CONFLICT DO NOTHING",
            app_id,
            KEY_NAME,
            secrets.token_bytes(32),
        )
    value = await conn.fetchval(
        "SELECT secret FROM app_secrets WHERE app_id = $1::uuid AND name = $2", app_id, KEY_NAME
    )
    return None if value is None else bytes(value)


def sign(key: bytes, app_id: str, topics: list[str], expires: int) -> str:
    """The token for ``topics`` of ``app_id`` valid until ``expires`` (unix seconds)."""
    payload = _b64(_encode.encode(_Payload(app_id, sorted(set(topics)), expires)))
    signature = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def parse(key: bytes, token: str, now: float | None = None) -> _Payload | None:
    """The token's payload when its signature is the key's and it has not expired."""
    payload, sep, signature = token.partition(".")
    if not sep or not payload or not signature or len(token) > 8192:
        return None
    try:
        given = _unb64(signature)
        expected = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            return None
        data = _decode.decode(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeEncodeError, msgspec.DecodeError):
        return None
    if data.e <= (time.time() if now is None else now):
        return None
    return data


async def mint(conn: Any, app_id: str, topics: list[str], ttl: int) -> tuple[str, int]:
    """A token for ``topics`` (already checked) valid ``ttl`` seconds; ``(token, expiry)``."""
    key = await signing_key(conn, app_id, create=True)
    assert key is not None
    expires = int(time.time()) + ttl
    return sign(key, app_id, topics, expires), expires


async def verify(conn: Any, app_id: str, token: str | None, topic: str) -> bool:
    """Whether ``token`` admits a subscriber to ``topic`` of ``app_id`` now."""
    if not token:
        return False
    key = await signing_key(conn, app_id, create=False)
    if key is None:
        return False
    data = parse(key, token)
    return data is not None and data.a == app_id and topic in data.t


async def rotate_key(conn: Any, meta: Any, app_id: str) -> None:
    """Replace the app's key and log that it happened (never the key), in one transaction."""
    from picloud.events.pubsub import SubscriberKeyRotated, realtime_stream
    from picloud.events.store import append

    async with conn.transaction():
        await append(
            conn, realtime_stream(app_id), None, [SubscriberKeyRotated(app_id)], meta, app_id=app_id
        )
        await _replace_key(conn, app_id)


async def _replace_key(conn: Any, app_id: str) -> None:
    await conn.execute(
        "INSERT INTO app_secrets (app_id, name, secret) VALUES ($1::uuid, $2, $3)"
        " ON CONFLICT (app_id, name) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()",
        app_id,
        KEY_NAME,
        secrets.token_bytes(32),
    )


def check_topics(topics: Any) -> list[str]:
    """A non-empty list of topic names (``InvalidInput`` ``pubsub_invalid_topics`` otherwise)."""
    from picloud.services.pubsub import check_topic

    if not isinstance(topics, list) or not topics or len(topics) > 100:
        raise InvalidInput(
            "topics must be a list of 1-100 topic names",
            code="pubsub_invalid_topics",
            details={"field": "topics"},
        )
    return [check_topic(t) for t in topics]
