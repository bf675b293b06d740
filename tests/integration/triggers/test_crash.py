"""Nothing is lost and nothing runs twice: killed workers, a Redis restart, two relays.

These run real ``picloud worker`` and ``picloud scheduler`` processes against a
private redis-server; the API runs in the test process and sends after commit
to the same Redis.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from picloud.outbox.sender import configure_sender
from picloud.settings import Settings
from tests.integration.dataplane.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.integration.triggers.conftest import Env, wait_for
from tests.integration.triggers.procs import Procs

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def procs(settings: Settings, tmp_path: Path) -> Iterator[Procs]:
    """This test's private redis-server and process set."""
    p = Procs(tmp_path, settings.replace(script_timeout_ms=3000))
    p.start_redis()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def dp_settings(settings: Settings, procs: Procs) -> Settings:
    """The API on the private Redis, with the settings the processes get."""
    return settings.replace(
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=ADMIN_PASSWORD,
        base_domain="picloud.test",
        redis_url=procs.redis_url,
        script_timeout_ms=3000,
    )


#: Increments once, then spins on its first run only; a re-run finds the flag and finishes.
SLOW_INCREMENT = r"""
let c = kv::collection("count");
let n = c.get("n") ?? 0;
c.set("n", n + 1);
let flags = kv::collection("flags");
if flags.get("slow") == () {
    flags.set("slow", true);
    let i = 0;
    while i < 50000000 { i += 1; }
}
kv::collection("seen").set("done", true);
"""

#: Fails each key's first attempt (so its retry waits delayed), then counts the key once.
FIRST_FAILS = r"""
let k = ctx.event.kv.key;
let t = kv::collection("tries");
let n = (t.get(k) ?? 0) + 1;
t.set(k, n);
if n == 1 { throw "first attempt fails"; }
let d = kv::collection("done");
d.set(k, (d.get(k) ?? 0) + 1);
"""

COUNT = r"""
let k = ctx.event.kv.key;
let d = kv::collection("done");
d.set(k, (d.get(k) ?? 0) + 1);
"""


async def _state(env: Env) -> str:
    async with env.pool.acquire() as conn:
        outbox = await conn.fetch(
            "SELECT dedupe_key, status, sends, available_at, now() AS now FROM outbox"
        )
        runs = await conn.fetch("SELECT * FROM job_runs")
    return f"\noutbox: {[dict(r) for r in outbox]}\nruns: {[dict(r) for r in runs]}"


async def _runs(env: Env) -> list[tuple[str, int]]:
    async with env.pool.acquire() as conn:
        rows = await conn.fetch("SELECT status, attempts FROM job_runs ORDER BY dedupe_key")
    return [(r["status"], r["attempts"]) for r in rows]


async def _done(env: Env) -> dict[str, Any]:
    async with env.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT key, value FROM kv_entries WHERE collection = 'done' AND app_id = $1::uuid",
            env.app["id"],
        )
    return {r["key"]: r["value"] for r in rows}


async def test_sigkill_mid_job_completes_elsewhere_and_increments_once(
    env: Env, broker: Any, procs: Procs
) -> None:
    # Given a scheduler and one worker
    procs.scheduler()
    first = procs.worker("worker-a")
    h = await env.handler(SLOW_INCREMENT)
    await env.trigger("kv", {"script_id": h["id"], "collection": "in"})
    # When the job has committed its increment and is spinning, its worker is SIGKILLed
    await env.kv("in", "k", 1)
    await wait_for(lambda: env.get("flags", "slow"), timeout=30)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    procs.worker("worker-b")
    # Then another worker completes the job and the increment happened exactly once
    try:
        await wait_for(lambda: env.get("seen", "done"), timeout=45)
    except AssertionError:
        raise AssertionError(procs.logs() + await _state(env)) from None
    assert await env.get("count", "n") == 1
    assert await _runs(env) == [("succeeded", 2)]


async def test_redis_restart_with_jobs_delayed_and_in_flight_loses_none(
    env: Env, broker: Any, procs: Procs
) -> None:
    procs.scheduler()
    procs.worker(threads=4)
    h = await env.handler(FIRST_FAILS)
    await env.trigger(
        "kv",
        {
            "script_id": h["id"],
            "collection": "in",
            "retry": {"max_attempts": 5, "backoff_base_ms": 1500, "backoff_max_ms": 3000},
        },
    )
    keys = [f"k{i}" for i in range(20)]
    for k in keys:
        await env.kv("in", k, 1)

    async def all_tried() -> bool:
        async with env.pool.acquire() as conn:
            n = await conn.fetchval("SELECT count(*) FROM job_runs WHERE attempts >= 1")
        return bool(n >= 10)

    # When Redis dies with retries delayed (and some first attempts queued or running)
    await wait_for(all_tried, timeout=30)
    procs.kill_redis()
    procs.start_redis()
    # Then every job still completes, each exactly once
    try:
        done = await wait_for(lambda: _all_done(env, keys), timeout=60, interval=0.2)
    except AssertionError:
        raise AssertionError(procs.logs()) from None
    assert done == dict.fromkeys(keys, 1)
    assert {s for s, _ in await _runs(env)} == {"succeeded"}


async def _all_done(env: Env, keys: list[str]) -> dict[str, Any] | None:
    done = await _done(env)
    return done if set(done) == set(keys) else None


async def test_two_schedulers_relay_every_job_once(env: Env, broker: Any, procs: Procs) -> None:
    # Given no after-commit send (every job goes through the relays) and two schedulers
    configure_sender(lambda: None)
    procs.scheduler("scheduler-1")
    procs.scheduler("scheduler-2")
    procs.worker(threads=4)
    h = await env.handler(COUNT)
    await env.trigger("kv", {"script_id": h["id"], "collection": "in"})
    keys = [f"k{i}" for i in range(30)]
    for k in keys:
        await env.kv("in", k, 1)
    try:
        done = await wait_for(lambda: _all_done(env, keys), timeout=60, interval=0.2)
    except AssertionError:
        raise AssertionError(procs.logs()) from None
    assert done == dict.fromkeys(keys, 1)
    assert set(await _runs(env)) == {("succeeded", 1)}
    async with env.pool.acquire() as conn:
        sends = await conn.fetch("SELECT sends FROM outbox")
    assert [r["sends"] for r in sends] == [1] * len(keys)
