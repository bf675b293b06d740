"""Dead-letter commands and queries: list, replay and resolve an app's dead letters.

A replay appends ``dead_letter.replayed`` and, in the same transaction, a new
outbox row running the same job again with a fresh attempt count (its dedupe
key is the original's plus ``:replay:<n>``, so it is a new job). A resolve
appends ``dead_letter.resolved``; the row leaves the ``resolved=false`` list.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

import picloud.outbox.writer
import picloud.projections.triggers  # noqa: F401
from picloud.errors import Conflict, InvalidInput, NotFound
from picloud.events.store import append, lock_app
from picloud.events.triggers import (
    Attempt,
    DeadLetterReplayed,
    DeadLetterResolved,
    dead_letter_stream,
)
from picloud.events.types import EventMeta
from picloud.outbox.payload import JobPayload
from picloud.outbox.writer import insert_job
from picloud.services.validation import is_uuid

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "DeadLetterView",
    "get_dead_letter",
    "list_dead_letters",
    "replay",
    "resolve",
]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

_decode_any = msgspec.json.Decoder()
_attempts = msgspec.json.Decoder(list[Attempt])
_payload = msgspec.json.Decoder(JobPayload)


class DeadLetterView(msgspec.Struct, frozen=True, kw_only=True):
    """A dead letter: its job, source event position and every attempt's error and time."""

    id: str
    app_id: str
    job_id: str
    job_kind: str
    trigger_id: str | None
    script_id: str
    source_position: int | None
    source_event: Any
    error: str
    attempts: list[Attempt]
    resolved: bool
    resolution: str | None
    replays: int
    created_at: datetime
    updated_at: datetime


_COLS = (
    "id::text AS id, app_id::text AS app_id, job_id::text AS job_id, job_kind,"
    " trigger_id::text AS trigger_id, script_id::text AS script_id, source_position,"
    " source_event::text AS source_event, error, attempts::text AS attempts, resolved,"
    " resolution, replays, created_at, updated_at"
)


def _view(row: Any) -> DeadLetterView:
    return DeadLetterView(
        id=row["id"],
        app_id=row["app_id"],
        job_id=row["job_id"],
        job_kind=row["job_kind"],
        trigger_id=row["trigger_id"],
        script_id=row["script_id"],
        source_position=row["source_position"],
        source_event=_decode_any.decode(row["source_event"]) if row["source_event"] else None,
        error=row["error"],
        attempts=_attempts.decode(row["attempts"]),
        resolved=row["resolved"],
        resolution=row["resolution"],
        replays=row["replays"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def check_limit(limit: Any) -> int:
    """A page size in 1..MAX_LIMIT (``None``: the default)."""
    if limit is None:
        return DEFAULT_LIMIT
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"limit must be an integer from 1 to {MAX_LIMIT}",
            code="dead_letters_invalid_limit",
            details={"field": "limit"},
        )
    return int(limit)


async def get_dead_letter(conn: Any, app_id: str, dl_id: str) -> DeadLetterView | None:
    """The app's dead letter with this id, or ``None``."""
    if not is_uuid(dl_id):
        return None
    row = await conn.fetchrow(
        f"SELECT {_COLS} FROM dead_letters WHERE id = $1::uuid AND app_id = $2::uuid",
        dl_id,
        app_id,
    )
    return None if row is None else _view(row)


async def list_dead_letters(
    conn: Any,
    app_id: str,
    *,
    resolved: bool | None = False,
    trigger_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[DeadLetterView]:
    """The app's dead letters, newest first (``resolved=None``: both kinds)."""
    if trigger_id is not None and not is_uuid(trigger_id):
        raise InvalidInput(
            "trigger_id must be a trigger id (UUID)",
            code="dead_letters_invalid_filter",
            details={"field": "trigger_id"},
        )
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM dead_letters WHERE app_id = $1::uuid"
        " AND ($2::boolean IS NULL OR resolved = $2)"
        " AND ($3::uuid IS NULL OR trigger_id = $3::uuid)"
        " ORDER BY created_at DESC, id LIMIT $4",
        app_id,
        resolved,
        trigger_id,
        check_limit(limit),
    )
    return [_view(r) for r in rows]


async def _locked(conn: Any, app_id: str, dl_id: str) -> DeadLetterView:
    await lock_app(conn, app_id)
    found = await get_dead_letter(conn, app_id, dl_id)
    if found is None:
        raise NotFound("dead letter not found", details={"resource": "dead_letter"})
    return found


async def replay(conn: Any, meta: EventMeta, app_id: str, dl_id: str) -> str:
    """Run the dead letter's job again now; the new job's id."""
    async with conn.transaction():
        found = await _locked(conn, app_id, dl_id)
        row = await conn.fetchrow(
            "SELECT payload::text AS payload, dedupe_key FROM dead_letters WHERE id = $1::uuid",
            dl_id,
        )
        old = _payload.decode(row["payload"])
        job_id = str(uuid.uuid4())
        payload = msgspec.structs.replace(old, job_id=job_id)
        key = f"{row['dedupe_key']}:replay:{found.replays + 1}"
        if not await insert_job(conn, payload, key, found.source_position):
            raise Conflict(
                "this dead letter is being replayed already",
                code="dead_letter_replay_conflict",
                details={"id": dl_id},
            )
        event = DeadLetterReplayed(dead_letter_id=dl_id, app_id=app_id, job_id=job_id)
        await append(conn, dead_letter_stream(dl_id), None, [event], meta, app_id=app_id)
        await conn.execute("SELECT pg_notify('picloud_outbox', '')")
    return job_id


async def resolve(conn: Any, meta: EventMeta, app_id: str, dl_id: str) -> DeadLetterView:
    """Mark the dead letter dealt with; it is no longer listed as unresolved."""
    async with conn.transaction():
        await _locked(conn, app_id, dl_id)
        event = DeadLetterResolved(dead_letter_id=dl_id, app_id=app_id)
        await append(conn, dead_letter_stream(dl_id), None, [event], meta, app_id=app_id)
        found = await get_dead_letter(conn, app_id, dl_id)
    assert found is not None
    return found
