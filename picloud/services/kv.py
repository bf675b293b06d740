"""KV commands and queries: an app's key-value collections over the event log.

A write is one transaction: take the app's append lock, read the key's
current value and stream version, append ``kv.set`` / ``kv.deleted`` with that
previous value, and update ``kv_entries``. Usually that is one statement
(:mod:`picloud.services.direct`); when the app has triggers the event may
fire it is a transaction (BEGIN and the lock in one round trip,
:func:`locked_transaction`) whose append runs the inline projection and the
outbox hook. Because
every append of an app runs under its lock, two concurrent sets of one key
are serial: the log holds both, in order, the second carrying the first's
value as ``prev_value``. Reads are plain queries on ``kv_entries`` (read
committed), so a caller sees its own committed writes.

Values arrive and leave in their stored JSON form (:mod:`picloud.sdk._values`);
this module checks names, sizes and cursors and never sees Rhai types. The
app id is always the caller's (the running script's), never user input.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import msgspec

# Imported for its side effect: registering the kv projection.
import picloud.projections.kv  # noqa: F401
from picloud.errors import InvalidInput, PayloadTooLarge
from picloud.events.kv import KvDeleted, KvSet, kv_stream
from picloud.events.store import append
from picloud.events.types import EventMeta
from picloud.services.direct import write_direct

__all__ = [
    "COLLECTION_PATTERN",
    "DEFAULT_LIST_LIMIT",
    "MAX_LIST_LIMIT",
    "KvEntry",
    "KvLimits",
    "KvPage",
    "check_collection",
    "check_key",
    "check_limit",
    "check_prefix",
    "delete",
    "encode_value",
    "get",
    "has",
    "list_entries",
    "locked_transaction",
    "set_value",
]

#: Collection names: a letter, digit or ``_``, then up to 63 of those, ``-`` or ``.``.
COLLECTION_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
#: C0 and C1 control characters, refused in keys (one regex scan: a key is checked per call).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Page size of ``list`` when none is given, and the largest allowed.
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000

_encode = msgspec.json.encode
_decode = msgspec.json.decode


@dataclass(frozen=True, slots=True)
class KvLimits:
    """Size limits of keys and values (from ``PICLOUD_KV_*``)."""

    max_value_bytes: int = 1024 * 1024
    max_key_bytes: int = 256

    @classmethod
    def from_settings(cls, settings: Any) -> KvLimits:
        """The limits configured in ``settings``."""
        return cls(
            max_value_bytes=settings.kv_max_value_bytes, max_key_bytes=settings.kv_max_key_bytes
        )


class KvEntry(msgspec.Struct, frozen=True):
    """One key and its value (stored JSON form)."""

    key: str
    value: Any


class KvPage(msgspec.Struct, frozen=True):
    """A page of ``list``: entries in key order and the cursor of the next page (or ``None``)."""

    items: list[KvEntry]
    cursor: str | None


# ---------------------------------------------------------------- validation


def check_collection(name: Any) -> str:
    """A valid collection name, or ``InvalidInput`` (``kv_invalid_collection``)."""
    if not isinstance(name, str) or not COLLECTION_PATTERN.match(name):
        raise InvalidInput(
            "collection name must be 1-64 characters of letters, digits, '_', '-' or '.',"
            " not starting with '-' or '.'",
            code="kv_invalid_collection",
            details={"field": "collection"},
        )
    return str(name)


def check_key(key: Any, limits: KvLimits) -> str:
    """A valid key: a non-empty string of printable characters within the byte limit."""
    if not isinstance(key, str) or not key:
        raise InvalidInput(
            "key must be a non-empty string", code="kv_invalid_key", details={"field": "key"}
        )
    text: str = str(key)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput(
            "key is not valid Unicode text", code="kv_invalid_key", details={"field": "key"}
        ) from None
    if size > limits.max_key_bytes:
        raise InvalidInput(
            f"key is {size} bytes (UTF-8), over the limit of {limits.max_key_bytes}",
            code="kv_key_too_long",
            details={"field": "key", "max_bytes": limits.max_key_bytes},
        )
    # Control characters (NUL above all: PostgreSQL text cannot hold it) would
    # make keys unprintable in the audit log and the dashboard.
    if _CONTROL.search(text):
        raise InvalidInput(
            "key must not contain control characters",
            code="kv_invalid_key",
            details={"field": "key"},
        )
    return text


def encode_value(stored: Any, limits: KvLimits) -> bytes:
    """The stored value as JSON bytes, refused when over ``max_value_bytes``."""
    try:
        data = _encode(stored)
    except UnicodeEncodeError:
        raise InvalidInput(
            "value: holds text that is not valid Unicode (a lone surrogate)",
            code="unsupported_value",
            details={"field": "value"},
        ) from None
    if len(data) > limits.max_value_bytes:
        raise PayloadTooLarge(
            f"value is {len(data)} bytes as stored JSON, over the limit of"
            f" {limits.max_value_bytes}",
            code="kv_value_too_large",
            details={"field": "value", "max_bytes": limits.max_value_bytes},
        )
    return data


def check_prefix(prefix: Any, limits: KvLimits) -> str:
    """A list prefix: a string no longer than a key, without NUL (``kv_invalid_prefix``)."""
    if not isinstance(prefix, str):
        raise InvalidInput(
            "prefix must be a string", code="kv_invalid_prefix", details={"field": "prefix"}
        )
    text: str = str(prefix)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        size = -1
    if size < 0 or "\x00" in text or size > limits.max_key_bytes:
        raise InvalidInput(
            f"prefix must be valid text without NUL, at most {limits.max_key_bytes} bytes",
            code="kv_invalid_prefix",
            details={"field": "prefix"},
        )
    return text


def check_limit(limit: Any) -> int:
    """A page size in 1..MAX_LIST_LIMIT (``None``: the default)."""
    if limit is None:
        return DEFAULT_LIST_LIMIT
    if type(limit) is not int or not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidInput(
            f"limit must be an integer from 1 to {MAX_LIST_LIMIT}",
            code="kv_invalid_limit",
            details={"field": "limit"},
        )
    return int(limit)


# ---------------------------------------------------------------- reads


async def get(conn: Any, app_id: str, collection: str, key: str) -> tuple[bool, Any]:
    """``(True, stored value)`` for a present key, ``(False, None)`` otherwise."""
    text = await conn.fetchval(
        "SELECT value::text FROM kv_entries WHERE app_id = $1::uuid AND collection = $2"
        " AND key = $3",
        app_id,
        collection,
        key,
    )
    return (False, None) if text is None else (True, _decode(text))


async def has(conn: Any, app_id: str, collection: str, key: str) -> bool:
    """Whether the key is present."""
    found = await conn.fetchval(
        "SELECT 1 FROM kv_entries WHERE app_id = $1::uuid AND collection = $2 AND key = $3",
        app_id,
        collection,
        key,
    )
    return found is not None


def _prefix_end(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (code point order)."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000  # surrogates never occur in valid text
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def _cursor(collection: str, prefix: str, key: str) -> str:
    raw = _encode({"c": collection, "p": prefix, "k": key})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _after(cursor: str | None, collection: str, prefix: str) -> str | None:
    """The last key of the previous page, from an opaque cursor (checked against the listing)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = _decode(raw)
        ok = isinstance(data, dict) and isinstance(data.get("k"), str) and "\x00" not in data["k"]
    except (binascii.Error, ValueError, msgspec.DecodeError):
        ok = False
    if not ok:
        raise InvalidInput(
            "cursor is not one list() returned",
            code="kv_invalid_cursor",
            details={"field": "cursor"},
        )
    if data.get("c") != collection or data.get("p") != prefix:
        raise InvalidInput(
            "cursor belongs to another collection or prefix",
            code="kv_invalid_cursor",
            details={"field": "cursor"},
        )
    return str(data["k"])


