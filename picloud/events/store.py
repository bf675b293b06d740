"""Append to and read from the event log.

:func:`append` is the only way anything is written to ``events``. It runs
inside the caller's transaction, so the caller's validation reads and later
writes (outbox rows, …) commit or roll back together with the events:

1. the SQL function ``picloud_append`` (migrations/0001, now 0055) takes the
   app's transaction advisory lock, checks the stream's version (its last
   event's, found through the unique (stream, version) index) and inserts
   the whole batch in one statement;
2. the inline projections registered for each event type are applied, still
   under that lock, with the final positions.

Because the lock is held from before the INSERT until COMMIT, an app's
appends are serial: position order equals commit order within an app, and each
projection ``apply`` sees exactly the state left by the events before it,
which is what makes ``projections rebuild --verify`` equal the live tables.

NOTIFY is off by default: a NOTIFY inside a transaction takes a cluster-wide
lock from pre-commit through the WAL flush, so every notifying commit
serializes with every other one and group commit is lost (bench/append.py
measured roughly half the throughput at 8 writers). Wake LISTENers after the
commit with :func:`notify_committed` instead, or pass ``notify=True``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from picloud.errors import Conflict, InvalidInput, PicloudError, VersionConflict
from picloud.events.codec import ROW_COLUMNS, decode_row, encode_event, encode_meta
from picloud.events.types import Event, EventMeta, RecordedEvent
from picloud.projections.base import projections_for

__all__ = [
    "MAX_BATCH",
    "NOTIFY_CHANNEL",
    "DuplicateAppend",
    "add_append_hook",
    "add_meta_hook",
    "append",
    "append_hooks",
    "append_refusal",
    "check_stream",
    "duplicate_append",
    "last_position",
    "lock_app",
    "notify_committed",
    "read_all",
    "read_app",
    "read_stream",
    "run_meta_hooks",
    "stream_version",
]

#: LISTEN here for a wake-up after each append; payload ``"<app id or empty>:<last position>"``.
NOTIFY_CHANNEL = "picloud_events"

#: Most events one append may carry.
MAX_BATCH = 10_000

_MAX_STREAM_LEN = 512

#: ``hook(meta, stream) -> meta`` run before the INSERT (e.g. a worker adding its
#: job's causation, trigger depth and idempotency key to what a handler appends).
_meta_hooks: list[Callable[[EventMeta, str], EventMeta]] = []
#: ``await hook(conn, recorded)`` run after the inline projections, still in the
#: append transaction (e.g. the outbox writer of picloud/outbox/writer.py).
_append_hooks: list[Callable[[asyncpg.Connection, list[RecordedEvent]], Awaitable[None]]] = []


def add_meta_hook(hook: Callable[[EventMeta, str], EventMeta]) -> None:
    """Let ``hook`` rewrite the metadata of every append (registered once per process)."""
    if hook not in _meta_hooks:
        _meta_hooks.append(hook)


def add_append_hook(
    hook: Callable[[asyncpg.Connection, list[RecordedEvent]], Awaitable[None]],
) -> None:
    """Run ``hook`` in every append transaction after the projections (registered once)."""
    if hook not in _append_hooks:
        _append_hooks.append(hook)


class DuplicateAppend(Conflict):
    """409: an append carried an idempotency key that an earlier append used (nothing written)."""

    code = "duplicate_append"


def append_hooks() -> tuple[
    Callable[[asyncpg.Connection, list[RecordedEvent]], Awaitable[None]], ...
]:
    """The registered append hooks, in order.

    A command that appends through a SQL function of its own instead of
    :func:`append` (one round trip for a KV write, picloud/services/kv.py)
    applies its projection itself and must know that no hook is skipped.
    """
    return tuple(_append_hooks)


def check_stream(stream: str) -> None:
    """Refuse a stream name that is not 1..512 characters (``invalid_stream``)."""
    if not isinstance(stream, str) or not stream or len(stream) > _MAX_STREAM_LEN:
        raise InvalidInput(
            f"stream must be a non-empty string of at most {_MAX_STREAM_LEN} characters",
            code="invalid_stream",
            details={"field": "stream"},
        )


def run_meta_hooks(meta: EventMeta, stream: str) -> EventMeta:
    """``meta`` as the registered meta hooks rewrite it for an append to ``stream``."""
    for meta_hook in _meta_hooks:
        meta = meta_hook(meta, stream)
    return meta


def duplicate_append(meta: EventMeta, earlier: int | None) -> DuplicateAppend:
    """The refusal of an append whose idempotency key the append at ``earlier`` used."""
    return DuplicateAppend(
        f"an append with idempotency key {meta.idempotency_key!r} already exists"
        f" (position {earlier})",
        details={"idempotency_key": meta.idempotency_key, "position": earlier},
    )


def append_refusal(
    exc: asyncpg.PostgresError, stream: str, expected_version: int | None, meta: EventMeta
) -> PicloudError | None:
    """The error a failed append statement means to a caller (``None``: not a refusal)."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        if exc.constraint_name == "events_idempotency_key_idx":
            # Another app's concurrent append used the key (same-app ones are
            # caught by the function under the app lock).
            return DuplicateAppend(
                f"an append with idempotency key {meta.idempotency_key!r} already exists",
                details={"idempotency_key": meta.idempotency_key},
            )
        # Only reachable when the caller's isolation level hides a concurrent
        # append from the version check (REPEATABLE READ); the unique
        # (stream, version) constraint is the backstop.
        return VersionConflict(
            f"stream {stream!r} was appended to concurrently",
            details={"stream": stream, "expected_version": expected_version},
        )
    if isinstance(exc, asyncpg.SerializationError):
        return VersionConflict(
            f"stream {stream!r} was appended to concurrently",
            details={"stream": stream, "expected_version": expected_version},
        )
    if getattr(exc, "sqlstate", None) == "PCE02":
        return Conflict(
            f"stream {stream!r} belongs to another app",
            code="stream_app_mismatch",
            details={"stream": stream},
        )
    return None


