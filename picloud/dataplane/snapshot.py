"""The one cheap read per data-plane request: app, routes version and script versions.

Caches in every process are keyed by versions, so each request must learn
the current versions from Postgres. One statement returns, per target, the
app the request names, the position of its last routes change
(``routes_version``) and the id, kind, name and version of each of its
scripts — everything a cache hit needs, without any script source.

``SnapshotReader`` batches these reads on one dedicated connection: a
request joins the batch that has *not been sent yet*, so every request is
answered by a query sent after it arrived (never staler than a read of its
own), while under load one round trip serves many requests. The connection
runs only this read-only statement, so it skips the pool's per-release
session reset.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from picloud.dataplane.router import AppTarget
from picloud.execution.run import ModuleRef

__all__ = ["SNAPSHOT_SQL", "AppSnapshot", "SnapshotReader", "snapshot_from_row"]

# Per target: the app by custom hostname, else by the {slug}.{base} Host, else
# by the /a/{slug} prefix (`how` 1, 2, 3). Reads the projections of apps,
# scripts and routes (app_routes_state is what services.scripts.routes_version
# reads). A target naming no app has no row.
SNAPSHOT_SQL = """
SELECT t.i, x.*
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(h, hs, ps, i)
CROSS JOIN LATERAL (
    SELECT a.id::text AS id, a.slug, hit.how,
           COALESCE((SELECT r.last_position FROM app_routes_state r WHERE r.app_id = a.id), 0)
               AS routes_version,
           (SELECT json_agg(json_build_array(s.id, s.kind = 'module', s.name, s.version))
              FROM scripts s WHERE s.app_id = a.id) AS scripts
    FROM (SELECT app_id AS id, 1 AS how FROM app_hostnames WHERE hostname = t.h
          UNION ALL SELECT id, 2 FROM apps WHERE slug = t.hs
          UNION ALL SELECT id, 3 FROM apps WHERE slug = t.ps
          ORDER BY how LIMIT 1) AS hit
    JOIN apps a ON a.id = hit.id
) AS x
"""


@dataclass(frozen=True, slots=True)
class AppSnapshot:
    """What this request knows of its app: identity, routes version, script versions."""

    app_id: str
    slug: str
    #: 1 = custom hostname, 2 = ``{slug}.{base}`` host, 3 = ``/a/{slug}`` prefix.
    how: int
    routes_version: int
    #: Script id → version (endpoints and modules).
    versions: dict[str, int]
    #: Module name → (id, version).
    modules: dict[str, ModuleRef]


def snapshot_from_row(row: Any) -> AppSnapshot:
    """An ``AppSnapshot`` from one row of ``SNAPSHOT_SQL``."""
    versions: dict[str, int] = {}
    modules: dict[str, ModuleRef] = {}
    for sid, is_mod, name, version in row["scripts"] or ():
        versions[sid] = version
        if is_mod:
            modules[name] = ModuleRef(sid, version)
    return AppSnapshot(row["id"], row["slug"], row["how"], row["routes_version"], versions, modules)


_Key = tuple[str | None, str | None, str | None]


class SnapshotReader:
    """Batches snapshot reads on one dedicated connection (opened on first use)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._conn: Any = None
        self._pending: dict[_Key, list[asyncio.Future[AppSnapshot | None]]] = {}
        self._draining = False
        self._closed = False

    async def read(self, target: AppTarget) -> AppSnapshot | None:
        """The app ``target`` names with its versions, or None when there is no such app."""
        if self._closed:
            raise ConnectionError("the snapshot reader is closed")
        key = (target.hostname, target.host_slug, target.prefix_slug)
        fut: asyncio.Future[AppSnapshot | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append(fut)
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    found = await self._query(list(batch))
                except BaseException as exc:
                    await self._drop()
                    for waiters in batch.values():
                        for fut in waiters:
                            if not fut.done():
                                fut.set_exception(
                                    exc
                                    if isinstance(exc, Exception)
                                    else ConnectionError("cancelled")
                                )
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for i, waiters in enumerate(batch.values()):
                    snap = found.get(i + 1)
                    for fut in waiters:
                        if not fut.done():
                            fut.set_result(snap)
        finally:
            self._draining = False

    async def _query(self, keys: list[_Key]) -> dict[int, AppSnapshot]:
        conn = self._conn
        if conn is None or conn.is_closed():
            from picloud.db import connect

            conn = self._conn = await connect(self.settings, timeout=5)
        rows = await conn.fetch(
            SNAPSHOT_SQL, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]
        )
        return {row["i"]: snapshot_from_row(row) for row in rows}

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        """Close the connection (app shutdown)."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
