"""Route commands and queries: which endpoint script answers a method and path of an app.

Rules (docs/scripts.md): ``method`` is one of :data:`METHODS` (any case in,
upper case stored); ``path`` starts with ``/``, has no empty segment or
trailing ``/`` and holds whole-segment ``{param}`` placeholders whose names
are distinct identifiers; two routes of an app may not share a method and a
path *shape* (the path with parameter names erased); the target must be an
endpoint; ``async`` dispatch is refused until the triggers issue lands.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import msgspec

from picloud.errors import Conflict, InvalidInput, NotFound
from picloud.events.scripts import RouteCreated, RouteDeleted, route_stream
from picloud.events.store import lock_app
from picloud.projections.scripts import route_shape
from picloud.services.context import CommandContext
from picloud.services.scripts import append_checked, get_script
from picloud.services.validation import is_uuid

__all__ = [
    "DISPATCH_MODES",
    "MAX_PATH_LENGTH",
    "MAX_ROUTES_PER_APP",
    "METHODS",
    "RouteView",
    "check_dispatch_mode",
    "check_method",
    "check_path",
    "create_route",
    "delete_route",
    "get_route",
    "list_routes",
]

#: The HTTP methods a route may name (no wildcard: one route, one method).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DISPATCH_MODES = ("sync", "async")
MAX_PATH_LENGTH = 1024
MAX_ROUTES_PER_APP = 1000

_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# RFC 3986 pchar: unreserved, sub-delims, ':' '@', and %XX escapes.
_LITERAL = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$")


class RouteView(msgspec.Struct, frozen=True, kw_only=True):
    """A route as the admin API shows it."""

    id: str
    app_id: str
    script_id: str
    method: str
    path: str
    dispatch_mode: str
    created_at: datetime


def _bad(field: str, message: str, code: str = "invalid_input", **extra: Any) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code=code, details={"field": field, **extra})


def check_method(method: str) -> str:
    """The method upper-cased; one of :data:`METHODS`."""
    upper = method.strip().upper()
    if upper not in METHODS:
        raise _bad("method", f"must be one of {', '.join(METHODS)}", "invalid_route_method")
    return upper


def check_path(path: str) -> str:
    """A route path: ``/`` or ``/seg/...`` with whole-segment, distinct ``{param}`` names."""
    code = "invalid_route_path"
    if not path.startswith("/"):
        raise _bad("path", "must start with '/'", code)
    if len(path) > MAX_PATH_LENGTH:
        raise _bad("path", f"must be at most {MAX_PATH_LENGTH} characters", code)
    if path == "/":
        return path
    if path.endswith("/"):
        raise _bad("path", "must not end with '/' (except the root path '/')", code)
    seen: set[str] = set()
    for segment in path[1:].split("/"):
        if not segment:
            raise _bad("path", "must not contain an empty segment ('//')", code)
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            if not _PARAM_NAME.match(name):
                raise _bad(
                    "path",
                    f"parameter {segment!r}: its name must be an identifier (letters, digits, _)",
                    code,
                    segment=segment,
                )
            if name in seen:
                raise _bad("path", f"parameter {{{name}}} appears twice", code, segment=segment)
            seen.add(name)
        elif not _LITERAL.match(segment):
            raise _bad(
                "path",
                f"segment {segment!r}: a parameter must be a whole segment like {{id}}, and"
                " literal segments may hold only URL path characters",
                code,
                segment=segment,
            )
    return path


def check_dispatch_mode(mode: str) -> str:
    """``sync`` (run in the API process) or ``async`` (202 and a worker job)."""
    if mode not in DISPATCH_MODES:
        raise _bad("dispatch_mode", "must be 'sync' or 'async'", "invalid_dispatch_mode")
    return mode


_ROUTE_COLS = (
    "id::text AS id, app_id::text AS app_id, script_id::text AS script_id, method, path,"
    " dispatch_mode, created_at"
)


def _view(row: Any) -> RouteView:
    return RouteView(
        id=row["id"],
        app_id=row["app_id"],
        script_id=row["script_id"],
        method=row["method"],
        path=row["path"],
        dispatch_mode=row["dispatch_mode"],
        created_at=row["created_at"],
    )


def _not_found(resource: str = "route") -> NotFound:
    return NotFound(f"{resource} not found", details={"resource": resource})


async def get_route(conn: Any, route_id: str) -> RouteView | None:
    """The route with this id, or ``None``."""
    if not is_uuid(route_id):
        return None
    row = await conn.fetchrow(f"SELECT {_ROUTE_COLS} FROM routes WHERE id = $1::uuid", route_id)
    return None if row is None else _view(row)


async def list_routes(conn: Any, app_id: str) -> list[RouteView]:
    """The app's routes, by path then method."""
    rows = await conn.fetch(
        f"SELECT {_ROUTE_COLS} FROM routes WHERE app_id = $1::uuid ORDER BY path, method, id",
        app_id,
    )
    return [_view(r) for r in rows]


