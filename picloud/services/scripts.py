"""Script commands and queries, plus the read API the data plane codes against.

Commands validate first (compile, module shape, names — no database work),
then, in one transaction under the app's append lock, re-check the state,
append the events and let the inline projection update ``scripts`` and the
``script_imports`` graph. A refused command writes nothing.

The data plane's read functions (:func:`get_script`, :func:`get_module_by_name`,
:func:`list_routes_for_app`, :func:`routes_version`) take a connection and
return frozen records; they never raise for an unknown id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

# Imported for its side effect: registering the scripts projection.
import picloud.projections.scripts  # noqa: F401
from picloud.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    VersionConflict,
)
from picloud.events.scripts import (
    RouteDeleted,
    ScriptCreated,
    ScriptDeleted,
    ScriptUpdated,
    route_stream,
    script_stream,
)
from picloud.events.store import append, lock_app
from picloud.events.types import Event, RecordedEvent
from picloud.scripts.validation import SCRIPT_KINDS, validate_script
from picloud.services.context import CommandContext
from picloud.services.validation import is_uuid

__all__ = [
    "MAX_SOURCE_BYTES",
    "RouteRecord",
    "ScriptRecord",
    "ScriptRef",
    "ScriptView",
    "append_checked",
    "check_kind",
    "create_script",
    "delete_script",
    "get_module_by_name",
    "get_script",
    "get_script_view",
    "list_routes_for_app",
    "list_scripts",
    "routes_version",
    "update_script",
]

#: Largest script source accepted (UTF-8 bytes).
MAX_SOURCE_BYTES = 256 * 1024


class ScriptRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A script as stored: what the data plane compiles and caches (by id and version)."""

    id: str
    app_id: str
    name: str
    kind: str
    source: str
    version: int
    imports: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


class RouteRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A route as the data plane matches it."""

    id: str
    app_id: str
    script_id: str
    method: str
    path: str
    dispatch_mode: str


class ScriptRef(msgspec.Struct, frozen=True, kw_only=True):
    """A script named in another's ``used_by``."""

    id: str
    name: str


class ScriptView(msgspec.Struct, frozen=True, kw_only=True):
    """A script as the admin API shows it: the record plus who imports it."""

    id: str
    app_id: str
    name: str
    kind: str
    source: str
    version: int
    imports: list[str]
    used_by: list[ScriptRef]
    created_at: datetime
    updated_at: datetime


_SCRIPT_COLS = (
    "id::text AS id, app_id::text AS app_id, name, kind, source, version, imports,"
    " created_at, updated_at"
)