_APPEND = (
    "SELECT o_position, o_version, o_recorded_at"
    " FROM picloud_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)


def _app_uuid(app_id: str | uuid.UUID | None) -> uuid.UUID | None:
    if app_id is None or isinstance(app_id, uuid.UUID):
        return app_id
    try:
        return uuid.UUID(app_id)
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput(
            f"app_id {app_id!r} is not a UUID", code="invalid_app_id", details={"field": "app_id"}
        ) from None


async def append(
    conn: asyncpg.Connection,
    stream: str,
    expected_version: int | None,
    events: Sequence[Event],
    meta: EventMeta,
    *,
    app_id: str | uuid.UUID | None = None,
    notify: bool = False,
) -> list[RecordedEvent]:
    """Append ``events`` to ``stream`` inside the caller's open transaction.

    Args:
        expected_version: ``None`` accepts any version, ``0`` requires a new
            stream, ``n`` requires the stream to be at version ``n``.
        app_id: the owning app; ``None`` for instance-level events. A stream
            always belongs to one app.
        notify: NOTIFY ``picloud_events`` inside the transaction (costly, see
            the module docstring; prefer :func:`notify_committed` after commit).

    The app's append lock is held from here to COMMIT, so keep the rest of
    the transaction short. Take no row locks (``FOR UPDATE``, UPDATEs of shared
    rows) before appending unless :func:`lock_app` was called first, or two
    commands can deadlock (PostgreSQL then aborts one); likewise append to one
    app per transaction.

    ``meta.idempotency_key`` makes the append happen at most once: a later
    append with the same key writes nothing and raises :class:`DuplicateAppend`
    (``details["position"]`` is the earlier append's first event), so a job
    delivered twice cannot append twice.

    Raises:
        VersionConflict: the stream is not at ``expected_version`` (nothing is
            written; the transaction stays usable).
        DuplicateAppend: the idempotency key was used before (nothing written;
            the transaction stays usable).
        InvalidInput: bad arguments or an unregistered event class.
        PicloudError: called outside a transaction (``append_outside_transaction``).
    """
    if not conn.is_in_transaction():
        raise PicloudError(
            "append() must run inside a transaction the caller opened",
            code="append_outside_transaction",
        )
    check_stream(stream)
    if expected_version is not None and (
        not isinstance(expected_version, int)
        or isinstance(expected_version, bool)
        or expected_version < 0
    ):
        raise InvalidInput(
            "expected_version must be None or an integer >= 0",
            code="invalid_expected_version",
            details={"field": "expected_version"},
        )
    if not events:
        raise InvalidInput("append needs at least one event", code="invalid_event")
    if len(events) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} events per append", code="invalid_event")
    if not isinstance(meta, EventMeta):
        raise InvalidInput("meta must be an EventMeta", code="invalid_event_meta")
    meta = run_meta_hooks(meta, stream)
    app = _app_uuid(app_id)
    encoded = [encode_event(e) for e in events]
    try:
        rows = await conn.fetch(
            _APPEND,
            stream,
            app,
            expected_version,
            [e.type for e in encoded],
            [e.schema_version for e in encoded],
            [e.data for e in encoded],
            encode_meta(meta),
            meta.actor,
            meta.correlation_id,
            meta.causation_position,
            notify,
            meta.idempotency_key,
        )
    except asyncpg.PostgresError as exc:
        refusal = append_refusal(exc, stream, expected_version, meta)
        if refusal is None:
            raise
        raise refusal from exc
    if len(rows) == 1 and rows[0]["o_version"] is None:
        raise duplicate_append(meta, rows[0]["o_position"])
    if len(rows) == 1 and rows[0]["o_position"] is None:
        actual = rows[0]["o_version"]
        raise VersionConflict(
            f"stream {stream!r} is at version {actual}, expected {expected_version}",
            details={
                "stream": stream,
                "expected_version": expected_version,
                "actual_version": actual,
            },
        )
    rows = sorted(rows, key=lambda r: r["o_version"])
    app_text = None if app is None else str(app)
    recorded = [
        RecordedEvent(
            position=row["o_position"],
            app_id=app_text,
            stream=stream,
            version=row["o_version"],
            type=enc.type,
            schema_version=enc.schema_version,
            event=event,
            meta=meta,
            recorded_at=row["o_recorded_at"],
        )
        for row, event, enc in zip(rows, events, encoded, strict=True)
    ]
    for rec in recorded:
        for projection in projections_for(rec.type):
            await projection.apply(conn, rec)
    for append_hook in _append_hooks:
        await append_hook(conn, recorded)
    return recorded


