"""The identity projection: ``users``, ``sessions`` and ``api_keys`` from identity events."""

from __future__ import annotations

from typing import Any

from picloud.events.identity import (
    ApiKeyCreated,
    ApiKeyRevoked,
    SessionEnded,
    SessionStarted,
    UserCreated,
)
from picloud.events.types import RecordedEvent
from picloud.projections.base import BaseProjection, quote_ident, register_projection

__all__ = ["PROJECTION", "IdentityProjection"]


class IdentityProjection(BaseProjection):
    """Users, live sessions and unrevoked API keys."""

    name = "identity"
    tables: tuple[str, ...] = ("users", "sessions", "api_keys")
    handles = frozenset(
        {"user.created", "session.started", "session.ended", "api_key.created", "api_key.revoked"}
    )

    async def apply(self, conn: Any, event: RecordedEvent, schema: str = "public") -> None:
        """Fold one identity event into the tables of ``schema``."""
        s = quote_ident(schema)
        data = event.event
        at = event.recorded_at
        match data:
            case UserCreated():
                await conn.execute(
                    f"INSERT INTO {s}.users (id, email, password_hash, instance_admin,"
                    " created_at, updated_at, version) VALUES ($1::uuid, $2, $3, $4, $5, $5, $6)",
                    data.user_id,
                    data.email,
                    data.password_hash,
                    data.instance_admin,
                    at,
                    event.version,
                )
            case SessionStarted():
                await conn.execute(
                    f"INSERT INTO {s}.sessions (id, user_id, token_hash, created_at, expires_at)"
                    " VALUES ($1::uuid, $2::uuid, $3, $4, $5)",
                    data.session_id,
                    data.user_id,
                    data.token_hash,
                    at,
                    data.expires_at,
                )
            case SessionEnded():
                await conn.execute(f"DELETE FROM {s}.sessions WHERE id = $1::uuid", data.session_id)
            case ApiKeyCreated():
                await conn.execute(
                    f"INSERT INTO {s}.api_keys (id, name, prefix, key_hash, scopes, app_id,"
                    " expires_at, created_by, created_at)"
                    " VALUES ($1::uuid, $2, $3, $4, $5, $6::uuid, $7, $8, $9)",
                    data.key_id,
                    data.name,
                    data.prefix,
                    data.key_hash,
                    list(data.scopes),
                    data.app_id,
                    data.expires_at,
                    event.meta.actor,
                    at,
                )
            case ApiKeyRevoked():
                await conn.execute(f"DELETE FROM {s}.api_keys WHERE id = $1::uuid", data.key_id)


PROJECTION = IdentityProjection()
register_projection(PROJECTION)
