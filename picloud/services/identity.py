"""Identity commands and queries: users, login sessions and API keys."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from picloud.auth.passwords import dummy_verify, hash_password, verify_password
from picloud.auth.principal import Principal
from picloud.auth.tokens import display_prefix, hash_secret, new_api_key, new_session_token
from picloud.errors import ConfigError, Conflict, InvalidInput, NotFound, Unauthorized
from picloud.events.identity import (
    ApiKeyCreated,
    ApiKeyRevoked,
    SessionEnded,
    SessionStarted,
    UserCreated,
    api_key_stream,
    session_stream,
    user_stream,
)
from picloud.services._store import NEW_STREAM, emit
from picloud.services.context import BOOTSTRAP_ACTOR, CommandContext
from picloud.services.models import (
    ApiKeyView,
    CreatedApiKey,
    LoginResult,
    MeView,
    UserView,
)
from picloud.services.validation import (
    check_email,
    check_future,
    check_name,
    check_password,
    check_scopes,
    is_uuid,
)

__all__ = [
    "bootstrap_admin",
    "count_users",
    "create_api_key",
    "create_user",
    "get_api_key",
    "get_user",
    "list_api_keys",
    "list_users",
    "login",
    "logout",
    "me",
    "revoke_api_key",
]

_USER_COLS = "id::text AS id, email, instance_admin, created_at"
_KEY_COLS = (
    "id::text AS id, name, prefix, scopes, app_id::text AS app_id, expires_at, created_by,"
    " created_at"
)


def _user(row: Any) -> UserView:
    return UserView(
        id=row["id"],
        email=row["email"],
        instance_admin=row["instance_admin"],
        created_at=row["created_at"],
    )


def _key(row: Any) -> ApiKeyView:
    return ApiKeyView(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=list(row["scopes"]),
        app_id=row["app_id"],
        expires_at=row["expires_at"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def create_user(
    conn: Any, ctx: CommandContext, email: str, password: str, *, instance_admin: bool = False
) -> UserView:
    """Create a user (argon2id-hashed password); 409 ``duplicate_email`` if taken."""
    email = check_email(email)
    check_password(password)
    # argon2 is deliberately slow: hash off the event loop.
    password_hash = await asyncio.to_thread(hash_password, password)
    user_id = str(uuid.uuid4())
    async with conn.transaction():
        if await conn.fetchval("SELECT 1 FROM users WHERE email = $1", email):
            raise Conflict(
                "email: a user with this email exists",
                code="duplicate_email",
                details={"field": "email"},
            )
        event = UserCreated(
            user_id=user_id,
            email=email,
            password_hash=password_hash,
            instance_admin=instance_admin,
        )
        await emit(conn, ctx, user_stream(user_id), NEW_STREAM, [event])
        row = await conn.fetchrow(f"SELECT {_USER_COLS} FROM users WHERE id = $1::uuid", user_id)
    return _user(row)


async def get_user(conn: Any, user_id: str) -> UserView:
    """One user by id; 404 if unknown."""
    row = None
    if is_uuid(user_id):
        row = await conn.fetchrow(f"SELECT {_USER_COLS} FROM users WHERE id = $1::uuid", user_id)
    if row is None:
        raise NotFound("user not found", details={"resource": "user"})
    return _user(row)


async def list_users(conn: Any) -> list[UserView]:
    """Every user, oldest first."""
    rows = await conn.fetch(f"SELECT {_USER_COLS} FROM users ORDER BY created_at, id")
    return [_user(r) for r in rows]


async def count_users(conn: Any) -> int:
    """How many users exist."""
    return int(await conn.fetchval("SELECT count(*) FROM users"))


async def bootstrap_admin(conn: Any, email: str | None, password: str | None) -> UserView | None:
    """Create the first instance admin from settings when no user exists yet."""
    if not email or not password or await count_users(conn) > 0:
        return None
    try:
        return await create_user(
            conn,
            CommandContext(actor=BOOTSTRAP_ACTOR, request_id="bootstrap"),
            email,
            password,
            instance_admin=True,
        )
    except Conflict:
        # Another process starting at the same moment made it first.
        return None
    except InvalidInput as exc:
        # Fail start-up naming the variable, as for any other bad setting.
        field = (exc.details or {}).get("field", "email")
        var = f"PICLOUD_BOOTSTRAP_ADMIN_{str(field).upper()}"
        raise ConfigError(f"{var}: {exc.message}", details={"variable": var}) from None


async def login(
    conn: Any, email: str, password: str, *, ttl_seconds: int, request_id: str | None = None
) -> LoginResult:
    """Check a password and open a session; the same 401 for unknown email or wrong password."""
    row = await conn.fetchrow(
        "SELECT id::text AS id, password_hash FROM users WHERE email = $1", email.strip().lower()
    )
    if row is None:
        await asyncio.to_thread(dummy_verify, password)
        raise Unauthorized("invalid email or password", code="invalid_credentials")
    ok = await asyncio.to_thread(verify_password, row["password_hash"], password)
    if not ok:
        raise Unauthorized("invalid email or password", code="invalid_credentials")
    token = new_session_token()
    session_id = str(uuid.uuid4())
    # Whole seconds keep the value identical through JSON and timestamptz.
    expires_at = (datetime.now(UTC) + timedelta(seconds=ttl_seconds)).replace(microsecond=0)
    event = SessionStarted(
        session_id=session_id,
        user_id=row["id"],
        token_hash=hash_secret(token),
        expires_at=expires_at,
    )
    ctx = CommandContext(actor=f"user:{row['id']}", request_id=request_id)
    async with conn.transaction():
        await emit(conn, ctx, session_stream(session_id), NEW_STREAM, [event])
    return LoginResult(token=token, expires_at=expires_at)


async def logout(conn: Any, ctx: CommandContext, principal: Principal) -> None:
    """End the caller's session (an API key has no session to end)."""
    if principal.session_id is None:
        return
    event = SessionEnded(session_id=principal.session_id, user_id=principal.id)
    async with conn.transaction():
        # Lock the row so two logouts of one session append only once.
        found = await conn.fetchval(
            "SELECT 1 FROM sessions WHERE id = $1::uuid FOR UPDATE", principal.session_id
        )
        if found:
            await emit(conn, ctx, session_stream(principal.session_id), 1, [event])


