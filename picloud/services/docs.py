"""Document commands and queries: one app's schemaless JSON collections.

Writes run in one transaction each: take the app's append lock, read the
current row, append the ``doc.*`` event (``prev_data`` = the row just read)
and update ``docs`` — as one statement (:mod:`picloud.services.direct`), or,
when the app has triggers the event may fire, as a transaction whose append
runs the inline projection and the outbox hook. Because every append of an app
holds that lock from before the read to COMMIT, two concurrent ``update``\\ s
of one document are serial: the second reads what the first wrote, so the log
holds both, in order, each with the right ``prev_data`` (the stream version
check is the backstop). A refused write appends nothing.

Data here is already in its stored JSON form (``picloud.sdk._values.to_stored``:
Blobs as markers); the service checks shape and size, never Rhai types.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

# Imported for its side effect: registering the docs projection.
import picloud.projections.docs  # noqa: F401
from picloud.errors import InvalidInput, PayloadTooLarge
from picloud.events.docs import DocCreated, DocDeleted, DocUpdated, doc_stream
from picloud.services._store import NEW_STREAM, emit
from picloud.services.context import CommandContext
from picloud.services.direct import write_direct
from picloud.services.docs_query import compile_filter, plain_value
from picloud.services.kv import locked_transaction
from picloud.services.validation import is_uuid

__all__ = [
    "DEFAULT_LIMITS",
    "DocPage",
    "DocRecord",
    "DocsLimits",
    "check_collection",
    "create_doc",
    "delete_doc",
    "find_docs",
    "find_sql",
    "get_doc",
    "list_docs",
    "update_doc",
]

_COLLECTION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_COLS = "id::text AS id, collection, data, version, created_at, updated_at, seq"
_CURSOR_PREFIX = "d1:"


@dataclass(frozen=True, slots=True)
class DocsLimits:
    """Size and page limits (from ``PICLOUD_DOCS_*`` settings)."""

    max_doc_bytes: int = 1024 * 1024
    """Largest document, measured as its stored JSON (a Blob counts as its base64)."""
    default_page_size: int = 100
    """Page size of ``list`` without a ``limit``."""
    max_page_size: int = 1000
    """Largest ``list`` limit and ``$limit``; also what ``find`` returns at most."""

    @classmethod
    def from_settings(cls, settings: Any) -> DocsLimits:
        """The limits ``settings`` configures (defaults for fields it lacks)."""
        base = cls()
        return cls(
            max_doc_bytes=getattr(settings, "docs_max_doc_bytes", base.max_doc_bytes),
            default_page_size=getattr(settings, "docs_default_page_size", base.default_page_size),
            max_page_size=getattr(settings, "docs_max_page_size", base.max_page_size),
        )


DEFAULT_LIMITS = DocsLimits()


class DocRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One stored document: its envelope fields and data in stored JSON form."""

    id: str
    collection: str
    data: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class DocPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of ``list``: the documents and the cursor of the next page (``None`` at the end)."""

    items: list[DocRecord]
    cursor: str | None


def _record(row: Any) -> DocRecord:
    return DocRecord(
        id=row["id"],
        collection=row["collection"],
        data=row["data"],
        version=int(row["version"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# ---------------------------------------------------------------- validation


def check_collection(name: Any) -> str:
    """A collection name: 1–128 letters, digits, ``_ - .``, not starting with ``-`` or ``.``."""
    if not isinstance(name, str) or not _COLLECTION.match(name):
        raise InvalidInput(
            "collection: must be 1-128 letters, digits, '_', '-' or '.', starting with a"
            " letter, digit or '_'",
            code="invalid_collection",
            details={"field": "collection"},
        )
    return str(name)


def _check_data(data: Any, limits: DocsLimits) -> dict[str, Any]:
    """A top-level map within the size limit (its stored JSON is what is measured)."""
    if type(data) is not dict:
        raise InvalidInput(
            "data: a document must be a map at the top level",
            code="invalid_document",
            details={"field": "data"},
        )
    size = len(msgspec.json.encode(data))
    if size > limits.max_doc_bytes:
        raise PayloadTooLarge(
            f"data: the document is {size} bytes, at most {limits.max_doc_bytes} allowed"
            " (PICLOUD_DOCS_MAX_DOC_BYTES)",
            code="doc_too_large",
            details={"field": "data", "size": size, "max_bytes": limits.max_doc_bytes},
        )
    return data


def _check_limit(limit: Any, limits: DocsLimits) -> int:
    if limit is None:
        return limits.default_page_size
    if type(limit) is not int or not 1 <= limit <= limits.max_page_size:
        raise InvalidInput(
            f"limit: must be an integer from 1 to {limits.max_page_size}",
            code="invalid_limit",
            details={"field": "limit"},
        )
    return limit


def encode_cursor(seq: int) -> str:
    """The opaque cursor after the document with this ``seq``."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: Any) -> int:
    """The ``seq`` a cursor points after; ``invalid_cursor`` for anything we did not make."""
    if isinstance(cursor, str) and 0 < len(cursor) <= 64:
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = ""
        if text.startswith(_CURSOR_PREFIX) and text[len(_CURSOR_PREFIX) :].isdigit():
            return int(text[len(_CURSOR_PREFIX) :])
    raise InvalidInput(
        "cursor: not a cursor returned by list()",
        code="invalid_cursor",
        details={"field": "cursor"},
    )


