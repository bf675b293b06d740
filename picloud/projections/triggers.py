"""The triggers and dead-letters projections: ``triggers`` and ``dead_letters``.

Every column comes from the event (payload, ``recorded_at``, ``position``), so
``projections rebuild --verify`` reproduces both tables. Neither projection
sends jobs: the outbox writer (picloud/outbox/writer.py) does that in the
command's transaction.
"""

from __future__ import annotations

from typing import Any

import msgspec

from picloud.events.apps import AppDeleted
from picloud.events.triggers import (
    DeadLettered,
    DeadLetterExpired,
    DeadLetterHandlerFailed,
    DeadLetterReplayed,
    DeadLetterResolved,
    TriggerCreated,
    TriggerDeleted,
    TriggerDisabled,
    TriggerEnabled,
)
from picloud.events.types import RecordedEvent
from picloud.projections.base import BaseProjection, quote_ident, register_projection

__all__ = ["DEAD_LETTERS", "TRIGGERS", "DeadLettersProjection", "TriggersProjection"]


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class TriggersProjection(BaseProjection):
    """Live triggers of every app."""

    name = "triggers"
    tables: tuple[str, ...] = ("triggers",)
    handles = frozenset(
        {"trigger.created", "trigger.deleted", "trigger.enabled", "trigger.disabled", "app.deleted"}
    )

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one trigger (or app-deletion) event into ``schema``.triggers."""
        t = f"{quote_ident(schema)}.triggers"
        data = event.event
        match data:
            case TriggerCreated():
                await conn.execute(
                    f"INSERT INTO {t} (id, app_id, kind, script_id, config, retry, enabled,"
                    " created_at, updated_at, last_position) VALUES ($1::uuid, $2::uuid, $3,"
                    " $4::uuid, $5::text::jsonb, $6::text::jsonb, $7, $8, $8, $9)",
                    data.trigger_id,
                    data.app_id,
                    data.kind,
                    data.script_id,
                    _json(data.config),
                    None if data.retry is None else _json(data.retry),
                    data.enabled,
                    event.recorded_at,
                    event.position,
                )
            case TriggerEnabled() | TriggerDisabled():
                await conn.execute(
                    f"UPDATE {t} SET enabled = $2, updated_at = $3, last_position = $4"
                    " WHERE id = $1::uuid",
                    data.trigger_id,
                    isinstance(data, TriggerEnabled),
                    event.recorded_at,
                    event.position,
                )
            case TriggerDeleted():
                await conn.execute(f"DELETE FROM {t} WHERE id = $1::uuid", data.trigger_id)
            case AppDeleted():
                await conn.execute(f"DELETE FROM {t} WHERE app_id = $1::uuid", data.app_id)


class DeadLettersProjection(BaseProjection):
    """Dead letters of every app, with their resolution."""

    name = "dead_letters"
    tables: tuple[str, ...] = ("dead_letters",)
    handles = frozenset(
        {
            "dead_letter.created",
            "dead_letter.replayed",
            "dead_letter.resolved",
            "dead_letter.handler_failed",
            "dead_letter.expired",
            "app.deleted",
        }
    )

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one dead-letter (or app-deletion) event into ``schema``.dead_letters."""
        t = f"{quote_ident(schema)}.dead_letters"
        data = event.event
        at = event.recorded_at
        match data:
            case DeadLettered():
                await conn.execute(
                    f"INSERT INTO {t} (id, app_id, job_id, job_kind, dedupe_key, trigger_id,"
                    " script_id, source_position, source_event, payload, error, attempts,"
                    " created_at, updated_at, last_position) VALUES ($1::uuid, $2::uuid,"
                    " $3::uuid, $4, $5, $6::uuid, $7::uuid, $8, $9::text::jsonb,"
                    " $10::text::jsonb, $11, $12::text::jsonb, $13, $13, $14)",
                    data.dead_letter_id,
                    data.app_id,
                    data.job_id,
                    data.job_kind,
                    data.dedupe_key,
                    data.trigger_id,
                    data.script_id,
                    data.source_position,
                    _json(data.source_event),
                    _json(data.payload),
                    data.error,
                    _json(data.attempts),
                    at,
                    event.position,
                )
            case DeadLetterReplayed():
                await self._resolve(conn, t, data.dead_letter_id, "replayed", event, replay=True)
            case DeadLetterResolved():
                await self._resolve(conn, t, data.dead_letter_id, "resolved", event)
            case DeadLetterHandlerFailed():
                # The handler's failure is noted on the row; it stays unresolved.
                await conn.execute(
                    f"UPDATE {t} SET resolution = 'handler_failed', updated_at = $2,"
                    " last_position = $3 WHERE id = $1::uuid",
                    data.dead_letter_id,
                    at,
                    event.position,
                )
            case DeadLetterExpired():
                await conn.execute(f"DELETE FROM {t} WHERE id = $1::uuid", data.dead_letter_id)
            case AppDeleted():
                await conn.execute(f"DELETE FROM {t} WHERE app_id = $1::uuid", data.app_id)

    @staticmethod
    async def _resolve(
        conn: Any, t: str, dl_id: str, how: str, event: RecordedEvent, replay: bool = False
    ) -> None:
        await conn.execute(
            f"UPDATE {t} SET resolved = true, resolution = $2, updated_at = $3,"
            " last_position = $4, replays = replays + $5 WHERE id = $1::uuid",
            dl_id,
            how,
            event.recorded_at,
            event.position,
            1 if replay else 0,
        )


TRIGGERS = TriggersProjection()
DEAD_LETTERS = DeadLettersProjection()
register_projection(TRIGGERS)
register_projection(DEAD_LETTERS)
