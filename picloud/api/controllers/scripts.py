"""``/api/v1/admin``: an app's scripts (endpoints and modules); ``{app}`` is an id or a slug."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from picloud.api.deps import Caller, DbConn, app_access, command_context, dependencies
from picloud.auth.capabilities import Capability, ScriptRead, ScriptWrite
from picloud.auth.principal import Principal, authorize
from picloud.errors import NotFound
from picloud.services import scripts as script_service
from picloud.services.scripts import ScriptRecord, ScriptView

__all__ = ["CreateScriptIn", "ScriptsController", "UpdateScriptIn", "script_access"]


class CreateScriptIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/admin/apps/{app}/scripts``."""

    name: str
    source: str
    kind: str = "endpoint"


class UpdateScriptIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /api/v1/admin/scripts/{id}``; ``version``, if given, must be the current one."""

    source: str
    version: int | None = None


async def script_access(
    conn: Any, principal: Principal, script_id: str, capability: type[Capability]
) -> ScriptRecord:
    """The script, if the caller has ``capability`` on its app; otherwise 404 or 403.

    An unknown script and one in an app the caller may not see give the same 404.
    """
    script = await script_service.get_script(conn, script_id)
    if script is None:
        raise NotFound("script not found", details={"resource": "script"})
    try:
        await authorize(conn, principal, capability(script.app_id))  # type: ignore[call-arg]
    except NotFound:
        raise NotFound("script not found", details={"resource": "script"}) from None
    return script


class ScriptsController(Controller):
    """Deploy, read, update and delete scripts (``ScriptRead`` / ``ScriptWrite`` on the app)."""

    path = "/api/v1/admin"
    tags = ("scripts",)
    dependencies = dependencies

    @post("/apps/{app:str}/scripts")
    async def create(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        data: JSONBody[CreateScriptIn],
        conn: DbConn,
        principal: Caller,
    ) -> ScriptView:
        """Deploy a script (422 if it does not compile, 409 ``duplicate_script_name``)."""
        found = await app_access(conn, principal, app, ScriptWrite)
        return await script_service.create_script(
            conn, command_context(request, principal), found.id, data.name, data.kind, data.source
        )

    @get("/apps/{app:str}/scripts")
    async def list_scripts(
        self,
        app: FromPath[str],
        conn: DbConn,
        principal: Caller,
        kind: FromQuery[str | None] = None,
    ) -> list[ScriptView]:
        """The app's scripts by name; ``?kind=endpoint|module`` filters."""
        found = await app_access(conn, principal, app, ScriptRead)
        return await script_service.list_scripts(conn, found.id, kind)

    @get("/scripts/{script_id:str}")
    async def get_script(
        self, script_id: FromPath[str], conn: DbConn, principal: Caller
    ) -> ScriptView:
        """One script with its imports and the scripts that import it."""
        await script_access(conn, principal, script_id, ScriptRead)
        return await script_service.get_script_view(conn, script_id)

    @put("/scripts/{script_id:str}")
    async def update(
        self,
        request: Request[Any, Any, Any],
        script_id: FromPath[str],
        data: JSONBody[UpdateScriptIn],
        conn: DbConn,
        principal: Caller,
    ) -> ScriptView:
        """Replace the source; the version goes up by one (unchanged source: no change)."""
        await script_access(conn, principal, script_id, ScriptWrite)
        return await script_service.update_script(
            conn, command_context(request, principal), script_id, data.source, data.version
        )

    @delete("/scripts/{script_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_script(
        self,
        request: Request[Any, Any, Any],
        script_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> None:
        """Delete the script and its routes (409 ``module_in_use`` while imported)."""
        await script_access(conn, principal, script_id, ScriptWrite)
        await script_service.delete_script(conn, command_context(request, principal), script_id)
