"""``/healthz`` (the process is alive) and ``/readyz`` (Postgres and Redis answer)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import get
from litestar.datastructures import State
from litestar.response import Response

from picloud.api.errors import error_body
from picloud.api.schemas import HealthOut

__all__ = ["READY_TIMEOUT_SECONDS", "healthz", "readyz"]

#: A dependency slower than this to answer counts as down.
READY_TIMEOUT_SECONDS = 2.0


@get("/healthz", tags=["health"], security=[])
async def healthz() -> HealthOut:
    """Liveness: answers as long as the process serves requests."""
    return HealthOut(status="ok")


async def _check_postgres(state: State) -> str:
    pool = state.get("pool")
    if pool is None:
        return "not configured"
    async with pool.acquire(timeout=READY_TIMEOUT_SECONDS) as conn:
        await conn.fetchval("SELECT 1", timeout=READY_TIMEOUT_SECONDS)
    return "ok"


async def _check_redis(state: State) -> str:
    redis = state.get("redis")
    if redis is None:
        return "not configured"
    await redis.ping()
    return "ok"


async def _probe(check: Any, state: State) -> str:
    try:
        return str(await asyncio.wait_for(check(state), READY_TIMEOUT_SECONDS))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; say which kind
        return f"error: {type(exc).__name__}"


@get("/readyz", tags=["health"], security=[])
async def readyz(state: State) -> Response[Any]:
    """Readiness: 200 when Postgres and Redis both answer, else 503 ``dependency_unavailable``."""
    checks = {
        "postgres": await _probe(_check_postgres, state),
        "redis": await _probe(_check_redis, state),
    }
    if all(v == "ok" for v in checks.values()):
        return Response(HealthOut(status="ok", checks=checks), status_code=200)
    down = ", ".join(k for k, v in checks.items() if v != "ok")
    return Response(
        error_body("dependency_unavailable", f"not ready: {down} unavailable", {"checks": checks}),
        status_code=503,
    )