# ---------------------------------------------------------------- queries


async def get_doc(conn: Any, app_id: str, collection: str, doc_id: Any) -> DocRecord | None:
    """The document, or ``None`` (also for an id that is not a UUID)."""
    collection = check_collection(collection)
    if not isinstance(doc_id, str) or not is_uuid(doc_id):
        return None
    row = await conn.fetchrow(
        f"SELECT {_COLS} FROM docs WHERE app_id = $1::uuid AND collection = $2 AND id = $3::uuid",
        app_id,
        collection,
        doc_id,
    )
    return None if row is None else _record(row)


def find_sql(
    app_id: str,
    collection: str,
    filter: dict[str, Any] | None,
    limits: DocsLimits = DEFAULT_LIMITS,
    convert: Callable[[Any], Any] = plain_value,
    one: bool = False,
) -> tuple[str, list[Any]]:
    """The SELECT of ``find`` (exposed so a test can EXPLAIN it) and its parameters."""
    q = compile_filter(
        filter, first_param=3, tiebreak="seq", max_limit=limits.max_page_size, convert=convert
    )
    limit = 1 if one else (q.limit or limits.max_page_size)
    params: list[Any] = [app_id, check_collection(collection), *q.params, limit]
    sql = (
        f"SELECT {_COLS} FROM docs WHERE app_id = $1::uuid AND collection = $2"
        f" AND {q.where} ORDER BY {q.order_by} LIMIT ${len(params)}::bigint"
    )
    return sql, params


async def find_docs(
    conn: Any,
    app_id: str,
    collection: str,
    filter: dict[str, Any] | None,
    limits: DocsLimits = DEFAULT_LIMITS,
    convert: Callable[[Any], Any] = plain_value,
    one: bool = False,
) -> list[DocRecord]:
    """Documents matching ``filter`` (see :mod:`picloud.services.docs_query`), in its order."""
    sql, params = find_sql(app_id, collection, filter, limits, convert, one)
    return [_record(r) for r in await conn.fetch(sql, *params)]


async def list_docs(
    conn: Any,
    app_id: str,
    collection: str,
    limit: Any = None,
    cursor: Any = None,
    limits: DocsLimits = DEFAULT_LIMITS,
) -> DocPage:
    """One page in creation order; the cursor stays valid while documents come and go."""
    collection = check_collection(collection)
    n = _check_limit(limit, limits)
    after = 0 if cursor is None else decode_cursor(cursor)
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM docs WHERE app_id = $1::uuid AND collection = $2 AND seq > $3"
        " ORDER BY seq LIMIT $4",
        app_id,
        collection,
        after,
        n + 1,
    )
    more = len(rows) > n
    rows = rows[:n]
    return DocPage(
        items=[_record(r) for r in rows],
        cursor=encode_cursor(rows[-1]["seq"]) if more else None,
    )


# ---------------------------------------------------------------- commands