async def list_entries(
    conn: Any,
    app_id: str,
    collection: str,
    *,
    prefix: str = "",
    limit: int = DEFAULT_LIST_LIMIT,
    cursor: str | None = None,
) -> KvPage:
    """Entries in key order (UTF-8 byte order), after ``cursor``, whose key starts with ``prefix``.

    The cursor is the last key returned, so a page never repeats or skips a
    key that stayed put while others were added or removed.
    """
    after = _after(cursor, collection, prefix)
    # One row more than asked tells whether another page exists.
    rows = await conn.fetch(
        "SELECT key, value::text AS value FROM kv_entries"
        " WHERE app_id = $1::uuid AND collection = $2 AND key >= $3"
        " AND ($4::text IS NULL OR key < $4) AND ($5::text IS NULL OR key > $5)"
        " ORDER BY key LIMIT $6",
        app_id,
        collection,
        prefix,
        _prefix_end(prefix) if prefix else None,
        after,
        limit + 1,
    )
    items = [KvEntry(r["key"], _decode(r["value"])) for r in rows[:limit]]
    more = len(rows) > limit
    return KvPage(items, _cursor(collection, prefix, items[-1].key) if more else None)


# ---------------------------------------------------------------- writes


@asynccontextmanager
async def locked_transaction(conn: Any, app_id: str) -> AsyncIterator[None]:
    """A transaction that holds the app's append lock from its first statement on.

    ``BEGIN`` and ``picloud_lock_app`` travel as one simple-protocol query: one
    round trip instead of two, and the lock is held exactly as long as before.
    That protocol takes no parameters, so the app id is written into the text,
    as the canonical form of a ``uuid.UUID`` (hex digits and dashes): the
    caller's app, never script input. The reads that need the lock must come
    in a later statement: a READ COMMITTED statement reads from the snapshot it
    took when it started, before any wait for the lock, so a read sharing the
    lock's statement would miss the very write it waited for.
    """
    literal = str(uuid.UUID(app_id))
    try:
        await conn.execute(f"BEGIN; SELECT picloud_lock_app('{literal}'::uuid)")
        yield
    except BaseException:
        # asyncpg would roll back on release too, but warn about a transaction
        # it did not start; the connection may also be broken already.
        if not conn.is_closed() and conn.is_in_transaction():
            with suppress(Exception):  # the original error is the one to report
                await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


