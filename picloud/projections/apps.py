"""The apps projection: ``apps``, ``app_hostnames`` and ``app_members`` from app events."""

from __future__ import annotations

from typing import Any

from picloud.events.apps import AppCreated, AppDeleted, AppMemberRemoved, AppMemberSet, AppUpdated
from picloud.events.types import RecordedEvent
from picloud.projections.base import BaseProjection, quote_ident, register_projection

__all__ = ["PROJECTION", "AppsProjection"]


class AppsProjection(BaseProjection):
    """Live apps, their hostnames and their members."""

    name = "apps"
    tables: tuple[str, ...] = ("apps", "app_hostnames", "app_members")
    handles = frozenset(
        {"app.created", "app.updated", "app.deleted", "app.member_set", "app.member_removed"}
    )

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one app event into the tables of ``schema``."""
        s = quote_ident(schema)
        data = event.event
        at = event.recorded_at
        match data:
            case AppCreated():
                await conn.execute(
                    f"INSERT INTO {s}.apps (id, slug, name, hostnames, created_at, updated_at,"
                    " version) VALUES ($1::uuid, $2, $3, $4, $5, $5, $6)",
                    data.app_id,
                    data.slug,
                    data.name,
                    list(data.hostnames),
                    at,
                    event.version,
                )
                await self._set_hostnames(conn, s, data.app_id, data.hostnames, replace=False)
            case AppUpdated():
                await conn.execute(
                    f"UPDATE {s}.apps SET slug = $2, name = $3, hostnames = $4, updated_at = $5,"
                    " version = $6 WHERE id = $1::uuid",
                    data.app_id,
                    data.slug,
                    data.name,
                    list(data.hostnames),
                    at,
                    event.version,
                )
                await self._set_hostnames(conn, s, data.app_id, data.hostnames, replace=True)
            case AppDeleted():
                for table in ("app_members", "app_hostnames"):
                    await conn.execute(
                        f"DELETE FROM {s}.{table} WHERE app_id = $1::uuid", data.app_id
                    )
                await conn.execute(f"DELETE FROM {s}.apps WHERE id = $1::uuid", data.app_id)
            case AppMemberSet():
                await conn.execute(
                    f"INSERT INTO {s}.app_members (app_id, user_id, role, created_at, updated_at)"
                    " VALUES ($1::uuid, $2::uuid, $3, $4, $4) ON CONFLICT (app_id, user_id)"
                    " DO UPDATE SET role = EXCLUDED.role, updated_at = EXCLUDED.updated_at",
                    data.app_id,
                    data.user_id,
                    data.role,
                    at,
                )
                await self._bump(conn, s, data.app_id, event.version)
            case AppMemberRemoved():
                await conn.execute(
                    f"DELETE FROM {s}.app_members WHERE app_id = $1::uuid AND user_id = $2::uuid",
                    data.app_id,
                    data.user_id,
                )
                await self._bump(conn, s, data.app_id, event.version)

    @staticmethod
    async def _bump(conn: Any, s: str, app_id: str, version: int) -> None:
        # Membership events share the app's stream: keep the row's version in
        # step so the next command appends at the right expected version.
        await conn.execute(f"UPDATE {s}.apps SET version = $2 WHERE id = $1::uuid", app_id, version)

    @staticmethod
    async def _set_hostnames(
        conn: Any, s: str, app_id: str, hostnames: list[str], *, replace: bool
    ) -> None:
        if replace:
            await conn.execute(f"DELETE FROM {s}.app_hostnames WHERE app_id = $1::uuid", app_id)
        if hostnames:
            await conn.execute(
                f"INSERT INTO {s}.app_hostnames (hostname, app_id)"
                " SELECT h, $1::uuid FROM unnest($2::text[]) AS h",
                app_id,
                list(hostnames),
            )


PROJECTION = AppsProjection()
register_projection(PROJECTION)
