"""Request-scoped dependencies: a pooled connection, the caller, and access checks."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from picloud.api.request_id import request_id_of
from picloud.auth.capabilities import Capability
from picloud.auth.principal import Principal, authenticate, authorize
from picloud.errors import DependencyUnavailable
from picloud.services import apps as app_service
from picloud.services.context import CommandContext
from picloud.services.models import AppView

__all__ = [
    "Caller",
    "DbConn",
    "PageCursor",
    "app_access",
    "command_context",
    "dependencies",
    "provide_conn",
    "provide_principal",
    "require",
]

#: Handler parameter types for the two dependencies (explicit, as Litestar 3 requires).
DbConn = NamedDependency[Any]
Caller = NamedDependency[Principal]
#: The ``cursor`` query parameter of a paged browse endpoint (absent or empty: the first page).
PageCursor = Annotated[str | None, QueryParameter(description="The cursor of the previous page")]


async def provide_conn(state: State) -> AsyncGenerator[Any, None]:
    """One pooled connection for the whole request, released afterwards."""
    pool = state.get("pool")
    if pool is None:
        raise DependencyUnavailable("database pool is not ready")
    try:
        conn = await pool.acquire()
    except Exception as exc:
        # Whatever stops us getting a connection (server down, database gone,
        # too many clients) is the dependency's failure, not a bug: 503.
        raise DependencyUnavailable("the database is unavailable; retry later") from exc
    try:
        yield conn
    finally:
        await pool.release(conn)


async def provide_principal(request: Request[Any, Any, Any], conn: DbConn) -> Principal:
    """The authenticated caller; 401 without valid credentials (checked on every request)."""
    return await authenticate(conn, request.headers.get("authorization"))


#: Dependencies every authenticated controller declares.
dependencies: dict[str, Provide] = {
    "conn": Provide(provide_conn),
    "principal": Provide(provide_principal),
}


def command_context(request: Request[Any, Any, Any], principal: Principal) -> CommandContext:
    """Event metadata source for a command run on behalf of ``principal``."""
    return CommandContext(actor=principal.actor, request_id=request_id_of(request.scope))


async def require(conn: Any, principal: Principal, cap: Capability) -> None:
    """Raise unless the caller has ``cap`` (the handler's one capability)."""
    await authorize(conn, principal, cap)


async def app_access(
    conn: Any, principal: Principal, ref: str, capability: type[Capability]
) -> AppView:
    """Resolve ``{app}`` (id or slug) and check the handler's capability on it.

    An unknown app and an app the caller may not see give the same 404.
    """
    app = await app_service.resolve_app(conn, ref)
    await authorize(conn, principal, capability(app.id))  # type: ignore[call-arg]
    return app
