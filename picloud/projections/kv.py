"""The KV projection: ``kv_entries``, one row per live key, from ``kv.*`` events.

Every column comes from the event (value, position, recorded_at) or the
stream version the append gave it, so a rebuild reproduces the live table
exactly. The row's ``version`` is the key's stream version: the next write
appends at that expected version. After a delete the row is gone but the
stream keeps its version (its last event's), which is why the service reads
the stream's last event too.
"""

from __future__ import annotations

from typing import Any

import msgspec

from picloud.events.apps import AppDeleted
from picloud.events.kv import KvDeleted, KvSet
from picloud.events.types import RecordedEvent
from picloud.projections.base import BaseProjection, quote_ident, register_projection

__all__ = ["PROJECTION", "KvProjection"]


class KvProjection(BaseProjection):
    """Live KV entries of every app."""

    name = "kv"
    tables: tuple[str, ...] = ("kv_entries",)
    handles = frozenset({"kv.set", "kv.deleted", "app.deleted"})

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one KV (or app-deletion) event into ``kv_entries`` of ``schema``."""
        s = quote_ident(schema)
        data = event.event
        match data:
            case KvSet():
                # The value travels as JSON text: asyncpg's jsonb codec of the
                # pool would re-encode a str as a JSON string otherwise.
                await conn.execute(
                    f"INSERT INTO {s}.kv_entries (app_id, collection, key, value, version,"
                    " created_at, updated_at, last_position)"
                    " VALUES ($1::uuid, $2, $3, $4::text::jsonb, $5, $6, $6, $7)"
                    " ON CONFLICT (app_id, collection, key) DO UPDATE SET value = EXCLUDED.value,"
                    " version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,"
                    " last_position = EXCLUDED.last_position",
                    data.app_id,
                    data.collection,
                    data.key,
                    _json_text(data.value),
                    event.version,
                    event.recorded_at,
                    event.position,
                )
            case KvDeleted():
                await conn.execute(
                    f"DELETE FROM {s}.kv_entries"
                    " WHERE app_id = $1::uuid AND collection = $2 AND key = $3",
                    data.app_id,
                    data.collection,
                    data.key,
                )
            case AppDeleted():
                # The app's data goes with it (its events stay in the log).
                await conn.execute(
                    f"DELETE FROM {s}.kv_entries WHERE app_id = $1::uuid", data.app_id
                )


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


PROJECTION = KvProjection()
register_projection(PROJECTION)