async def me(conn: Any, principal: Principal) -> MeView:
    """The caller as seen by the platform."""
    if principal.kind == "api_key":
        return MeView(
            kind="api_key",
            id=principal.id,
            scopes=sorted(principal.scopes),
            app_id=principal.app_id,
        )
    rows = await conn.fetch(
        "SELECT app_id::text AS app_id, role FROM app_members WHERE user_id = $1::uuid",
        principal.id,
    )
    expires = await conn.fetchval(
        "SELECT expires_at FROM sessions WHERE id = $1::uuid", principal.session_id
    )
    return MeView(
        kind="user",
        id=principal.id,
        email=principal.email,
        instance_admin=principal.instance_admin,
        session_expires_at=expires,
        memberships={r["app_id"]: r["role"] for r in rows},
    )


async def create_api_key(
    conn: Any,
    ctx: CommandContext,
    name: str,
    scopes: list[str],
    *,
    app_id: str | None = None,
    expires_at: datetime | None = None,
) -> CreatedApiKey:
    """Issue a key; the returned ``key`` is the only copy there will ever be."""
    name = check_name(name)
    scope_list = check_scopes(scopes, restricted=app_id is not None)
    expires_at = check_future(expires_at)
    key = new_api_key()
    key_id = str(uuid.uuid4())
    event = ApiKeyCreated(
        key_id=key_id,
        name=name,
        prefix=display_prefix(key),
        key_hash=hash_secret(key),
        scopes=scope_list,
        app_id=app_id,
        expires_at=expires_at,
    )
    async with conn.transaction():
        await emit(conn, ctx, api_key_stream(key_id), NEW_STREAM, [event])
        row = await conn.fetchrow(f"SELECT {_KEY_COLS} FROM api_keys WHERE id = $1::uuid", key_id)
    view = _key(row)
    return CreatedApiKey(key=key, **{f: getattr(view, f) for f in view.__struct_fields__})


async def list_api_keys(conn: Any) -> list[ApiKeyView]:
    """Every unrevoked key, oldest first (expired ones included, with their expiry)."""
    rows = await conn.fetch(f"SELECT {_KEY_COLS} FROM api_keys ORDER BY created_at, id")
    return [_key(r) for r in rows]


async def get_api_key(conn: Any, key_id: str) -> ApiKeyView:
    """One unrevoked key by id; 404 if unknown or revoked."""
    row = None
    if is_uuid(key_id):
        row = await conn.fetchrow(f"SELECT {_KEY_COLS} FROM api_keys WHERE id = $1::uuid", key_id)
    if row is None:
        raise NotFound("API key not found", details={"resource": "api_key"})
    return _key(row)


async def revoke_api_key(conn: Any, ctx: CommandContext, key_id: str) -> None:
    """Revoke a key; every later request with it gets 401."""
    async with conn.transaction():
        found = is_uuid(key_id) and await conn.fetchval(
            "SELECT 1 FROM api_keys WHERE id = $1::uuid FOR UPDATE", key_id
        )
        if not found:
            raise NotFound("API key not found", details={"resource": "api_key"})
        await emit(conn, ctx, api_key_stream(key_id), 1, [ApiKeyRevoked(key_id=key_id)])
