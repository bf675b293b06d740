"""Fixtures for trigger tests: the API app, a real Redis broker and an in-process Dramatiq worker.

Apps, scripts and triggers are made through the admin API; KV writes go
through a real route, so the outbox row is written by the real append path
and sent after commit to a real Dramatiq worker (threads in this process;
the crash tests start worker processes of their own).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from dramatiq import Worker

from picloud.outbox.sender import configure_sender
from picloud.settings import Settings
from tests.integration.dataplane.conftest import (  # noqa: F401 - fixtures re-exported
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Deployer,
    admin_headers,
    app,
    client,
    deploy,
)
from workers.actors import declare_actors
from workers.broker import build_broker, set_broker
from workers.middleware import close_runtime, use_settings

#: Counts the handler runs and records the event it saw, under the app's KV.
RECORDER = r"""
let seen = kv::collection("seen");
seen.set("event", ctx.event);
let n = seen.get("runs") ?? 0;
seen.set("runs", n + 1);
"""


@pytest.fixture
def dp_settings(settings: Settings) -> Settings:
    """Short timeouts and backoffs so retries and dead letters happen within a test."""
    return settings.replace(
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=ADMIN_PASSWORD,
        script_timeout_ms=2000,
        base_domain="picloud.test",
        trigger_retry_max_attempts=3,
        trigger_retry_min_backoff_ms=20,
        trigger_retry_max_backoff_ms=200,
        max_trigger_depth=3,
    )


@pytest.fixture
def broker(dp_settings: Settings) -> Iterator[Any]:
    """A Redis broker in this test's namespace, used by the sender and the worker."""
    b = build_broker(dp_settings)
    set_broker(b)
    configure_sender(lambda: b)
    use_settings(dp_settings)
    declare_actors(b)
    try:
        yield b
    finally:
        configure_sender(None)
        set_broker(None)
        close_runtime()
        use_settings(None)
        b.close()


@pytest.fixture
def worker(broker: Any) -> Iterator[Worker]:
    """A Dramatiq worker (4 threads) on the broker, stopped after the test."""
    w = Worker(broker, worker_threads=4, worker_timeout=500)
    w.start()
    try:
        yield w
    finally:
        w.stop(timeout=10_000)


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


class Env:
    """An app with a KV-writing route and helpers to add triggers and read results."""

    def __init__(self, deploy: Deployer, pool: Any) -> None:  # noqa: F811
        self.deploy = deploy
        self.client = deploy.client
        self.pool = pool
        self.app: dict[str, Any] = {}

    async def setup(self) -> Env:
        self.app = await self.deploy.app()
        writer = r"""
let b = ctx.request.body;
let c = kv::collection(b.collection);
if b.op == "delete" { c.delete(b.key) } else { c.set(b.key, b.value) }
#{ok: true}
"""
        await self.deploy.endpoint(self.app["slug"], "POST", "/kv", writer)
        return self

    async def handler(self, source: str, name: str | None = None) -> dict[str, Any]:
        return await self.deploy.script(self.app["slug"], name or f"h_{time.time_ns()}", source)

    async def trigger(self, kind: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/v1/admin/apps/{self.app['slug']}/triggers/{kind}",
            json=body,
            headers=self.deploy.headers,
        )
        assert r.status_code == status, r.text
        return dict(r.json())

    async def kv(self, collection: str, key: str, value: Any = None, op: str = "set") -> None:
        r = await self.client.post(
            f"/a/{self.app['slug']}/kv",
            json={"collection": collection, "key": key, "value": value, "op": op},
        )
        assert r.status_code == 200, r.text

    async def get(self, collection: str, key: str) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(
                "SELECT value FROM kv_entries WHERE app_id = $1::uuid AND collection = $2"
                " AND key = $3",
                self.app["id"],
                collection,
                key,
            )

    async def api(self, method: str, path: str, **kw: Any) -> Any:
        return await self.client.request(
            method,
            f"/api/v1/admin/apps/{self.app['slug']}{path}",
            headers=self.deploy.headers,
            **kw,
        )


@pytest.fixture
async def env(deploy: Deployer, pool: Any) -> AsyncIterator[Env]:  # noqa: F811
    """A fresh app with the generic KV route."""
    yield await Env(deploy, pool).setup()
