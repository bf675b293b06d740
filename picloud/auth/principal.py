"""Who is calling: resolving a bearer token to a principal, and checking capabilities.

Every request looks its credential up in the database (one indexed query),
with no cache, so a revoked key or ended session is refused on the very next
request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from picloud.auth.capabilities import Capability, Decision, decide
from picloud.auth.tokens import API_KEY_PREFIX, SESSION_PREFIX, hash_secret
from picloud.errors import Forbidden, NotFound, Unauthorized

__all__ = ["Principal", "authenticate", "authorize", "member_role", "parse_bearer"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a user (via a session) or an API key."""

    kind: Literal["user", "api_key"]
    #: The user id, or the API key id.
    id: str
    #: The key's scopes (empty for users: users are granted by role).
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: The one app an API key is restricted to, if any.
    app_id: str | None = None
    #: Users only: an instance admin has every capability.
    instance_admin: bool = False
    #: Users only: the session the request came with (for logout).
    session_id: str | None = None
    email: str | None = None

    @property
    def actor(self) -> str:
        """How this principal is named in event metadata (``user:<id>``, ``key:<id>``)."""
        return f"user:{self.id}" if self.kind == "user" else f"key:{self.id}"


def parse_bearer(header: str | None) -> str:
    """The token in an ``Authorization: Bearer`` header, or Unauthorized."""
    if not header:
        raise Unauthorized("missing Authorization: Bearer token", code="unauthorized")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


async def authenticate(conn: Any, header: str | None, *, now: datetime | None = None) -> Principal:
    """Resolve an Authorization header to a principal, or raise Unauthorized."""
    token = parse_bearer(header)
    now = now or datetime.now(UTC)
    digest = hash_secret(token)
    if token.startswith(API_KEY_PREFIX):
        row = await conn.fetchrow(
            "SELECT id::text AS id, scopes, app_id::text AS app_id, expires_at"
            " FROM api_keys WHERE key_hash = $1",
            digest,
        )
        if row is None:
            raise Unauthorized("invalid or revoked API key", code="invalid_token")
        if _expired(row["expires_at"], now):
            raise Unauthorized("the API key has expired", code="token_expired")
        return Principal(
            kind="api_key", id=row["id"], scopes=frozenset(row["scopes"]), app_id=row["app_id"]
        )
    if token.startswith(SESSION_PREFIX):
        row = await conn.fetchrow(
            "SELECT s.id::text AS session_id, s.expires_at, u.id::text AS user_id, u.email,"
            " u.instance_admin FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = $1",
            digest,
        )
        if row is None:
            raise Unauthorized("invalid or ended session", code="invalid_token")
        if _expired(row["expires_at"], now):
            raise Unauthorized("the session has expired", code="token_expired")
        return Principal(
            kind="user",
            id=row["user_id"],
            instance_admin=row["instance_admin"],
            session_id=row["session_id"],
            email=row["email"],
        )
    raise Unauthorized("unrecognised token", code="invalid_token")


async def member_role(conn: Any, app_id: str, user_id: str) -> str | None:
    """The user's role in the app, or None when not a member."""
    role: str | None = await conn.fetchval(
        "SELECT role FROM app_members WHERE app_id = $1::uuid AND user_id = $2::uuid",
        app_id,
        user_id,
    )
    return role


async def authorize(conn: Any, principal: Principal, cap: Capability) -> None:
    """Raise unless ``principal`` has ``cap`` (404 hides apps the caller cannot see)."""
    role = None
    app_id = cap.app_id
    if principal.kind == "user" and not principal.instance_admin and app_id is not None:
        role = await member_role(conn, app_id, principal.id)
    decision = decide(principal, cap, role)
    if decision is Decision.ALLOW:
        return
    if decision is Decision.NOT_FOUND:
        raise NotFound("app not found", details={"resource": "app"})
    raise Forbidden(
        f"missing capability {type(cap).__name__}",
        details={"capability": type(cap).__name__},
    )
