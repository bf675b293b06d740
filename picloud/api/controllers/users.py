"""``/api/v1/admin/users``: instance admins create and list users (to add them as members)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from picloud.api.deps import Caller, DbConn, command_context, dependencies, require
from picloud.api.schemas import CreateUserIn
from picloud.auth.capabilities import UsersManage
from picloud.services import identity
from picloud.services.models import UserView

__all__ = ["UsersController"]


class UsersController(Controller):
    """Users are an instance-level resource (capability ``UsersManage``)."""

    path = "/api/v1/admin/users"
    tags = ("users",)
    dependencies = dependencies

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CreateUserIn],
        conn: DbConn,
        principal: Caller,
    ) -> UserView:
        """Create a user (409 ``duplicate_email``)."""
        await require(conn, principal, UsersManage())
        return await identity.create_user(
            conn,
            command_context(request, principal),
            data.email,
            data.password,
            instance_admin=data.instance_admin,
        )

    @get("/")
    async def list_users(self, conn: DbConn, principal: Caller) -> list[UserView]:
        """Every user."""
        await require(conn, principal, UsersManage())
        return await identity.list_users(conn)

    @get("/{user_id:str}")
    async def get_user(self, user_id: FromPath[str], conn: DbConn, principal: Caller) -> UserView:
        """One user by id."""
        await require(conn, principal, UsersManage())
        return await identity.get_user(conn, user_id)
