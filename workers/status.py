"""Queue and worker status: what ``picloud workers status`` and ``/api/v1/admin/system/queues`` show."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from workers.broker import QUEUE
from workers.registry import worker_key_prefix

__all__ = ["queue_status", "ready_count"]


def ready_count(broker: Any, queue: str = QUEUE) -> int:
    """Messages ready in ``queue`` (not yet fetched by a worker); 0 when Redis is down."""
    try:
        return int(broker.client.llen(f"{broker.namespace}:{queue}"))
    except Exception:  # noqa: BLE001 - unknown backlog: let the relay send
        return 0


async def queue_status(settings: Any, conn: Any = None) -> dict[str, Any]:
    """Per queue: ready, delayed, in flight, dead-lettered; live workers; the outbox backlog."""
    ns = settings.redis_key("dramatiq")
    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        queues = []
        for name in (QUEUE,):
            in_flight = 0
            async for key in client.scan_iter(match=f"{ns}:__acks__.*.{name}", count=500):
                in_flight += await client.scard(key)
            queues.append(
                {
                    "name": name,
                    "ready": await client.llen(f"{ns}:{name}"),
                    "delayed": await client.llen(f"{ns}:{name}.DQ"),
                    "in_flight": in_flight,
                    "dead_lettered": await client.zcard(f"{ns}:{name}.XQ"),
                }
            )
        workers = []
        async for key in client.scan_iter(match=worker_key_prefix(settings) + "*", count=500):
            entry = await client.hgetall(key)
            if not entry:
                continue
            workers.append(
                {
                    "id": key.rsplit(":", 1)[-1],
                    "host": entry.get("host"),
                    "pid": int(entry.get("pid", 0)),
                    "threads": int(entry.get("threads", 0)),
                    "queues": entry.get("queues"),
                    "last_heartbeat": datetime.fromtimestamp(
                        float(entry.get("heartbeat", 0)), UTC
                    ).isoformat(),
                }
            )
    finally:
        await client.aclose()
    own = conn is None
    if own:
        conn = await asyncpg.connect(settings.database_url)
    try:
        backlog = await conn.fetchval("SELECT count(*) FROM outbox WHERE status <> 'done'")
    finally:
        if own:
            await conn.close()
    return {"queues": queues, "workers": workers, "outbox_backlog": int(backlog)}
