"""The topics projection: ``topics``, one row per registered topic of an app.

Every column comes from the event (payload, ``recorded_at``, ``position``), so
``projections rebuild --verify`` reproduces the table. Disconnecting live
subscribers is the command's side effect (picloud/services/topics.py), never
this projection's.
"""

from __future__ import annotations

from typing import Any

from picloud.events.apps import AppDeleted
from picloud.events.pubsub import TopicCreated, TopicDeleted, TopicUpdated
from picloud.events.types import RecordedEvent
from picloud.projections.base import BaseProjection, quote_ident, register_projection

__all__ = ["PROJECTION", "TopicsProjection"]


class TopicsProjection(BaseProjection):
    """Registered topics of every app."""

    name = "topics"
    tables: tuple[str, ...] = ("topics",)
    handles = frozenset({"topic.created", "topic.updated", "topic.deleted", "app.deleted"})

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one topic (or app-deletion) event into ``schema``.topics."""
        t = f"{quote_ident(schema)}.topics"
        data = event.event
        match data:
            case TopicCreated():
                await conn.execute(
                    f"INSERT INTO {t} (app_id, name, external_subscribable, auth_mode,"
                    " created_at, updated_at, last_position)"
                    " VALUES ($1::uuid, $2, $3, $4, $5, $5, $6)",
                    data.app_id,
                    data.name,
                    data.external_subscribable,
                    data.auth_mode,
                    event.recorded_at,
                    event.position,
                )
            case TopicUpdated():
                await conn.execute(
                    f"UPDATE {t} SET external_subscribable = $3, auth_mode = $4, updated_at = $5,"
                    " last_position = $6 WHERE app_id = $1::uuid AND name = $2",
                    data.app_id,
                    data.name,
                    data.external_subscribable,
                    data.auth_mode,
                    event.recorded_at,
                    event.position,
                )
            case TopicDeleted():
                await conn.execute(
                    f"DELETE FROM {t} WHERE app_id = $1::uuid AND name = $2",
                    data.app_id,
                    data.name,
                )
            case AppDeleted():
                await conn.execute(f"DELETE FROM {t} WHERE app_id = $1::uuid", data.app_id)


PROJECTION = TopicsProjection()
register_projection(PROJECTION)
