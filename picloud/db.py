"""asyncpg pools and connections with PiCloud's codecs installed.

Every connection PiCloud opens goes through :func:`init_connection`, which makes
``json``/``jsonb`` columns round-trip as plain Python values through msgspec
(faster than the stdlib ``json`` asyncpg uses by default, and it can encode
msgspec Structs directly). Other types keep asyncpg's defaults (``uuid``
columns come back as ``uuid.UUID``).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from picloud.errors import ConfigError
from picloud.settings import Settings

__all__ = [
    "connect",
    "create_pool",
    "init_connection",
    "release_reset",
    "resolve_dsn",
    "server_settings",
]

_encode = msgspec.json.encode
_decode = msgspec.json.decode

#: Version byte that prefixes jsonb in PostgreSQL's binary wire format.
_JSONB_V1 = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_V1 + _encode(value)


def _decode_jsonb(data: bytes) -> Any:
    return _decode(data[1:])


def _encode_json(value: Any) -> bytes:
    return _encode(value)


def _decode_json(data: bytes) -> Any:
    return _decode(data)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Install the msgspec json/jsonb codecs on a fresh connection."""
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_jsonb, decoder=_decode_jsonb, format="binary"
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=_encode_json, decoder=_decode_json, format="binary"
    )


def resolve_dsn(target: Settings | str) -> str:
    """The DSN of ``target``; an unset ``DATABASE_URL`` must be resolved (embedded) first."""
    if isinstance(target, str):
        return target
    if target.database_url is None:
        raise ConfigError(
            "DATABASE_URL is unset: start the embedded database (picloud.embedded) first",
            details={"variable": "DATABASE_URL"},
        )
    return target.database_url


def server_settings(settings: Settings | None) -> dict[str, str]:
    """Per-session PostgreSQL settings for PiCloud connections."""
    out = {"application_name": "picloud"}
    if settings is not None:
        if settings.db_idle_in_transaction_timeout_ms:
            # A leaked transaction would otherwise hold its app's append lock forever.
            out["idle_in_transaction_session_timeout"] = str(
                settings.db_idle_in_transaction_timeout_ms
            )
        if settings.db_statement_timeout_ms:
            out["statement_timeout"] = str(settings.db_statement_timeout_ms)
    return out


async def release_reset(conn: asyncpg.Connection) -> None:
    """Pool release hook of every PiCloud pool: no session reset beyond asyncpg's rollback.

    Before calling this hook asyncpg has already rolled back a transaction left
    open and dropped the connection's Python-side listeners. Its default reset
    would also send ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL``: one more round trip on every release, which is a script's every SDK
    call (the bridge borrows a connection per call) and about a third of a
    simple admin request. Pooled connections never hold the state it clears:
    the append lock is transaction-level (``pg_advisory_xact_lock``), the one
    session-level lock (migrations) is taken and released on a connection of
    its own, LISTEN happens on dedicated connections (outbox relay), cursors
    live inside transactions, and nothing issues a session-level SET.
    A caller that does need the full reset passes ``reset=None``.
    """


async def create_pool(
    target: Settings | str,
    *,
    min_size: int | None = None,
    max_size: int | None = None,
    **kwargs: Any,
) -> asyncpg.Pool:
    """An asyncpg pool on ``target`` (Settings or DSN) with the codecs installed.

    Connections go back to the pool without asyncpg's session reset (see
    :func:`release_reset`) unless ``reset`` is passed.
    """
    settings = target if isinstance(target, Settings) else None
    if min_size is None:
        min_size = settings.db_pool_min_size if settings else 1
    if max_size is None:
        max_size = settings.db_pool_max_size if settings else 10
    kwargs.setdefault("server_settings", server_settings(settings))
    kwargs.setdefault("reset", release_reset)
    pool = await asyncpg.create_pool(
        resolve_dsn(target),
        min_size=min_size,
        max_size=max(max_size, min_size, 1),
        init=init_connection,
        **kwargs,
    )
    assert pool is not None  # asyncpg types it Optional; it is never None when awaited
    return pool


async def connect(target: Settings | str, **kwargs: Any) -> asyncpg.Connection:
    """One connection on ``target`` (Settings or DSN) with the codecs installed."""
    settings = target if isinstance(target, Settings) else None
    kwargs.setdefault("server_settings", server_settings(settings))
    conn = await asyncpg.connect(resolve_dsn(target), **kwargs)
    await init_connection(conn)
    return conn
