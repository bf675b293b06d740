"""The scripts projection: ``scripts``, the ``script_imports`` graph, ``routes``.

Also keeps ``app_routes_state`` (the position of the last event that changed
an app's routes) so the data plane can tell cheaply when its route table is
stale. Every column comes from the event or rows this projection owns, so a
rebuild reproduces the live tables exactly.
"""

from __future__ import annotations

import re
from typing import Any

from picloud.events.apps import AppDeleted
from picloud.events.scripts import (
    RouteCreated,
    RouteDeleted,
    ScriptCreated,
    ScriptDeleted,
    ScriptUpdated,
)
from picloud.events.types import RecordedEvent
from picloud.projections.base import BaseProjection, quote_ident, register_projection

__all__ = ["PROJECTION", "ScriptsProjection", "route_shape"]

_PARAM = re.compile(r"\{[^/{}]*\}")


def route_shape(path: str) -> str:
    """``path`` with every ``{param}`` written ``{}``: the key two routes may not share."""
    return _PARAM.sub("{}", path)


class ScriptsProjection(BaseProjection):
    """Live scripts, what they import, and the routes that run them."""

    name = "scripts"
    tables: tuple[str, ...] = ("scripts", "script_imports", "routes", "app_routes_state")
    handles = frozenset(
        {
            "script.created",
            "script.updated",
            "script.deleted",
            "route.created",
            "route.deleted",
            "app.deleted",
        }
    )

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one script, route or app-deletion event into the tables of ``schema``."""
        s = quote_ident(schema)
        data = event.event
        at = event.recorded_at
        match data:
            case ScriptCreated():
                await conn.execute(
                    f"INSERT INTO {s}.scripts (id, app_id, name, kind, source, version, imports,"
                    " created_at, updated_at, last_position)"
                    " VALUES ($1::uuid, $2::uuid, $3, $4, $5, 1, $6, $7, $7, $8)",
                    data.script_id,
                    data.app_id,
                    data.name,
                    data.kind,
                    data.source,
                    list(data.imports),
                    at,
                    event.position,
                )
                await self._set_imports(conn, s, data.script_id, data.app_id, data.imports)
            case ScriptUpdated():
                await conn.execute(
                    f"UPDATE {s}.scripts SET source = $2, imports = $3, version = version + 1,"
                    " updated_at = $4, last_position = $5 WHERE id = $1::uuid",
                    data.script_id,
                    data.source,
                    list(data.imports),
                    at,
                    event.position,
                )
                await self._set_imports(conn, s, data.script_id, data.app_id, data.imports)
            case ScriptDeleted():
                # Routes were deleted by their own events; this is only a backstop.
                await self._routes_changed(conn, s, data.app_id, event.position, data.script_id)
                await conn.execute(
                    f"DELETE FROM {s}.script_imports WHERE importer_id = $1::uuid", data.script_id
                )
                await conn.execute(f"DELETE FROM {s}.scripts WHERE id = $1::uuid", data.script_id)
            case RouteCreated():
                await conn.execute(
                    f"INSERT INTO {s}.routes (id, app_id, script_id, method, path, shape,"
                    " dispatch_mode, created_at, last_position)"
                    " VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7, $8, $9)",
                    data.route_id,
                    data.app_id,
                    data.script_id,
                    data.method,
                    data.path,
                    route_shape(data.path),
                    data.dispatch_mode,
                    at,
                    event.position,
                )
                await self._touch(conn, s, data.app_id, event.position)
            case RouteDeleted():
                await conn.execute(f"DELETE FROM {s}.routes WHERE id = $1::uuid", data.route_id)
                await self._touch(conn, s, data.app_id, event.position)
            case AppDeleted():
                # The app's code and routes go with it (their events stay in the log).
                for table, column in (
                    ("routes", "app_id"),
                    ("script_imports", "app_id"),
                    ("scripts", "app_id"),
                    ("app_routes_state", "app_id"),
                ):
                    await conn.execute(
                        f"DELETE FROM {s}.{table} WHERE {column} = $1::uuid", data.app_id
                    )

    async def _routes_changed(
        self, conn: Any, s: str, app_id: str, position: int, script_id: str
    ) -> None:
        deleted = await conn.execute(
            f"DELETE FROM {s}.routes WHERE script_id = $1::uuid", script_id
        )
        if deleted != "DELETE 0":
            await self._touch(conn, s, app_id, position)

    @staticmethod
    async def _touch(conn: Any, s: str, app_id: str, position: int) -> None:
        await conn.execute(
            f"INSERT INTO {s}.app_routes_state (app_id, last_position) VALUES ($1::uuid, $2)"
            " ON CONFLICT (app_id) DO UPDATE SET last_position = EXCLUDED.last_position",
            app_id,
            position,
        )

    @staticmethod
    async def _set_imports(
        conn: Any, s: str, script_id: str, app_id: str, imports: list[str]
    ) -> None:
        await conn.execute(
            f"DELETE FROM {s}.script_imports WHERE importer_id = $1::uuid", script_id
        )
        if imports:
            await conn.execute(
                f"INSERT INTO {s}.script_imports (importer_id, app_id, imported_name)"
                " SELECT $1::uuid, $2::uuid, n FROM unnest($3::text[]) AS n"
                " ON CONFLICT DO NOTHING",
                script_id,
                app_id,
                list(imports),
            )


PROJECTION = ScriptsProjection()
register_projection(PROJECTION)
