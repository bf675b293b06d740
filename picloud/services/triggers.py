"""Trigger commands and queries: create, list, delete, enable and disable an app's triggers.

The v1.1.3 rule holds for every kind: the target script must exist, be an
``endpoint`` and belong to the same app — anything else is refused with a
clear error and nothing is written. The check runs under the app's append
lock, so a script deleted concurrently cannot slip through.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

# Imported for their side effects: the projections and the outbox writer hook.
import picloud.outbox.writer
import picloud.projections.triggers  # noqa: F401
from picloud.errors import InvalidInput, NotFound
from picloud.events.store import append, lock_app
from picloud.events.triggers import (
    RetryPolicy,
    TriggerCreated,
    TriggerDeleted,
    TriggerDisabled,
    TriggerEnabled,
    trigger_stream,
)
from picloud.services.context import CommandContext
from picloud.services.scripts import get_script
from picloud.services.validation import is_uuid
from picloud.triggers.base import bad_field, get_kind

__all__ = [
    "MAX_ATTEMPTS",
    "TriggerView",
    "create_trigger",
    "delete_trigger",
    "get_trigger",
    "list_triggers",
    "parse_retry",
    "set_enabled",
]

#: Bounds of a trigger's own retry policy.
MAX_ATTEMPTS = 100
MAX_BACKOFF_MS = 7 * 24 * 3600 * 1000 - 1

_dict_decoder = msgspec.json.Decoder(dict[str, Any])
_retry_decoder = msgspec.json.Decoder(RetryPolicy)


class TriggerView(msgspec.Struct, frozen=True, kw_only=True):
    """A trigger as the admin API shows it: its kind fields are top-level keys of ``config``."""

    id: str
    app_id: str
    kind: str
    script_id: str
    config: dict[str, Any]
    retry: RetryPolicy | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


_COLS = (
    "id::text AS id, app_id::text AS app_id, kind, script_id::text AS script_id,"
    " config::text AS config, retry::text AS retry, enabled, created_at, updated_at"
)


def _view(row: Any) -> TriggerView:
    return TriggerView(
        id=row["id"],
        app_id=row["app_id"],
        kind=row["kind"],
        script_id=row["script_id"],
        config=_dict_decoder.decode(row["config"]),
        retry=_retry_decoder.decode(row["retry"]) if row["retry"] else None,
        enabled=row["enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _int_field(retry: dict[str, Any], name: str, low: int, high: int) -> int:
    value = retry.get(name)
    if type(value) is not int or not low <= value <= high:
        raise bad_field(f"retry.{name}", f"must be an integer from {low} to {high}")
    return int(value)


def parse_retry(raw: Any) -> RetryPolicy | None:
    """``retry {max_attempts, backoff_base_ms, backoff_max_ms}`` checked (``None`` if absent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_field(
            "retry", "must be an object {max_attempts, backoff_base_ms, backoff_max_ms}"
        )
    unknown = sorted(set(raw) - {"max_attempts", "backoff_base_ms", "backoff_max_ms"})
    if unknown:
        raise bad_field(f"retry.{unknown[0]}", "unknown field")
    policy = RetryPolicy(
        max_attempts=_int_field(raw, "max_attempts", 1, MAX_ATTEMPTS),
        backoff_base_ms=_int_field(raw, "backoff_base_ms", 0, MAX_BACKOFF_MS),
        backoff_max_ms=_int_field(raw, "backoff_max_ms", 0, MAX_BACKOFF_MS),
    )
    if policy.backoff_base_ms > policy.backoff_max_ms:
        raise bad_field("retry.backoff_base_ms", "must not exceed retry.backoff_max_ms")
    return policy


async def get_trigger(conn: Any, app_id: str, trigger_id: str) -> TriggerView | None:
    """The app's trigger with this id, or ``None``."""
    if not is_uuid(trigger_id):
        return None
    row = await conn.fetchrow(
        f"SELECT {_COLS} FROM triggers WHERE id = $1::uuid AND app_id = $2::uuid",
        trigger_id,
        app_id,
    )
    return None if row is None else _view(row)


async def list_triggers(conn: Any, app_id: str, kind: str | None = None) -> list[TriggerView]:
    """The app's triggers (of one kind, if given), oldest first."""
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM triggers WHERE app_id = $1::uuid"
        " AND ($2::text IS NULL OR kind = $2) ORDER BY created_at, id",
        app_id,
        kind,
    )
    return [_view(r) for r in rows]


