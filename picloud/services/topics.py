"""The topic registry: which pub/sub topics an app exposes over SSE, and how.

Topics are internal by default: a publish never needs a registered topic, and
only a topic registered with ``external_subscribable`` may be streamed to
browsers, either to anyone (``auth_mode: public``) or to holders of a
subscriber token (``token``). Each command is one transaction under the app's
lock; the controller then announces the change on Redis so API processes cut
off subscribers the topic no longer admits (picloud/realtime/).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

# Imported for its side effect: registering the topics projection.
import picloud.projections.topics  # noqa: F401
from picloud.errors import Conflict, InvalidInput, NotFound
from picloud.events.pubsub import TopicCreated, TopicDeleted, TopicUpdated, topic_stream
from picloud.events.store import append, lock_app
from picloud.services.context import CommandContext
from picloud.services.pubsub import check_topic

__all__ = [
    "AUTH_MODES",
    "TopicView",
    "create_topic",
    "delete_topic",
    "get_topic",
    "list_topics",
    "not_found",
    "update_topic",
]

AUTH_MODES = ("public", "token")


class TopicView(msgspec.Struct, frozen=True, kw_only=True):
    """A registered topic as the admin API shows it."""

    app_id: str
    name: str
    external_subscribable: bool
    auth_mode: str
    created_at: datetime
    updated_at: datetime


_COLS = "app_id::text AS app_id, name, external_subscribable, auth_mode, created_at, updated_at"


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code="invalid_topic", details={"field": field})


def not_found(name: str) -> NotFound:
    return NotFound(f"no topic {name!r}", code="topic_not_found", details={"resource": "topic"})


def _fields(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object", code="invalid_topic")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise _bad(unknown[0], "unknown field")
    if "external_subscribable" in body and type(body["external_subscribable"]) is not bool:
        raise _bad("external_subscribable", "must be true or false")
    if "auth_mode" in body and body["auth_mode"] not in AUTH_MODES:
        raise _bad("auth_mode", "must be 'public' or 'token'")
    return body


def _name(value: Any) -> str:
    try:
        return check_topic(value)
    except InvalidInput:
        raise _bad(
            "name", "must be 1-128 letters, digits, '_', '-' or '.', not starting with '-' or '.'"
        ) from None


async def get_topic(conn: Any, app_id: str, name: str) -> TopicView | None:
    """One registered topic, or ``None``."""
    row = await conn.fetchrow(
        f"SELECT {_COLS} FROM topics WHERE app_id = $1::uuid AND name = $2", app_id, name
    )
    return None if row is None else TopicView(**dict(row))


async def list_topics(conn: Any, app_id: str) -> list[TopicView]:
    """The app's registered topics by name."""
    rows = await conn.fetch(
        f"SELECT {_COLS} FROM topics WHERE app_id = $1::uuid ORDER BY name", app_id
    )
    return [TopicView(**dict(r)) for r in rows]


async def create_topic(conn: Any, ctx: CommandContext, app_id: str, body: Any) -> TopicView:
    """Register ``{name, external_subscribable?=false, auth_mode?="token"}`` (409 if it exists)."""
    fields = _fields(body, ("name", "external_subscribable", "auth_mode"))
    name = _name(fields.get("name"))
    event = TopicCreated(
        app_id=app_id,
        name=name,
        external_subscribable=fields.get("external_subscribable", False),
        auth_mode=fields.get("auth_mode", "token"),
    )
    async with conn.transaction():
        await lock_app(conn, app_id)
        if await get_topic(conn, app_id, name) is not None:
            raise Conflict(
                f"topic {name!r} already exists",
                code="topic_exists",
                details={"field": "name"},
            )
        # Any stream version: a deleted topic's stream goes on when it is registered again.
        await append(conn, topic_stream(app_id, name), None, [event], ctx.meta(), app_id=app_id)
        view = await get_topic(conn, app_id, name)
    assert view is not None
    return view


async def update_topic(
    conn: Any, ctx: CommandContext, app_id: str, name: str, body: Any
) -> TopicView:
    """Change ``external_subscribable`` and/or ``auth_mode``; the topic after the change."""
    fields = _fields(body, ("external_subscribable", "auth_mode"))
    async with conn.transaction():
        await lock_app(conn, app_id)
        current = await get_topic(conn, app_id, name)
        if current is None:
            raise not_found(name)
        event = TopicUpdated(
            app_id=app_id,
            name=name,
            external_subscribable=fields.get(
                "external_subscribable", current.external_subscribable
            ),
            auth_mode=fields.get("auth_mode", current.auth_mode),
        )
        await append(conn, topic_stream(app_id, name), None, [event], ctx.meta(), app_id=app_id)
        view = await get_topic(conn, app_id, name)
    assert view is not None
    return view


async def delete_topic(conn: Any, ctx: CommandContext, app_id: str, name: str) -> None:
    """Unregister the topic (404 ``topic_not_found`` when it is not registered)."""
    async with conn.transaction():
        await lock_app(conn, app_id)
        if await get_topic(conn, app_id, name) is None:
            raise not_found(name)
        event = TopicDeleted(app_id=app_id, name=name)
        await append(conn, topic_stream(app_id, name), None, [event], ctx.meta(), app_id=app_id)
