"""``/api/v1/admin/apps/{app}/docs/{collection}``: read-only browsing of an app's documents."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from picloud.api.deps import Caller, DbConn, PageCursor, app_access, dependencies
from picloud.auth.capabilities import AppDocsRead
from picloud.services import docs as docs_service
from picloud.services.docs import DocPage, DocsLimits

__all__ = ["DocsController"]


class DocsController(Controller):
    """List an app's documents (capability ``AppDocsRead``: scope ``script:read``, role viewer)."""

    path = "/api/v1/admin/apps/{app:str}/docs"
    tags = ("docs",)
    dependencies = dependencies

    @get("/{collection:str}")
    async def list_docs(
        self,
        request: Request[Any, Any, Any],
        app: FromPath[str],
        collection: FromPath[str],
        conn: DbConn,
        principal: Caller,
        limit: Annotated[
            int | None,
            QueryParameter(ge=1, description="Page size (default and maximum: PICLOUD_DOCS_*)"),
        ] = None,
        cursor: PageCursor = None,
    ) -> DocPage:
        """A page of documents in creation order; data in stored JSON form (Blobs as markers)."""
        found = await app_access(conn, principal, app, AppDocsRead)
        limits = DocsLimits.from_settings(request.app.state.settings)
        return await docs_service.list_docs(
            conn, found.id, collection, limit, cursor or None, limits
        )
