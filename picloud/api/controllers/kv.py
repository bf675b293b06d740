"""``/api/v1/admin/apps/{app}/kv/{collection}``: read-only browsing of an app's KV (dashboard)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from picloud.api.deps import Caller, DbConn, PageCursor, app_access, dependencies
from picloud.auth.capabilities import AppKvRead
from picloud.services import kv as kv_service
from picloud.services.kv import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, KvLimits, KvPage

__all__ = ["KvController"]


class KvController(Controller):
    """List an app's KV entries (capability ``AppKvRead``: scope ``script:read``, role viewer)."""

    path = "/api/v1/admin/apps/{app:str}/kv"
    tags = ("kv",)
    dependencies = dependencies

    @get("/{collection:str}")
    async def list_entries(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        collection: FromPath[str],
        conn: DbConn,
        principal: Caller,
        prefix: Annotated[str, QueryParameter(description="Only keys starting with this")] = "",
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_LIST_LIMIT, description="Page size")
        ] = DEFAULT_LIST_LIMIT,
        cursor: PageCursor = None,
    ) -> KvPage:
        """A page of entries in key order; values in their stored JSON form (Blobs as markers)."""
        found = await app_access(conn, principal, app, AppKvRead)
        name = kv_service.check_collection(collection)
        start = kv_service.check_prefix(prefix, KvLimits.from_settings(request.app.state.settings))
        return await kv_service.list_entries(
            conn, found.id, name, prefix=start, limit=limit, cursor=cursor or None
        )