async def create_trigger(
    conn: Any, ctx: CommandContext, app_id: str, kind_name: str, body: Any
) -> TriggerView:
    """Create a trigger of ``kind_name`` from a request body ``{script_id, …kind fields, retry?}``.

    Raises:
        InvalidInput: a bad kind or field, or the target is not a same-app endpoint
            (``trigger_target_not_found``, ``trigger_target_other_app``,
            ``trigger_target_not_endpoint``).
    """
    kind = get_kind(kind_name)
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object", code="invalid_trigger")
    script_id = body.get("script_id")
    if not isinstance(script_id, str) or not is_uuid(script_id):
        raise bad_field("script_id", "must be a script id (UUID)")
    fields = {k: v for k, v in body.items() if k not in ("script_id", "retry", "enabled")}
    config = kind.parse_config(fields)
    unknown = sorted(set(fields) - set(config))
    if unknown:
        raise bad_field(unknown[0], f"unknown field for a {kind.name} trigger")
    retry = parse_retry(body.get("retry"))
    enabled = body.get("enabled", True)
    if type(enabled) is not bool:
        raise bad_field("enabled", "must be true or false")
    trigger_id = str(uuid.uuid4())
    async with conn.transaction():
        await lock_app(conn, app_id)
        script = await get_script(conn, script_id)
        if script is None:
            raise InvalidInput(
                f"script_id: no script {script_id}",
                code="trigger_target_not_found",
                details={"field": "script_id"},
            )
        if script.app_id != app_id:
            # The v1.1.3 fix: a trigger may never run another app's script.
            raise InvalidInput(
                "script_id: the script belongs to another app; a trigger can only run a script"
                " of its own app",
                code="trigger_target_other_app",
                details={"field": "script_id"},
            )
        if script.kind != "endpoint":
            raise InvalidInput(
                "script_id: a module script cannot handle events; target an endpoint",
                code="trigger_target_not_endpoint",
                details={"field": "script_id"},
            )
        event = TriggerCreated(
            trigger_id=trigger_id,
            app_id=app_id,
            kind=kind.name,
            script_id=script_id,
            config=config,
            retry=retry,
            enabled=enabled,
        )
        await append(conn, trigger_stream(trigger_id), 0, [event], ctx.meta(), app_id=app_id)
        view = await get_trigger(conn, app_id, trigger_id)
    if view is None:  # written just above: never
        raise NotFound("trigger not found", details={"resource": "trigger"})
    return view


async def _change(conn: Any, ctx: CommandContext, app_id: str, trigger_id: str, event: Any) -> None:
    async with conn.transaction():
        await lock_app(conn, app_id)
        if await get_trigger(conn, app_id, trigger_id) is None:
            raise NotFound("trigger not found", details={"resource": "trigger"})
        await append(conn, trigger_stream(trigger_id), None, [event], ctx.meta(), app_id=app_id)


async def delete_trigger(conn: Any, ctx: CommandContext, app_id: str, trigger_id: str) -> None:
    """Remove a trigger (404 when the app has none with that id)."""
    await _change(
        conn, ctx, app_id, trigger_id, TriggerDeleted(trigger_id=trigger_id, app_id=app_id)
    )


async def set_enabled(
    conn: Any, ctx: CommandContext, app_id: str, trigger_id: str, enabled: bool
) -> TriggerView:
    """Enable or disable a trigger; the trigger as it is now."""
    cls = TriggerEnabled if enabled else TriggerDisabled
    await _change(conn, ctx, app_id, trigger_id, cls(trigger_id=trigger_id, app_id=app_id))
    view = await get_trigger(conn, app_id, trigger_id)
    if view is None:
        raise NotFound("trigger not found", details={"resource": "trigger"})
    return view
