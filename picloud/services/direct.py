"""Direct writes: a KV or document write as one SQL statement.

The general path of a write — a transaction that takes the app lock, reads
the current state, :func:`~picloud.events.store.append`\\ s the event (which
runs the Python projection and the append hooks) and commits — costs five or
six round trips. ``picloud_kv_write`` and ``picloud_docs_write``
(migrations/0053_direct_writes.sql, bodies now in 0054) do the same under the
same lock in one: they complete the event with what only the lock can tell
(the previous value or data), append it as ``picloud_append`` would and
update the projection as the Python projection does (rebuilds keep using
that one; tests hold the two paths to identical events and rows).

A direct write must not skip anything the general path does, so it steps
aside (returns ``None``, having written nothing) when the app has an enabled
trigger the event may fire — the outbox writer, an append hook, has to see
that event — and is not tried at all when any append hook other than the
outbox writer is registered. Meta hooks (a worker's causation and
idempotency key) are applied as :func:`append` applies them. Concurrent
direct writes of one app commit together (:mod:`picloud.services.write_batches`).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import asyncpg

from picloud.errors import VersionConflict
from picloud.events.codec import encode_event, encode_meta
from picloud.events.store import (
    append_hooks,
    append_refusal,
    check_stream,
    duplicate_append,
    run_meta_hooks,
)
from picloud.events.types import Event, EventMeta
from picloud.outbox.writer import write_outbox
from picloud.services.write_batches import WriteBatches
from picloud.triggers.base import kinds_for

__all__ = ["TRIGGERED_HINT_SECONDS", "write_direct"]

#: Concurrent direct writes of one app share a transaction (group commit per app).
_batches = WriteBatches()

#: After a direct write stepped aside for an app's triggers, that app's writes of
#: the store take the general path at once for this long (seconds): the attempt
#: would cost a round trip for nothing. A hint only: the general path is always
#: correct, and once it lapses a direct write is tried again.
TRIGGERED_HINT_SECONDS = 5.0
_triggered_until: dict[tuple[str, str], float] = {}


async def write_direct(
    conn: Any,
    store: Literal["kv", "docs"],
    event: Event,
    stream: str,
    meta: EventMeta,
    *,
    app_id: str,
    collection: str,
    target: str,
) -> asyncpg.Record | None:
    """Write ``event`` (a key's or a document's) in one statement.

    Returns the function's row (``o_status`` ``"ok"`` or ``"absent"``, with
    the event's position, version and time), or ``None`` when nothing was
    written and the general path must write it.

    Raises:
        DuplicateAppend: ``meta.idempotency_key`` was used before (nothing written).
        VersionConflict: a new document's stream exists already (nothing written).
    """
    hooks = append_hooks()
    if hooks and hooks != (write_outbox,):
        return None
    hint = (store, app_id)
    until = _triggered_until.get(hint)
    if until is not None:
        if time.monotonic() < until:
            return None
        _triggered_until.pop(hint, None)  # script threads may race here
    check_stream(stream)
    meta = run_meta_hooks(meta, stream)
    encoded = encode_event(event)
    args = (
        app_id,
        collection,
        target,
        stream,
        encoded.type,
        encoded.schema_version,
        encoded.data,
        encode_meta(meta),
        meta.actor,
        meta.correlation_id,
        meta.causation_position,
        meta.idempotency_key,
    )
    # Without the outbox hook no trigger fires here, on either path.
    kinds = [kind.name for kind in kinds_for(encoded.type)] if hooks else []
    try:
        row = await _batches.write(conn, store, args, kinds)
    except asyncpg.PostgresError as exc:
        refusal = append_refusal(exc, stream, None, meta)
        if refusal is None:
            raise
        raise refusal from exc
    status = row["o_status"]
    if status == "triggers":
        _triggered_until[hint] = time.monotonic() + TRIGGERED_HINT_SECONDS
        return None
    if status == "duplicate":
        raise duplicate_append(meta, row["o_position"])
    if status == "conflict":
        raise VersionConflict(
            f"stream {stream!r} is at version {row['o_version']}",
            details={"stream": stream, "actual_version": row["o_version"]},
        )
    return row
