"""``/api/v1/admin/apps/{app}/dead-letters``: list, replay and resolve an app's dead letters."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter

from picloud.api.deps import Caller, DbConn, app_access, command_context, dependencies
from picloud.auth.capabilities import AppDeadLetterManage, AppRead
from picloud.errors import NotFound
from picloud.services import dead_letters as service
from picloud.services.dead_letters import DEFAULT_LIMIT, MAX_LIMIT, DeadLetterView

__all__ = ["DeadLettersController"]


class DeadLettersController(Controller):
    """Dead letters of an app (``AppDeadLetterManage`` to replay/resolve, ``AppRead`` to list)."""

    path = "/api/v1/admin/apps/{app:str}/dead-letters"
    tags = ("dead letters",)
    dependencies = dependencies

    @get("/")
    async def list_dead_letters(
        self,
        app: FromPath[str],
        conn: DbConn,
        principal: Caller,
        resolved: Annotated[
            bool | None, QueryParameter(description="false: still to deal with")
        ] = None,
        trigger_id: Annotated[str | None, QueryParameter(description="Only this trigger's")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> list[DeadLetterView]:
        """Newest first; ``?resolved=false`` lists the ones still to deal with."""
        found = await app_access(conn, principal, app, AppRead)
        return await service.list_dead_letters(
            conn, found.id, resolved=resolved, trigger_id=trigger_id, limit=limit
        )

    @get("/{dl_id:str}")
    async def get_dead_letter(
        self, app: FromPath[str], dl_id: FromPath[str], conn: DbConn, principal: Caller
    ) -> DeadLetterView:
        """One dead letter with every attempt."""
        found = await app_access(conn, principal, app, AppRead)
        view = await service.get_dead_letter(conn, found.id, dl_id)
        if view is None:
            raise NotFound("dead letter not found", details={"resource": "dead_letter"})
        return view

    @post("/{dl_id:str}/replay", status_code=202)
    async def replay(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        dl_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> dict[str, str]:
        """Run the job again now: ``202 {"job_id"}``."""
        found = await app_access(conn, principal, app, AppDeadLetterManage)
        meta = command_context(request, principal).meta()
        return {"job_id": await service.replay(conn, meta, found.id, dl_id)}

    @post("/{dl_id:str}/resolve", status_code=200)
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        dl_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> DeadLetterView:
        """Mark it dealt with."""
        found = await app_access(conn, principal, app, AppDeadLetterManage)
        meta = command_context(request, principal).meta()
        return await service.resolve(conn, meta, found.id, dl_id)