async def create_doc(
    conn: Any,
    ctx: CommandContext,
    app_id: str,
    collection: str,
    data: Any,
    limits: DocsLimits = DEFAULT_LIMITS,
) -> DocRecord:
    """Store a new document at version 1 under a fresh id."""
    collection = check_collection(collection)
    data = _check_data(data, limits)
    doc_id = str(uuid.uuid4())
    event = DocCreated(app_id=app_id, collection=collection, doc_id=doc_id, data=data)
    row = await _direct(conn, ctx, event)
    if row is not None:
        version, at = row["o_version"], row["o_recorded_at"]
    else:
        async with conn.transaction():
            (rec,) = await emit(conn, ctx, doc_stream(doc_id), NEW_STREAM, [event], app_id=app_id)
        version, at = rec.version, rec.recorded_at
    return DocRecord(
        id=doc_id, collection=collection, data=data, version=version, created_at=at, updated_at=at
    )


async def _current(conn: Any, app_id: str, collection: str, doc_id: str) -> Any:
    # Called under the app's append lock: no other write of this app can run
    # between this read and our append, so the row is the true previous state.
    return await conn.fetchrow(
        "SELECT data, version, created_at FROM docs"
        " WHERE app_id = $1::uuid AND collection = $2 AND id = $3::uuid",
        app_id,
        collection,
        doc_id,
    )


async def update_doc(
    conn: Any,
    ctx: CommandContext,
    app_id: str,
    collection: str,
    doc_id: Any,
    data: Any,
    limits: DocsLimits = DEFAULT_LIMITS,
) -> DocRecord | None:
    """Replace a document's data (version + 1); ``None`` when there is no such document."""
    collection = check_collection(collection)
    data = _check_data(data, limits)
    if not isinstance(doc_id, str) or not is_uuid(doc_id):
        return None
    # prev_data is filled in under the app lock (by the SQL function).
    direct = await _direct(
        conn,
        ctx,
        DocUpdated(app_id=app_id, collection=collection, doc_id=doc_id, data=data, prev_data={}),
    )
    if direct is not None:
        if direct["o_status"] == "absent":
            return None
        version, created, updated = (
            direct["o_version"],
            direct["o_created_at"],
            direct["o_recorded_at"],
        )
    else:
        # BEGIN and the app lock in one round trip; the read is its own statement
        # so that it sees whatever committed while this one waited for the lock.
        async with locked_transaction(conn, app_id):
            row = await _current(conn, app_id, collection, doc_id)
            if row is None:
                return None
            event = DocUpdated(
                app_id=app_id,
                collection=collection,
                doc_id=doc_id,
                data=data,
                prev_data=row["data"],
            )
            (rec,) = await emit(
                conn, ctx, doc_stream(doc_id), row["version"], [event], app_id=app_id
            )
        version, created, updated = rec.version, row["created_at"], rec.recorded_at
    return DocRecord(
        id=doc_id,
        collection=collection,
        data=data,
        version=version,
        created_at=created,
        updated_at=updated,
    )


async def delete_doc(
    conn: Any, ctx: CommandContext, app_id: str, collection: str, doc_id: Any
) -> bool:
    """Delete a document; whether it was there."""
    collection = check_collection(collection)
    if not isinstance(doc_id, str) or not is_uuid(doc_id):
        return False
    direct = await _direct(
        conn, ctx, DocDeleted(app_id=app_id, collection=collection, doc_id=doc_id, prev_data={})
    )
    if direct is not None:
        return bool(direct["o_status"] == "ok")
    # BEGIN and the app lock in one round trip; the read is its own statement
    # so that it sees whatever committed while this one waited for the lock.
    async with locked_transaction(conn, app_id):
        row = await _current(conn, app_id, collection, doc_id)
        if row is None:
            return False
        event = DocDeleted(
            app_id=app_id, collection=collection, doc_id=doc_id, prev_data=row["data"]
        )
        await emit(conn, ctx, doc_stream(doc_id), row["version"], [event], app_id=app_id)
    return True


async def _direct(
    conn: Any, ctx: CommandContext, event: DocCreated | DocUpdated | DocDeleted
) -> Any:
    """The write in one statement (:mod:`picloud.services.direct`): its row, or ``None``."""
    return await write_direct(
        conn,
        "docs",
        event,
        doc_stream(event.doc_id),
        ctx.meta(),
        app_id=event.app_id,
        collection=event.collection,
        target=event.doc_id,
    )
