"""``/api/v1/admin/apps``: app lifecycle and membership; ``{app}`` is an id or a slug."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from picloud.api.deps import Caller, DbConn, app_access, command_context, dependencies, require
from picloud.api.schemas import CreateAppIn, PatchAppIn, SetMemberIn
from picloud.auth.capabilities import (
    AppAdmin,
    AppCreate,
    AppList,
    AppMembersManage,
    AppRead,
    AppWrite,
)
from picloud.services import apps as app_service
from picloud.services.models import AppView, MemberView

__all__ = ["AppsController"]


class AppsController(Controller):
    """Apps and their members."""

    path = "/api/v1/admin/apps"
    tags = ("apps",)
    dependencies = dependencies

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CreateAppIn],
        conn: DbConn,
        principal: Caller,
    ) -> AppView:
        """Create an app (409 ``duplicate_slug`` / ``duplicate_hostname``)."""
        await require(conn, principal, AppCreate())
        return await app_service.create_app(
            conn,
            command_context(request, principal),
            data.slug,
            data.name,
            data.hostnames,
            base_domain=request.app.state.settings.base_domain,
        )

    @get("/")
    async def list_apps(self, conn: DbConn, principal: Caller) -> list[AppView]:
        """The apps visible to the caller."""
        await require(conn, principal, AppList())
        return await app_service.list_apps(conn, principal)

    @get("/{app:str}")
    async def get_app(self, app: FromPath[str], conn: DbConn, principal: Caller) -> AppView:
        """One app."""
        return await app_access(conn, principal, app, AppRead)

    @patch("/{app:str}")
    async def update(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        data: JSONBody[PatchAppIn],
        conn: DbConn,
        principal: Caller,
    ) -> AppView:
        """Change the slug, name or hostnames; omitted fields keep their value."""
        found = await app_access(conn, principal, app, AppWrite)
        return await app_service.update_app(
            conn,
            command_context(request, principal),
            found.id,
            slug=data.slug,
            name=data.name,
            hostnames=data.hostnames,
            base_domain=request.app.state.settings.base_domain,
        )

    @delete("/{app:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_app(
        self, request: Request[Any, Any, Any], app: FromPath[str], conn: DbConn, principal: Caller
    ) -> None:
        """Delete the app; its events stay in the log."""
        found = await app_access(conn, principal, app, AppAdmin)
        await app_service.delete_app(conn, command_context(request, principal), found.id)

    @get("/{app:str}/members")
    async def list_members(
        self, app: FromPath[str], conn: DbConn, principal: Caller
    ) -> list[MemberView]:
        """The app's members and their roles."""
        found = await app_access(conn, principal, app, AppRead)
        return await app_service.list_members(conn, found.id)

    @put("/{app:str}/members/{user_id:str}")
    async def set_member(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        user_id: FromPath[str],
        data: JSONBody[SetMemberIn],
        conn: DbConn,
        principal: Caller,
    ) -> MemberView:
        """Give a user a role (viewer, editor, admin) in the app."""
        found = await app_access(conn, principal, app, AppMembersManage)
        return await app_service.set_member(
            conn, command_context(request, principal), found.id, user_id, data.role
        )

    @delete("/{app:str}/members/{user_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def remove_member(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        user_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> None:
        """Remove a user from the app."""
        found = await app_access(conn, principal, app, AppMembersManage)
        await app_service.remove_member(
            conn, command_context(request, principal), found.id, user_id
        )
