"""``/api/v1/auth``: login, logout and who-am-I."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from picloud.api.deps import Caller, DbConn, command_context, dependencies
from picloud.api.request_id import request_id_of
from picloud.api.schemas import LoginIn
from picloud.services import identity
from picloud.services.models import LoginResult, MeView

__all__ = ["AuthController"]

# Login needs no credentials; logout and me need the caller.
_PRINCIPAL = {"principal": dependencies["principal"]}


class AuthController(Controller):
    """Dashboard sessions: log in with email and password, get a bearer token."""

    path = "/api/v1/auth"
    tags = ("auth",)
    dependencies = {"conn": dependencies["conn"]}  # noqa: RUF012 - Litestar controller API

    @post("/login", status_code=HTTP_200_OK, security=[])
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginIn], conn: DbConn, state: State
    ) -> LoginResult:
        """Exchange email and password for a session token (401 ``invalid_credentials``)."""
        return await identity.login(
            conn,
            data.email,
            data.password,
            ttl_seconds=state.settings.session_ttl_seconds,
            request_id=request_id_of(request.scope),
        )

    @post("/logout", status_code=HTTP_204_NO_CONTENT, dependencies=_PRINCIPAL)
    async def logout(
        self, request: Request[Any, Any, Any], conn: DbConn, principal: Caller
    ) -> None:
        """End the current session; its token is refused from the next request on."""
        await identity.logout(conn, command_context(request, principal), principal)

    @get("/me", dependencies=_PRINCIPAL)
    async def me(self, conn: DbConn, principal: Caller) -> MeView:
        """The caller: a user with their memberships, or an API key with its scopes."""
        return await identity.me(conn, principal)
