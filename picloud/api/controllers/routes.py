"""``/api/v1/admin``: an app's HTTP routes, each running one endpoint script."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from picloud.api.controllers.scripts import script_access
from picloud.api.deps import Caller, DbConn, app_access, command_context, dependencies
from picloud.auth.capabilities import ScriptRead, ScriptWrite
from picloud.auth.principal import authorize
from picloud.errors import NotFound
from picloud.services import routes as route_service
from picloud.services.routes import RouteView

__all__ = ["CreateRouteIn", "RoutesController"]


class CreateRouteIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/admin/scripts/{id}/routes``."""

    method: str
    path: str
    dispatch_mode: str = "sync"


class RoutesController(Controller):
    """Create, list and delete routes (``ScriptRead`` / ``ScriptWrite`` on the app)."""

    path = "/api/v1/admin"
    tags = ("routes",)
    dependencies = dependencies

    @post("/scripts/{script_id:str}/routes")
    async def create(
        self,
        request: Request[Any, Any, Any],
        script_id: FromPath[str],
        data: JSONBody[CreateRouteIn],
        conn: DbConn,
        principal: Caller,
    ) -> RouteView:
        """Route a method and path to the script (400 for a module or ``async``, 409 duplicate)."""
        await script_access(conn, principal, script_id, ScriptWrite)
        return await route_service.create_route(
            conn,
            command_context(request, principal),
            script_id,
            data.method,
            data.path,
            data.dispatch_mode,
        )

    @get("/scripts/{script_id:str}/routes")
    async def list_script_routes(
        self, script_id: FromPath[str], conn: DbConn, principal: Caller
    ) -> list[RouteView]:
        """The routes that run this script."""
        script = await script_access(conn, principal, script_id, ScriptRead)
        routes = await route_service.list_routes(conn, script.app_id)
        return [r for r in routes if r.script_id == script.id]

    @get("/apps/{app:str}/routes")
    async def list_routes(
        self, app: FromPath[str], conn: DbConn, principal: Caller
    ) -> list[RouteView]:
        """The app's routes by path then method."""
        found = await app_access(conn, principal, app, ScriptRead)
        return await route_service.list_routes(conn, found.id)

    @get("/routes/{route_id:str}")
    async def get_route(
        self, route_id: FromPath[str], conn: DbConn, principal: Caller
    ) -> RouteView:
        """One route."""
        return await _route_access(conn, principal, route_id, write=False)

    @delete("/routes/{route_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_route(
        self,
        request: Request[Any, Any, Any],
        route_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> None:
        """Remove the route; the script stays."""
        await _route_access(conn, principal, route_id, write=True)
        await route_service.delete_route(conn, command_context(request, principal), route_id)


async def _route_access(conn: Any, principal: Any, route_id: str, *, write: bool) -> RouteView:
    """The route, if the caller may read (or write) its app's scripts; else 404 or 403."""
    route = await route_service.get_route(conn, route_id)
    if route is None:
        raise NotFound("route not found", details={"resource": "route"})
    cap = ScriptWrite(route.app_id) if write else ScriptRead(route.app_id)
    try:
        await authorize(conn, principal, cap)
    except NotFound:
        raise NotFound("route not found", details={"resource": "route"}) from None
    return route
