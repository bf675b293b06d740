"""``/api/v1/admin/apps/{app}/events``: an app's audit log, in log order."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from picloud.api.deps import Caller, DbConn, app_access, dependencies
from picloud.api.schemas import EventOut, EventsPage
from picloud.auth.capabilities import EventsRead
from picloud.events.store import read_app
from picloud.events.types import RecordedEvent

__all__ = ["MAX_LIMIT", "EventsController", "to_out"]

MAX_LIMIT = 1000


def to_out(rec: RecordedEvent) -> EventOut:
    """The JSON form of a recorded event (payload without its tag, which is ``type``)."""
    data = msgspec.to_builtins(rec.event)
    if isinstance(data, dict):
        data.pop("type", None)
    meta = msgspec.to_builtins(rec.meta)
    return EventOut(
        position=rec.position,
        stream=rec.stream,
        version=rec.version,
        type=rec.type,
        data=data,
        meta=meta if isinstance(meta, dict) else {},
        recorded_at=rec.recorded_at,
    )


class EventsController(Controller):
    """Read an app's events (capability ``EventsRead``: scope ``events:read``)."""

    path = "/api/v1/admin/apps/{app:str}/events"
    tags = ("audit",)
    dependencies = dependencies

    @get("/")
    async def list_events(
        self,
        app: FromPath[str],
        conn: DbConn,
        principal: Caller,
        after: Annotated[
            int, QueryParameter(ge=0, description="Only events after this position")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size")] = 100,
        type_: Annotated[
            str | None, QueryParameter(name="type", description="Event type(s), comma-separated")
        ] = None,
        stream: Annotated[str | None, QueryParameter(description="Only this stream")] = None,
    ) -> EventsPage:
        """The app's events after ``after``, oldest first, with their metadata."""
        found = await app_access(conn, principal, app, EventsRead)
        types = [t.strip() for t in type_.split(",") if t.strip()] if type_ else None
        records = await read_app(
            conn, found.id, after=after, limit=limit, types=types, stream=stream
        )
        events = [to_out(r) for r in records]
        return EventsPage(events=events, next_after=events[-1].position if events else after)