def _record(row: Any) -> ScriptRecord:
    return ScriptRecord(
        id=row["id"],
        app_id=row["app_id"],
        name=row["name"],
        kind=row["kind"],
        source=row["source"],
        version=int(row["version"]),
        imports=tuple(row["imports"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# ---------------------------------------------------------------- validation


async def _validate(source: str, kind: str, name: str) -> list[str]:
    """``validate_script`` run on a worker thread."""
    # Parsing a large source takes a second or more; the event loop keeps
    # serving other requests meanwhile.
    return (await asyncio.to_thread(validate_script, source, kind, name)).imports


def check_kind(kind: str) -> str:
    """``endpoint`` or ``module`` (400 ``invalid_script_kind`` otherwise)."""
    if kind not in SCRIPT_KINDS:
        raise InvalidInput(
            "kind: must be 'endpoint' or 'module'",
            code="invalid_script_kind",
            details={"field": "kind"},
        )
    return kind


# ---------------------------------------------------------------- read API (data plane)


async def get_script(conn: Any, script_id: str) -> ScriptRecord | None:
    """The script with this id, or ``None`` (also for a malformed id)."""
    if not is_uuid(script_id):
        return None
    row = await conn.fetchrow(f"SELECT {_SCRIPT_COLS} FROM scripts WHERE id = $1::uuid", script_id)
    return None if row is None else _record(row)


async def get_module_by_name(conn: Any, app_id: str, name: str) -> ScriptRecord | None:
    """The app's module script called ``name``, or ``None`` (endpoints never match)."""
    if not is_uuid(app_id):
        return None
    row = await conn.fetchrow(
        f"SELECT {_SCRIPT_COLS} FROM scripts"
        " WHERE app_id = $1::uuid AND kind = 'module' AND name = $2",
        app_id,
        name,
    )
    return None if row is None else _record(row)


async def list_routes_for_app(conn: Any, app_id: str) -> list[RouteRecord]:
    """Every route of the app, ordered by path then method."""
    if not is_uuid(app_id):
        return []
    rows = await conn.fetch(
        "SELECT id::text AS id, app_id::text AS app_id, script_id::text AS script_id, method,"
        " path, dispatch_mode FROM routes WHERE app_id = $1::uuid ORDER BY path, method",
        app_id,
    )
    return [
        RouteRecord(
            id=r["id"],
            app_id=r["app_id"],
            script_id=r["script_id"],
            method=r["method"],
            path=r["path"],
            dispatch_mode=r["dispatch_mode"],
        )
        for r in rows
    ]


async def routes_version(conn: Any, app_id: str) -> int:
    """Log position of the last event that changed the app's routes (0: never had any).

    It only grows while the app lives, so a cache holding the routes read at
    version ``v`` is current exactly while this still returns ``v``.
    """
    if not is_uuid(app_id):
        return 0
    value = await conn.fetchval(
        "SELECT last_position FROM app_routes_state WHERE app_id = $1::uuid", app_id
    )
    return int(value or 0)


# ---------------------------------------------------------------- admin queries


async def _used_by(conn: Any, app_id: str, names: Sequence[str]) -> dict[str, list[ScriptRef]]:
    """Importers (by module name) of each of ``names`` in the app."""
    rows = await conn.fetch(
        "SELECT i.imported_name, s.id::text AS id, s.name FROM script_imports i"
        " JOIN scripts s ON s.id = i.importer_id"
        " WHERE i.app_id = $1::uuid AND i.imported_name = ANY($2::text[])"
        " ORDER BY s.name, s.id",
        app_id,
        list(names),
    )
    found: dict[str, list[ScriptRef]] = {}
    for r in rows:
        found.setdefault(r["imported_name"], []).append(ScriptRef(id=r["id"], name=r["name"]))
    return found


def _view(rec: ScriptRecord, used_by: list[ScriptRef]) -> ScriptView:
    # Only modules can be imported, so an endpoint's used_by is always empty.
    return ScriptView(
        id=rec.id,
        app_id=rec.app_id,
        name=rec.name,
        kind=rec.kind,
        source=rec.source,
        version=rec.version,
        imports=list(rec.imports),
        used_by=[r for r in used_by if r.id != rec.id] if rec.kind == "module" else [],
        created_at=rec.created_at,
        updated_at=rec.updated_at,
    )


def _not_found() -> NotFound:
    return NotFound("script not found", details={"resource": "script"})


async def get_script_view(conn: Any, script_id: str) -> ScriptView:
    """One script with its ``used_by``; 404 when there is none."""
    rec = await get_script(conn, script_id)
    if rec is None:
        raise _not_found()
    used = await _used_by(conn, rec.app_id, [rec.name]) if rec.kind == "module" else {}
    return _view(rec, used.get(rec.name, []))


async def list_scripts(conn: Any, app_id: str, kind: str | None = None) -> list[ScriptView]:
    """The app's scripts (optionally of one kind), by name."""
    if kind is not None:
        kind = check_kind(kind)
    rows = await conn.fetch(
        f"SELECT {_SCRIPT_COLS} FROM scripts WHERE app_id = $1::uuid"
        " AND ($2::text IS NULL OR kind = $2) ORDER BY name, id",
        app_id,
        kind,
    )
    records = [_record(r) for r in rows]
    modules = [r.name for r in records if r.kind == "module"]
    used = await _used_by(conn, app_id, modules) if modules else {}
    return [_view(r, used.get(r.name, [])) for r in records]


# ---------------------------------------------------------------- commands

#: Projection unique constraints → (error code, input field) of the 409.
_UNIQUE: dict[str, tuple[str, str]] = {
    "scripts_app_name_key": ("duplicate_script_name", "name"),
    "routes_app_method_shape_key": ("duplicate_route", "path"),
}


def _unique_violation(exc: BaseException | None) -> asyncpg.UniqueViolationError | None:
    # The store may wrap a projection's failure; look through the cause chain.
    while exc is not None:
        if isinstance(exc, asyncpg.UniqueViolationError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


async def append_checked(
    conn: Any,
    ctx: CommandContext,
    stream: str,
    expected_version: int,
    events: Sequence[Event],
    *,
    app_id: str,
) -> list[RecordedEvent]:
    """Append with the command's metadata; a projection's unique constraint becomes a 409.

    The constraint is the backstop for two commands that both passed their
    pre-checks: the loser's transaction fails and nothing of it is written.
    """
    try:
        return await append(conn, stream, expected_version, list(events), ctx.meta(), app_id=app_id)
    except Exception as exc:
        violation = _unique_violation(exc)
        if violation is None:
            raise
        code, field = _UNIQUE.get(violation.constraint_name or "", ("duplicate_value", "value"))
        raise Conflict(f"{field}: already in use", code=code, details={"field": field}) from None


def _check_source_size(source: str) -> None:
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise PayloadTooLarge(
            f"source: at most {MAX_SOURCE_BYTES} bytes",
            code="script_too_large",
            details={"field": "source", "max_bytes": MAX_SOURCE_BYTES},
        )


async def _app_exists(conn: Any, app_id: str) -> None:
    if not await conn.fetchval("SELECT 1 FROM apps WHERE id = $1::uuid", app_id):
        raise NotFound("app not found", details={"resource": "app"})


async def create_script(
    conn: Any, ctx: CommandContext, app_id: str, name: str, kind: str, source: str
) -> ScriptView:
    """Deploy a new script at version 1; 409 ``duplicate_script_name`` if the app has the name."""
    kind = check_kind(kind)
    _check_source_size(source)
    imports = await _validate(source, kind, name)
    script_id = str(uuid.uuid4())
    async with conn.transaction():
        # Under the app's lock nothing else changes the app's scripts, so the
        # checks below still hold when the event is appended.
        await lock_app(conn, app_id)
        await _app_exists(conn, app_id)
        if await conn.fetchval(
            "SELECT 1 FROM scripts WHERE app_id = $1::uuid AND name = $2", app_id, name
        ):
            raise Conflict(
                f"name: the app already has a script named {name!r}",
                code="duplicate_script_name",
                details={"field": "name"},
            )
        event = ScriptCreated(
            script_id=script_id,
            app_id=app_id,
            name=name,
            kind=kind,
            source=source,
            imports=imports,
        )
        await append_checked(conn, ctx, script_stream(script_id), 0, [event], app_id=app_id)
        return await get_script_view(conn, script_id)


async def update_script(
    conn: Any,
    ctx: CommandContext,
    script_id: str,
    source: str,
    expected_version: int | None = None,
) -> ScriptView:
    """Replace a script's source (version + 1); the same source again changes nothing.

    Raises:
        VersionConflict: ``expected_version`` is given and is not the current version.
    """
    _check_source_size(source)
    current = await get_script(conn, script_id)
    if current is None:
        raise _not_found()
    # Name and kind never change, so validating outside the lock stays valid.
    imports = await _validate(source, current.kind, current.name)
    async with conn.transaction():
        await lock_app(conn, current.app_id)
        locked = await get_script(conn, script_id)
        if locked is None:
            raise _not_found()
        if expected_version is not None and expected_version != locked.version:
            raise VersionConflict(
                f"script is at version {locked.version}, not {expected_version}",
                details={"field": "version", "actual_version": locked.version},
            )
        if locked.source != source:
            event = ScriptUpdated(
                script_id=script_id, app_id=locked.app_id, source=source, imports=imports
            )
            await append_checked(
                conn, ctx, script_stream(script_id), locked.version, [event], app_id=locked.app_id
            )
        return await get_script_view(conn, script_id)


async def delete_script(conn: Any, ctx: CommandContext, script_id: str) -> None:
    """Delete a script and its routes; 409 ``module_in_use`` while other scripts import it."""
    current = await get_script(conn, script_id)
    if current is None:
        raise _not_found()
    app_id = current.app_id
    async with conn.transaction():
        await lock_app(conn, app_id)
        locked = await get_script(conn, script_id)
        if locked is None:
            raise _not_found()
        if locked.kind == "module":
            users = (await _used_by(conn, app_id, [locked.name])).get(locked.name, [])
            users = [u for u in users if u.id != locked.id]
            if users:
                names = [u.name for u in users]
                raise Conflict(
                    f"module {locked.name!r} is imported by {', '.join(names)}; remove those"
                    " imports first",
                    code="module_in_use",
                    details={"used_by": [msgspec.to_builtins(u) for u in users]},
                )
        routes = await conn.fetch(
            "SELECT id::text AS id FROM routes WHERE script_id = $1::uuid ORDER BY id", script_id
        )
        for r in routes:
            gone = RouteDeleted(route_id=r["id"], app_id=app_id, script_id=script_id)
            # A route stream holds exactly its creation (version 1) and deletion.
            await append_checked(conn, ctx, route_stream(r["id"]), 1, [gone], app_id=app_id)
        event = ScriptDeleted(script_id=script_id, app_id=app_id, name=locked.name)
        await append_checked(
            conn, ctx, script_stream(script_id), locked.version, [event], app_id=app_id
        )