async def create_route(
    conn: Any,
    ctx: CommandContext,
    script_id: str,
    method: str,
    path: str,
    dispatch_mode: str = "sync",
) -> RouteView:
    """Route ``method path`` of the script's app to the script.

    Raises:
        InvalidInput: a bad method/path/mode, or the script is a module (``module_not_routable``).
        Conflict: ``duplicate_route`` — the app routes that method and path shape already.
    """
    method = check_method(method)
    path = check_path(path)
    dispatch_mode = check_dispatch_mode(dispatch_mode)
    script = await get_script(conn, script_id)
    if script is None:
        raise _not_found("script")
    app_id = script.app_id
    route_id = str(uuid.uuid4())
    async with conn.transaction():
        # Under the app's append lock no other route of the app can appear
        # between the duplicate check and the append.
        await lock_app(conn, app_id)
        script = await get_script(conn, script_id)
        if script is None:
            raise _not_found("script")
        if script.kind != "endpoint":
            raise _bad(
                "script_id",
                "a module script cannot be routed; route an endpoint that imports it",
                "module_not_routable",
            )
        clash = await conn.fetchrow(
            "SELECT id::text AS id, path FROM routes"
            " WHERE app_id = $1::uuid AND method = $2 AND shape = $3",
            app_id,
            method,
            route_shape(path),
        )
        if clash is not None:
            raise Conflict(
                f"the app already routes {method} {clash['path']}",
                code="duplicate_route",
                details={"field": "path", "route_id": clash["id"]},
            )
        count = await conn.fetchval("SELECT count(*) FROM routes WHERE app_id = $1::uuid", app_id)
        if count >= MAX_ROUTES_PER_APP:
            raise Conflict(
                f"an app may have at most {MAX_ROUTES_PER_APP} routes",
                code="too_many_routes",
                details={"max": MAX_ROUTES_PER_APP},
            )
        event = RouteCreated(
            route_id=route_id,
            app_id=app_id,
            script_id=script_id,
            method=method,
            path=path,
            dispatch_mode=dispatch_mode,
        )
        await append_checked(conn, ctx, route_stream(route_id), 0, [event], app_id=app_id)
        found = await get_route(conn, route_id)
    if found is None:  # written just above in this transaction: never
        raise _not_found()
    return found


async def delete_route(conn: Any, ctx: CommandContext, route_id: str) -> None:
    """Remove a route; 404 when there is none."""
    current = await get_route(conn, route_id)
    if current is None:
        raise _not_found()
    async with conn.transaction():
        await lock_app(conn, current.app_id)
        if await get_route(conn, route_id) is None:
            raise _not_found()
        event = RouteDeleted(route_id=route_id, app_id=current.app_id, script_id=current.script_id)
        await append_checked(conn, ctx, route_stream(route_id), 1, [event], app_id=current.app_id)
