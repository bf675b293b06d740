"""App commands and queries: lifecycle, hostnames and members."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from picloud.auth.principal import Principal
from picloud.errors import Conflict, NotFound
from picloud.events.apps import (
    AppCreated,
    AppDeleted,
    AppMemberRemoved,
    AppMemberSet,
    AppUpdated,
    app_stream,
)
from picloud.services._store import NEW_STREAM, emit
from picloud.services.context import CommandContext
from picloud.services.models import AppView, MemberView
from picloud.services.validation import (
    check_hostnames,
    check_name,
    check_role,
    check_slug,
    is_uuid,
)

__all__ = [
    "create_app",
    "delete_app",
    "find_app_by_host",
    "get_app",
    "list_apps",
    "list_members",
    "remove_member",
    "resolve_app",
    "set_member",
    "update_app",
]

_APP_COLS = "id::text AS id, slug, name, hostnames, created_at, updated_at"


def _app(row: Any) -> AppView:
    return AppView(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        hostnames=list(row["hostnames"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _not_found() -> NotFound:
    return NotFound("app not found", details={"resource": "app"})


async def resolve_app(conn: Any, ref: str, *, for_update: bool = False) -> AppView:
    """The app whose id or slug is ``ref``; 404 if there is none."""
    lock = " FOR UPDATE" if for_update else ""
    if is_uuid(ref):
        row = await conn.fetchrow(f"SELECT {_APP_COLS} FROM apps WHERE id = $1::uuid{lock}", ref)
    else:
        row = await conn.fetchrow(f"SELECT {_APP_COLS} FROM apps WHERE slug = $1{lock}", ref)
    if row is None:
        raise _not_found()
    return _app(row)


def _bare_host(host: str) -> str:
    """``host`` without port or trailing dot, lower-cased (IPv6 literals stay bracketed)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.split(":")[0].rstrip(".")


async def find_app_by_host(conn: Any, host: str, base_domain: str) -> AppView | None:
    """The app a ``Host`` header names: one of its hostnames, or ``{slug}.{base_domain}``."""
    bare = _bare_host(host)
    row = await conn.fetchrow(
        f"SELECT {', '.join('a.' + c for c in _APP_COLS.split(', '))} FROM app_hostnames h"
        " JOIN apps a ON a.id = h.app_id WHERE h.hostname = $1",
        bare,
    )
    if row is not None:
        return _app(row)
    suffix = "." + base_domain.strip().lower().rstrip(".")
    slug = bare[: -len(suffix)] if bare.endswith(suffix) else ""
    if not slug or "." in slug:
        return None
    row = await conn.fetchrow(f"SELECT {_APP_COLS} FROM apps WHERE slug = $1", slug)
    return None if row is None else _app(row)


async def get_app(conn: Any, app_id: str) -> AppView:
    """One app by id."""
    return await resolve_app(conn, app_id)


async def list_apps(conn: Any, principal: Principal) -> list[AppView]:
    """The apps the caller can see: all, its key's one app, or those it is a member of."""
    if principal.kind == "api_key" and principal.app_id is not None:
        rows = await conn.fetch(
            f"SELECT {_APP_COLS} FROM apps WHERE id = $1::uuid", principal.app_id
        )
    elif principal.kind == "api_key" or principal.instance_admin:
        rows = await conn.fetch(f"SELECT {_APP_COLS} FROM apps ORDER BY created_at, id")
    else:
        rows = await conn.fetch(
            f"SELECT {', '.join('a.' + c for c in _APP_COLS.split(', '))} FROM apps a"
            " JOIN app_members m ON m.app_id = a.id WHERE m.user_id = $1::uuid"
            " ORDER BY a.created_at, a.id",
            principal.id,
        )
    return [_app(r) for r in rows]


async def _check_free(
    conn: Any, *, slug: str | None, hostnames: list[str], app_id: str | None
) -> None:
    """409 if the slug or a hostname belongs to another app (friendly pre-check)."""
    if slug is not None:
        taken = await conn.fetchval(
            "SELECT 1 FROM apps WHERE slug = $1 AND id IS DISTINCT FROM $2::uuid", slug, app_id
        )
        if taken:
            raise Conflict(
                f"slug: {slug!r} is already used by another app",
                code="duplicate_slug",
                details={"field": "slug"},
            )
    if hostnames:
        host = await conn.fetchval(
            "SELECT hostname FROM app_hostnames WHERE hostname = ANY($1::text[])"
            " AND app_id IS DISTINCT FROM $2::uuid LIMIT 1",
            hostnames,
            app_id,
        )
        if host:
            raise Conflict(
                f"hostnames: {host!r} is already used by another app",
                code="duplicate_hostname",
                details={"field": "hostnames", "hostname": host},
            )