async def notify_committed(conn: asyncpg.Connection, recorded: Sequence[RecordedEvent]) -> None:
    """After the append's transaction committed, wake ``picloud_events`` LISTENers.

    Call it outside any write transaction: a NOTIFY in a transaction without
    writes skips the WAL flush, so it does not hold the cluster-wide notify
    lock for long. The payload is ``"<app id or empty>:<last position>"``, a
    wake-up, not the data: listeners read the log from their own cursor.
    """
    if recorded:
        last = recorded[-1]
        await conn.execute(
            "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, f"{last.app_id or ''}:{last.position}"
        )


async def lock_app(conn: asyncpg.Connection, app_id: str | uuid.UUID | None) -> None:
    """Take the app's append lock now (held to commit), e.g. before validation reads.

    A command that must read state and append as one serial step takes it first;
    :func:`append` takes it again (a no-op) later in the same transaction.
    """
    if not conn.is_in_transaction():
        raise PicloudError(
            "lock_app() must run inside a transaction", code="append_outside_transaction"
        )
    await conn.execute("SELECT picloud_lock_app($1)", _app_uuid(app_id))


async def read_stream(
    conn: asyncpg.Connection, stream: str, after_version: int = 0, limit: int | None = None
) -> list[RecordedEvent]:
    """Events of one stream with version > ``after_version``, in version order."""
    rows = await conn.fetch(
        f"SELECT {ROW_COLUMNS} FROM events WHERE stream = $1 AND version > $2"
        " ORDER BY version LIMIT $3",
        stream,
        after_version,
        limit,
    )
    return [decode_row(r) for r in rows]


async def read_app(
    conn: asyncpg.Connection,
    app_id: str | uuid.UUID | None,
    after: int = 0,
    limit: int = 1000,
    types: Sequence[str] | None = None,
    stream: str | None = None,
) -> list[RecordedEvent]:
    """An app's events (``None``: instance-level ones) with position > ``after``, in order."""
    app = _app_uuid(app_id)
    where = ["app_id IS NULL" if app is None else "app_id = $3", "position > $1"]
    args: list[Any] = [after, limit]
    if app is not None:
        args.append(app)
    if types is not None:
        args.append(list(types))
        where.append(f"type = ANY(${len(args)}::text[])")
    if stream is not None:
        args.append(stream)
        where.append(f"stream = ${len(args)}")
    rows = await conn.fetch(
        f"SELECT {ROW_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY position LIMIT $2",
        *args,
    )
    return [decode_row(r) for r in rows]


async def read_all(
    conn: asyncpg.Connection,
    after: int = 0,
    limit: int = 1000,
    types: Sequence[str] | None = None,
) -> list[RecordedEvent]:
    """Every app's events with position > ``after``, in position order.

    Across apps, positions are ordered but not commit-ordered: a tailer that
    must never skip should tail per app (:func:`read_app`).
    """
    if types is None:
        rows = await conn.fetch(
            f"SELECT {ROW_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            after,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"SELECT {ROW_COLUMNS} FROM events WHERE position > $1 AND type = ANY($3::text[])"
            " ORDER BY position LIMIT $2",
            after,
            limit,
            list(types),
        )
    return [decode_row(r) for r in rows]


async def stream_version(conn: asyncpg.Connection, stream: str) -> int:
    """The stream's current version (0 when it does not exist)."""
    version = await conn.fetchval(
        "SELECT version FROM events WHERE stream = $1 ORDER BY version DESC LIMIT 1", stream
    )
    return int(version or 0)


async def last_position(conn: asyncpg.Connection) -> int:
    """The highest position visible to this connection (0 for an empty log)."""
    return int(await conn.fetchval("SELECT coalesce(max(position), 0) FROM events"))
