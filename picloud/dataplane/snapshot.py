"""The one cheap read per data-plane request: app, routes version and script versions.

Caches in every process are keyed by versions, so each request must learn
the current versions from Postgres. One statement (prepared once per
connection by asyncpg) returns the app the request names, the position of
its last routes change (``routes_version``) and the id, kind, name and
version of each of its scripts — everything a cache hit needs, in one round
trip, without any script source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from picloud.dataplane.router import AppTarget
from picloud.execution.run import ModuleRef

__all__ = ["SNAPSHOT_SQL", "AppSnapshot", "read_snapshot"]

# The app by custom hostname, else by the {slug}.{base} Host, else by the
# /a/{slug} prefix (`how` 1, 2, 3). Reads the projections of apps, scripts and
# routes (app_routes_state is what services.scripts.routes_version reads).
SNAPSHOT_SQL = """
WITH hit AS (
    SELECT app_id AS id, 1 AS how FROM app_hostnames WHERE hostname = $1
    UNION ALL SELECT id, 2 FROM apps WHERE slug = $2
    UNION ALL SELECT id, 3 FROM apps WHERE slug = $3
    ORDER BY how LIMIT 1
)
SELECT a.id::text AS id, a.slug, hit.how,
       COALESCE((SELECT r.last_position FROM app_routes_state r WHERE r.app_id = a.id), 0)
           AS routes_version,
       ARRAY(SELECT s.id::text FROM scripts s WHERE s.app_id = a.id ORDER BY s.id) AS ids,
       ARRAY(SELECT s.kind = 'module' FROM scripts s WHERE s.app_id = a.id ORDER BY s.id) AS mods,
       ARRAY(SELECT s.name FROM scripts s WHERE s.app_id = a.id ORDER BY s.id) AS names,
       ARRAY(SELECT s.version FROM scripts s WHERE s.app_id = a.id ORDER BY s.id) AS versions
FROM hit JOIN apps a ON a.id = hit.id
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


async def read_snapshot(conn: Any, target: AppTarget) -> AppSnapshot | None:
    """The app ``target`` names with its versions, or None when there is no such app."""
    row = await conn.fetchrow(SNAPSHOT_SQL, target.hostname, target.host_slug, target.prefix_slug)
    if row is None:
        return None
    versions: dict[str, int] = {}
    modules: dict[str, ModuleRef] = {}
    for sid, is_mod, name, version in zip(row["ids"], row["mods"], row["names"], row["versions"]):
        versions[sid] = version
        if is_mod:
            modules[name] = ModuleRef(sid, version)
    return AppSnapshot(row["id"], row["slug"], row["how"], row["routes_version"], versions, modules)