async def create_app(
    conn: Any,
    ctx: CommandContext,
    slug: str,
    name: str,
    hostnames: list[str] | None = None,
    *,
    base_domain: str | None = None,
) -> AppView:
    """Create an app; 409 ``duplicate_slug`` / ``duplicate_hostname`` on clashes.

    ``base_domain`` (the instance's ``PICLOUD_BASE_DOMAIN``) is refused as a
    custom hostname, with its subdomains.
    """
    slug = check_slug(slug)
    name = check_name(name)
    hosts = check_hostnames(hostnames or [], base_domain=base_domain)
    app_id = str(uuid.uuid4())
    async with conn.transaction():
        await _check_free(conn, slug=slug, hostnames=hosts, app_id=None)
        event = AppCreated(app_id=app_id, slug=slug, name=name, hostnames=hosts)
        await emit(conn, ctx, app_stream(app_id), NEW_STREAM, [event], app_id=app_id)
        return await get_app(conn, app_id)


async def _locked_version(conn: Any, app_id: str) -> int:
    # The row lock serializes commands on one app, so the expected version read
    # here is still current when the event is appended: no spurious conflicts.
    version = await conn.fetchval("SELECT version FROM apps WHERE id = $1::uuid FOR UPDATE", app_id)
    if version is None:
        raise _not_found()
    return int(version)


async def update_app(
    conn: Any,
    ctx: CommandContext,
    app_id: str,
    *,
    slug: str | msgspec.UnsetType = msgspec.UNSET,
    name: str | msgspec.UnsetType = msgspec.UNSET,
    hostnames: list[str] | msgspec.UnsetType = msgspec.UNSET,
    base_domain: str | None = None,
) -> AppView:
    """Change any of slug, name, hostnames; fields left unset keep their value."""
    new_slug = check_slug(slug) if slug is not msgspec.UNSET else None
    new_name = check_name(name) if name is not msgspec.UNSET else None
    new_hosts = (
        check_hostnames(hostnames, base_domain=base_domain)
        if hostnames is not msgspec.UNSET
        else None
    )
    async with conn.transaction():
        version = await _locked_version(conn, app_id)
        current = await get_app(conn, app_id)
        await _check_free(conn, slug=new_slug, hostnames=new_hosts or [], app_id=app_id)
        event = AppUpdated(
            app_id=app_id,
            slug=new_slug if new_slug is not None else current.slug,
            name=new_name if new_name is not None else current.name,
            hostnames=new_hosts if new_hosts is not None else current.hostnames,
        )
        if (event.slug, event.name, event.hostnames) == (
            current.slug,
            current.name,
            current.hostnames,
        ):
            return current  # nothing changed: no event
        await emit(conn, ctx, app_stream(app_id), version, [event], app_id=app_id)
        return await get_app(conn, app_id)


async def delete_app(conn: Any, ctx: CommandContext, app_id: str) -> None:
    """Delete an app with its hostnames and memberships (its events stay)."""
    async with conn.transaction():
        version = await _locked_version(conn, app_id)
        current = await get_app(conn, app_id)
        event = AppDeleted(app_id=app_id, slug=current.slug)
        await emit(conn, ctx, app_stream(app_id), version, [event], app_id=app_id)


_MEMBER_SQL = (
    "SELECT m.app_id::text AS app_id, m.user_id::text AS user_id, u.email, m.role,"
    " m.created_at, m.updated_at FROM app_members m JOIN users u ON u.id = m.user_id"
)


def _member(row: Any) -> MemberView:
    return MemberView(
        app_id=row["app_id"],
        user_id=row["user_id"],
        email=row["email"],
        role=row["role"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_members(conn: Any, app_id: str) -> list[MemberView]:
    """The app's members, oldest first."""
    rows = await conn.fetch(
        f"{_MEMBER_SQL} WHERE m.app_id = $1::uuid ORDER BY m.created_at, m.user_id", app_id
    )
    return [_member(r) for r in rows]


async def set_member(
    conn: Any, ctx: CommandContext, app_id: str, user_id: str, role: str
) -> MemberView:
    """Give a user a role in the app (idempotent: the same role appends nothing)."""
    role = check_role(role)
    async with conn.transaction():
        version = await _locked_version(conn, app_id)
        exists = is_uuid(user_id) and await conn.fetchval(
            "SELECT 1 FROM users WHERE id = $1::uuid", user_id
        )
        if not exists:
            raise NotFound("user not found", details={"resource": "user"})
        held = await conn.fetchval(
            "SELECT role FROM app_members WHERE app_id = $1::uuid AND user_id = $2::uuid",
            app_id,
            user_id,
        )
        if held != role:
            event = AppMemberSet(app_id=app_id, user_id=user_id, role=role)
            await emit(conn, ctx, app_stream(app_id), version, [event], app_id=app_id)
        row = await conn.fetchrow(
            f"{_MEMBER_SQL} WHERE m.app_id = $1::uuid AND m.user_id = $2::uuid", app_id, user_id
        )
    return _member(row)


async def remove_member(conn: Any, ctx: CommandContext, app_id: str, user_id: str) -> None:
    """End a user's membership; 404 if they are not a member."""
    async with conn.transaction():
        version = await _locked_version(conn, app_id)
        held = is_uuid(user_id) and await conn.fetchval(
            "SELECT role FROM app_members WHERE app_id = $1::uuid AND user_id = $2::uuid",
            app_id,
            user_id,
        )
        if not held:
            raise NotFound("member not found", details={"resource": "member"})
        event = AppMemberRemoved(app_id=app_id, user_id=user_id)
        await emit(conn, ctx, app_stream(app_id), version, [event], app_id=app_id)
