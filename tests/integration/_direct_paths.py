"""Helpers for tests of direct writes (picloud/services/direct.py) against the general path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from picloud.services import direct
from picloud.services.apps import create_app
from picloud.services.context import CommandContext

__all__ = ["new_app", "queued_writes", "through_both_paths", "waiting_on_lock"]


async def new_app(pool: asyncpg.Pool, slug: str) -> str:
    """A new app (through the apps service); its id."""
    async with pool.acquire() as conn:
        app = await create_app(conn, CommandContext(actor="system", request_id="t"), slug, slug)
    return str(app.id)


async def through_both_paths(
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    writes: Callable[[asyncpg.Pool, str], Awaitable[Any]],
) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """``writes`` in a new app as direct writes, then in another through the general path.

    Returns ``((direct app id, answers), (general app id, answers))``. An extra
    append hook is what makes the direct path step aside (it would skip it).
    """
    direct_app = await new_app(pool, "direct")
    general_app = await new_app(pool, "general")
    direct_answers = await writes(pool, direct_app)
    with monkeypatch.context() as m:
        m.setattr(direct, "append_hooks", lambda: (object(),))
        general_answers = await writes(pool, general_app)
    return (direct_app, direct_answers), (general_app, general_answers)


async def queued_writes(app_id: str, count: int) -> None:
    """Until ``count`` KV writes of the app wait behind the batch in flight."""
    deadline = time.monotonic() + 10
    while direct._batches.waiting("kv", app_id) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} writes queued")
        await asyncio.sleep(0.01)


async def waiting_on_lock(pool: asyncpg.Pool, count: int) -> None:
    """Until ``count`` backends wait for an advisory lock (the app lock)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        waiting = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the leading write never waited for the app lock")
