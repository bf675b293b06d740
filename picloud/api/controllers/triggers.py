"""``/api/v1/admin/apps/{app}/triggers``: create, list, delete, enable and disable triggers."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from picloud.api.deps import Caller, DbConn, app_access, command_context, dependencies, require
from picloud.auth.capabilities import AppManageTriggers, AppRead, InstanceAdmin
from picloud.errors import DependencyUnavailable, InvalidInput, NotFound
from picloud.outbox.routes import JobView, get_job
from picloud.services import triggers as service
from picloud.services.triggers import TriggerView

__all__ = ["JobsController", "SystemQueuesController", "TriggersController"]


class TriggersController(Controller):
    """Triggers of an app (``AppManageTriggers`` to change, ``AppRead`` to list)."""

    path = "/api/v1/admin/apps/{app:str}/triggers"
    tags = ("triggers",)
    dependencies = dependencies

    @post("/{kind:str}", status_code=HTTP_201_CREATED)
    async def create(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        kind: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> TriggerView:
        """``{script_id, …kind fields, retry?}``; the script must be an endpoint of this app."""
        found = await app_access(conn, principal, app, AppManageTriggers)
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001 - any undecodable body is the client's error
            raise InvalidInput("body must be JSON", code="invalid_json") from None
        return await service.create_trigger(
            conn, command_context(request, principal), found.id, kind, body
        )

    @get("/")
    async def list_triggers(
        self,
        app: FromPath[str],
        conn: DbConn,
        principal: Caller,
        kind: Annotated[str | None, QueryParameter(description="Only this kind")] = None,
    ) -> list[TriggerView]:
        """The app's triggers, oldest first (``?kind=`` filters)."""
        found = await app_access(conn, principal, app, AppRead)
        return await service.list_triggers(conn, found.id, kind)

    @get("/{trigger_id:str}")
    async def get_trigger(
        self, app: FromPath[str], trigger_id: FromPath[str], conn: DbConn, principal: Caller
    ) -> TriggerView:
        """One trigger."""
        found = await app_access(conn, principal, app, AppRead)
        view = await service.get_trigger(conn, found.id, trigger_id)
        if view is None:
            raise NotFound("trigger not found", details={"resource": "trigger"})
        return view

    @delete("/{trigger_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_trigger(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        trigger_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> None:
        """Remove the trigger (jobs already queued still run)."""
        found = await app_access(conn, principal, app, AppManageTriggers)
        await service.delete_trigger(
            conn, command_context(request, principal), found.id, trigger_id
        )

    @post("/{trigger_id:str}/enable")
    async def enable(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        trigger_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> TriggerView:
        """Fire again on matching events."""
        found = await app_access(conn, principal, app, AppManageTriggers)
        return await service.set_enabled(
            conn, command_context(request, principal), found.id, trigger_id, True
        )

    @post("/{trigger_id:str}/disable")
    async def disable(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        trigger_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> TriggerView:
        """Stop firing until enabled."""
        found = await app_access(conn, principal, app, AppManageTriggers)
        return await service.set_enabled(
            conn, command_context(request, principal), found.id, trigger_id, False
        )


class JobsController(Controller):
    """Jobs of an app: async route runs and trigger runs (``AppRead``)."""

    path = "/api/v1/admin/apps/{app:str}/jobs"
    tags = ("triggers",)
    dependencies = dependencies

    @get("/{job_id:str}")
    async def get_job(
        self, app: FromPath[str], job_id: FromPath[str], conn: DbConn, principal: Caller
    ) -> JobView:
        """Status, attempts, result or errors of one job."""
        found = await app_access(conn, principal, app, AppRead)
        view = await get_job(conn, found.id, job_id)
        if view is None:
            raise NotFound("job not found", details={"resource": "job"})
        return view


class SystemQueuesController(Controller):
    """``GET /api/v1/admin/system/queues``: queues, live workers and the outbox backlog."""

    path = "/api/v1/admin/system"
    tags = ("triggers",)
    dependencies = dependencies

    @get("/queues")
    async def queues(
        self, request: Request[Any, Any, Any], conn: DbConn, principal: Caller
    ) -> dict[str, Any]:
        """Per queue: ready, delayed, in flight, dead-lettered; workers; outbox backlog."""
        await require(conn, principal, InstanceAdmin())
        settings = request.app.state.settings
        if not settings.redis_url:
            raise DependencyUnavailable("Redis is not configured")
        from workers.status import queue_status

        try:
            return await queue_status(settings, conn)
        except OSError as exc:
            raise DependencyUnavailable("Redis is unavailable") from exc
