"""``/api/v1/admin/api-keys``: issue (shown once), list, show and revoke API keys."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from picloud.api.deps import Caller, DbConn, command_context, dependencies, require
from picloud.api.schemas import CreateApiKeyIn
from picloud.auth.capabilities import ApiKeysManage
from picloud.services import apps as app_service
from picloud.services import identity
from picloud.services.models import ApiKeyView, CreatedApiKey

__all__ = ["ApiKeysController"]


class ApiKeysController(Controller):
    """API keys are an instance-level resource (capability ``ApiKeysManage``)."""

    path = "/api/v1/admin/api-keys"
    tags = ("api-keys",)
    dependencies = dependencies

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CreateApiKeyIn],
        conn: DbConn,
        principal: Caller,
    ) -> CreatedApiKey:
        """Issue a key; ``key`` in this response is the only time it is ever shown."""
        await require(conn, principal, ApiKeysManage())
        app_id = None
        if data.app is not None:
            app_id = (await app_service.resolve_app(conn, data.app)).id
        return await identity.create_api_key(
            conn,
            command_context(request, principal),
            data.name,
            data.scopes,
            app_id=app_id,
            expires_at=data.expires_at,
        )

    @get("/")
    async def list_keys(self, conn: DbConn, principal: Caller) -> list[ApiKeyView]:
        """Every unrevoked key (prefix only, never the key)."""
        await require(conn, principal, ApiKeysManage())
        return await identity.list_api_keys(conn)

    @get("/{key_id:str}")
    async def get_key(self, key_id: FromPath[str], conn: DbConn, principal: Caller) -> ApiKeyView:
        """One key by id."""
        await require(conn, principal, ApiKeysManage())
        return await identity.get_api_key(conn, key_id)

    @delete("/{key_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        key_id: FromPath[str],
        conn: DbConn,
        principal: Caller,
    ) -> None:
        """Revoke a key: the next request made with it gets 401."""
        await require(conn, principal, ApiKeysManage())
        await identity.revoke_api_key(conn, command_context(request, principal), key_id)