async def _current(conn: Any, app_id: str, collection: str, key: str) -> tuple[int, str | None]:
    """The key's stream version and its value as JSON text (``None``: absent)."""
    row = await conn.fetchrow(
        "SELECT (SELECT version FROM events WHERE stream = $1 ORDER BY version DESC LIMIT 1)"
        " AS version,"
        " (SELECT value::text FROM kv_entries WHERE app_id = $2::uuid AND collection = $3"
        " AND key = $4) AS value",
        kv_stream(app_id, collection, key),
        app_id,
        collection,
        key,
    )
    return int(row["version"] or 0), row["value"]


async def set_value(
    conn: Any, meta: EventMeta, app_id: str, collection: str, key: str, value: bytes
) -> None:
    """Set ``key`` to ``value`` (stored JSON bytes from :func:`encode_value`); always appends."""
    # prev_value and created are filled in under the app lock (by the SQL function).
    event = KvSet(app_id=app_id, collection=collection, key=key, value=msgspec.Raw(value))
    if await _direct(conn, meta, event) is not None:
        return
    async with locked_transaction(conn, app_id):
        # Under the app's lock no other write of the app runs, so the value
        # read here is exactly the one this event replaces.
        version, prev = await _current(conn, app_id, collection, key)
        event = KvSet(
            app_id=app_id,
            collection=collection,
            key=key,
            value=msgspec.Raw(value),
            prev_value=None if prev is None else msgspec.Raw(prev.encode()),
            created=prev is None,
        )
        await append(
            conn, kv_stream(app_id, collection, key), version, [event], meta, app_id=app_id
        )


async def delete(conn: Any, meta: EventMeta, app_id: str, collection: str, key: str) -> bool:
    """Delete ``key``; ``False`` (and no event) when it was not there."""
    # One statement tells a miss ("absent", nothing written) from a deletion.
    status = await _direct(conn, meta, KvDeleted(app_id=app_id, collection=collection, key=key))
    if status is not None:
        return status == "ok"
    # A miss needs no lock: it is ordered before any concurrent set.
    if not await has(conn, app_id, collection, key):
        return False
    async with locked_transaction(conn, app_id):
        version, prev = await _current(conn, app_id, collection, key)
        if prev is None:
            return False
        event = KvDeleted(
            app_id=app_id, collection=collection, key=key, prev_value=msgspec.Raw(prev.encode())
        )
        await append(
            conn, kv_stream(app_id, collection, key), version, [event], meta, app_id=app_id
        )
    return True


async def _direct(conn: Any, meta: EventMeta, event: KvSet | KvDeleted) -> str | None:
    """The write in one statement (:mod:`picloud.services.direct`): its status, or ``None``."""
    row = await write_direct(
        conn,
        "kv",
        event,
        kv_stream(event.app_id, event.collection, event.key),
        meta,
        app_id=event.app_id,
        collection=event.collection,
        target=event.key,
    )
    return None if row is None else str(row["o_status"])
