"""The outbox writer: one row per matching enabled trigger, in the append's transaction.

Registered as an append hook of :func:`picloud.events.store.append`, so every
KV/docs/dead-letter event any command appends finds its triggers while the
app's append lock is held, and the rows commit or roll back with the event.
After the commit the rows are handed to Dramatiq at once
(:mod:`picloud.outbox.sender`); a row that was not is found by the relay.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from picloud.events.store import add_append_hook
from picloud.events.triggers import DeadLettered, RetryPolicy
from picloud.events.types import RecordedEvent
from picloud.outbox.payload import JobPayload, encode_payload
from picloud.triggers.base import kinds_for

__all__ = ["OUTBOX_CHANNEL", "RELAY_GRACE_SECONDS", "dedupe_key", "insert_job", "write_outbox"]

#: LISTEN here: an outbox row committed (payload: its app id); the relay wakes on it.
OUTBOX_CHANNEL = "picloud_outbox"
#: A new row waits this long for its writer's own send before the relay sends it.
RELAY_GRACE_SECONDS = 3.0

_retry_decoder = msgspec.json.Decoder(RetryPolicy | None)
_dict_decoder = msgspec.json.Decoder(dict[str, Any])


def dedupe_key(trigger_id: str, position: int) -> str:
    """The job identity of a trigger fired by the event at ``position``."""
    return f"t:{trigger_id}:{position}"


async def insert_job(conn: Any, payload: JobPayload, key: str, position: int | None) -> bool:
    """Insert one outbox row in the caller's transaction; ``False`` when ``key`` exists already."""
    row = await conn.fetchval(
        "INSERT INTO outbox (app_id, job_id, kind, trigger_id, event_position, dedupe_key,"
        " payload, available_at) VALUES ($1::uuid, $2::uuid, $3, $4::uuid, $5, $6,"
        " $7::text::jsonb, clock_timestamp() + make_interval(secs => $8))"
        " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        payload.app_id,
        payload.job_id,
        payload.kind,
        payload.trigger_id,
        position,
        key,
        encode_payload(payload),
        RELAY_GRACE_SECONDS,
    )
    if row is None:
        return False
    from picloud.outbox.sender import send_after_commit

    send_after_commit(conn, key)
    return True


async def write_outbox(conn: Any, recorded: list[RecordedEvent]) -> None:
    """Append hook: an outbox row for every enabled trigger each event matches."""
    wrote = False
    for rec in recorded:
        if rec.app_id is None:
            continue
        kinds = {k.name: k for k in kinds_for(rec.type)}
        if not kinds:
            continue
        rows = await conn.fetch(
            "SELECT id::text AS id, kind, script_id::text AS script_id, config::text AS config,"
            " retry::text AS retry FROM triggers"
            " WHERE app_id = $1::uuid AND enabled AND kind = ANY($2::text[]) ORDER BY created_at",
            rec.app_id,
            list(kinds),
        )
        for row in rows:
            kind = kinds[row["kind"]]
            if not kind.matches(_dict_decoder.decode(row["config"]), rec):
                continue
            data = rec.event
            payload = JobPayload(
                job_id=str(uuid.uuid4()),
                kind="trigger",
                app_id=rec.app_id,
                script_id=row["script_id"],
                trigger_id=row["id"],
                trigger_kind=kind.name,
                event=kind.ctx_event(rec),
                depth=rec.meta.trigger_depth + 1,
                causation_position=rec.position,
                correlation_id=rec.meta.correlation_id,
                retry=_retry_decoder.decode(row["retry"]) if row["retry"] else None,
                dead_letter_id=data.dead_letter_id if isinstance(data, DeadLettered) else None,
            )
            wrote |= await insert_job(
                conn, payload, dedupe_key(row["id"], rec.position), rec.position
            )
    if wrote:
        # Delivered at commit only; wakes the relay, which sends the row if its
        # writer dies before its own after-commit send.
        await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)


add_append_hook(write_outbox)
