"""The documents projection: the ``docs`` table, one row per live document.

Every column comes from the event (payload, ``recorded_at``, ``position``,
stream ``version``), so ``projections rebuild --verify`` reproduces the live
table exactly. The store applies it inside the append transaction under the
app's lock, which is what gives a script read-your-writes.
"""

from __future__ import annotations

from typing import Any

from picloud.events.apps import AppDeleted
from picloud.events.docs import DocCreated, DocDeleted, DocUpdated
from picloud.events.types import RecordedEvent
from picloud.projections.base import BaseProjection, quote_ident, register_projection

__all__ = ["PROJECTION", "DocsProjection"]


class DocsProjection(BaseProjection):
    """Live documents by (app, collection, id)."""

    name = "docs"
    tables: tuple[str, ...] = ("docs",)
    handles = frozenset({"doc.created", "doc.updated", "doc.deleted", "app.deleted"})

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one document (or app-deletion) event into ``schema``.docs."""
        t = f"{quote_ident(schema)}.docs"
        data = event.event
        match data:
            case DocCreated():
                await conn.execute(
                    f"INSERT INTO {t} (app_id, collection, id, data, version, created_at,"
                    " updated_at, seq, last_position)"
                    " VALUES ($1::uuid, $2, $3::uuid, $4::jsonb, $5, $6, $6, $7, $7)",
                    data.app_id,
                    data.collection,
                    data.doc_id,
                    data.data,
                    event.version,
                    event.recorded_at,
                    event.position,
                )
            case DocUpdated():
                await conn.execute(
                    f"UPDATE {t} SET data = $4::jsonb, version = $5, updated_at = $6,"
                    " last_position = $7"
                    " WHERE app_id = $1::uuid AND collection = $2 AND id = $3::uuid",
                    data.app_id,
                    data.collection,
                    data.doc_id,
                    data.data,
                    event.version,
                    event.recorded_at,
                    event.position,
                )
            case DocDeleted():
                await conn.execute(
                    f"DELETE FROM {t} WHERE app_id = $1::uuid AND collection = $2 AND id = $3::uuid",
                    data.app_id,
                    data.collection,
                    data.doc_id,
                )
            case AppDeleted():
                # The app's documents go with it (their events stay in the log).
                await conn.execute(f"DELETE FROM {t} WHERE app_id = $1::uuid", data.app_id)


PROJECTION = DocsProjection()
register_projection(PROJECTION)
