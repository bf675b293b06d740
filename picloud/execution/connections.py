"""What both script runners do with their runs' Postgres connections.

The reactor (:mod:`picloud.execution.reactor`) and the threads' sessions
(:mod:`picloud.execution.sessions`) each keep connections of their own on a
loop of their own; these are the pieces they share: that loop, which errors
leave a connection untrusted, and closing one without hanging on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

__all__ = ["BROKEN", "close_connection", "new_loop"]

#: Errors after which a connection is not trusted again (a new one is opened).
BROKEN = (
    ConnectionError,
    OSError,
    asyncio.CancelledError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (cheaper per query than asyncio's), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop does not exist there
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def close_connection(conn: Any) -> None:
    """Close ``conn`` gracefully (a pending cancel is sent first), within 2 s, else drop it."""
    try:
        await asyncio.wait_for(conn.close(), 2.0)
    except Exception:  # noqa: BLE001 - closing a broken connection: just drop it
        conn.terminate()
