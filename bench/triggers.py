"""Trigger jobs: commit-to-handler latency and worker throughput next to a no-op Dramatiq actor.

Usage: ``DATABASE_URL=… REDIS_URL=… python bench/triggers.py [--writes 500] [--jobs 2000]``

It creates a throwaway database and Redis namespace, deploys an app with two
KV triggers and runs, in one go:

1. **latency** — ``--writes`` KV writes spaced 20 ms apart; the handler's first
   line records ``time::now_ms()``; latency = that minus the wall-clock time
   the writing transaction committed. One ``picloud worker`` (1 × 8 threads)
   runs the jobs; this process sends after commit, as the API does.
2. **throughput** — ``--jobs`` trigger jobs (no-op handler) are committed with
   no worker running, then one worker (1 × 8) drains them: jobs/s from its
   start to the last ``job_runs`` success. Next to it, the same number of
   messages of a no-op Dramatiq actor are drained by a plain Dramatiq worker
   (1 × 8, same broker class) — the transport's own ceiling.

Every phase is bounded; child processes are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LATENCY_HANDLER = r"""
let t = time::now_ms();
kv::collection("lat").set(ctx.event.kv.key, t);
"""
NOOP_HANDLER = "()"


def _with_db(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path="/" + name))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def noop_worker_main(redis_url: str, namespace: str, threads: int) -> None:
    """A plain Dramatiq worker with one no-op actor that counts in Redis."""
    import dramatiq
    import redis as redis_sync

    from picloud.settings import Settings
    from workers.broker import build_broker

    settings = Settings(redis_url=redis_url, redis_namespace=namespace)
    broker = build_broker(settings)
    counter = redis_sync.Redis.from_url(redis_url)
    key = f"{namespace}:noop-done"

    def noop() -> None:
        counter.incr(key)

    dramatiq.Actor(
        noop,
        broker=broker,
        actor_name="bench_noop",
        queue_name="bench",
        priority=0,
        options={"max_retries": 0},
    )
    broker.declare_queue("bench")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=1000)
    stop = asyncio.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    while not stop.is_set():
        time.sleep(0.1)
    worker.stop()


async def main(args: argparse.Namespace) -> None:
    dsn = os.environ["DATABASE_URL"]
    redis_url = os.environ["REDIS_URL"]
    name = f"bench_jobs_{uuid.uuid4().hex[:8]}"
    namespace = f"bench-jobs-{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    db = _with_db(dsn, name)
    children: list[subprocess.Popen[bytes]] = []
    env = dict(
        os.environ,
        DATABASE_URL=db,
        REDIS_URL=redis_url,
        PICLOUD_REDIS_NAMESPACE=namespace,
        PICLOUD_LOG_LEVEL="warning",
    )
    try:
        from picloud.db import create_pool
        from picloud.migrations import migrate
        from picloud.services import apps, scripts, triggers
        from picloud.services import kv as kv_service
        from picloud.services.context import CommandContext
        from picloud.settings import Settings
        from workers.broker import get_broker

        await migrate(db)
        settings = Settings(database_url=db, redis_url=redis_url, redis_namespace=namespace)
        get_broker(settings)  # this process sends after commit, as the API does
        pool = await create_pool(settings, min_size=2, max_size=8)
        ctx = CommandContext(actor="system", request_id="bench")
        async with pool.acquire() as conn:
            app = await apps.create_app(conn, ctx, "bench", "Bench")
            lat = await scripts.create_script(conn, ctx, app.id, "lat", "endpoint", LATENCY_HANDLER)
            noop = await scripts.create_script(conn, ctx, app.id, "noop", "endpoint", NOOP_HANDLER)
            await triggers.create_trigger(
                conn, ctx, app.id, "kv", {"script_id": lat.id, "collection": "in"}
            )
            await triggers.create_trigger(
                conn, ctx, app.id, "kv", {"script_id": noop.id, "collection": "tp"}
            )

        def worker() -> subprocess.Popen[bytes]:
            child = subprocess.Popen(
                [sys.executable, "-m", "picloud", "worker", "--processes", "1", "--threads", "8"],
                env=env,
                cwd=str(ROOT),
            )
            children.append(child)
            return child

        async def count(sql: str) -> int:
            async with pool.acquire() as conn:
                return int(await conn.fetchval(sql))

        # ---- 1. latency
        w = worker()
        await asyncio.sleep(3)  # boot: imports, pool, first compile happen before timing
        commits: dict[str, float] = {}
        async with pool.acquire() as conn:
            from picloud.events.types import EventMeta

            meta = EventMeta(actor="system")
            for i in range(5):  # warm-up, unrecorded
                await kv_service.set_value(conn, meta, app.id, "in", f"w{i}", b"1")
                await asyncio.sleep(0.05)
            for i in range(args.writes):
                await kv_service.set_value(conn, meta, app.id, "in", f"k{i}", b"1")
                commits[f"k{i}"] = time.time() * 1000
                await asyncio.sleep(0.02)
        deadline = time.monotonic() + 60
        while (
            await count("SELECT count(*) FROM kv_entries WHERE collection = 'lat'")
            < len(commits) + 5
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.2)
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT key, value FROM kv_entries WHERE collection = 'lat'")
        lats = [float(r["value"]) - commits[r["key"]] for r in rows if r["key"] in commits]
        w.send_signal(signal.SIGTERM)
        w.wait(30)

        # ---- 2. throughput: trigger jobs
        async with pool.acquire() as conn:
            for i in range(args.jobs):
                await kv_service.set_value(conn, meta, app.id, "tp", f"t{i}", b"1")
        await asyncio.sleep(1)
        base = await count("SELECT count(*) FROM job_runs WHERE status = 'succeeded'")
        started = time.monotonic()
        w = worker()
        deadline = started + 300
        while (
            await count("SELECT count(*) FROM job_runs WHERE status = 'succeeded'")
            < base + args.jobs
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.1)
        async with pool.acquire() as conn:
            span = await conn.fetchval(
                "SELECT extract(epoch FROM max(finished_at) - min(finished_at)) FROM job_runs"
                " WHERE status = 'succeeded' AND finished_at IS NOT NULL"
                " AND dedupe_key IN (SELECT dedupe_key FROM outbox o JOIN triggers t"
                " ON t.id = o.trigger_id WHERE t.script_id = $1::uuid)",
                noop.id,
            )
        # From the first job finished to the last: worker start-up excluded.
        job_rate = (args.jobs - 1) / float(span)
        w.send_signal(signal.SIGTERM)
        w.wait(30)

        # ---- 2b. throughput: no-op Dramatiq actor, same broker class, same shape
        import dramatiq
        import redis as redis_sync

        from workers.broker import build_broker

        noop_broker = build_broker(settings)
        for i in range(args.jobs):
            noop_broker.enqueue(
                dramatiq.Message(
                    queue_name="bench", actor_name="bench_noop", args=(), kwargs={}, options={}
                )
            )
        counter = redis_sync.Redis.from_url(redis_url)
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, __file__, "--noop-worker", namespace], env=env, cwd=str(ROOT)
        )
        children.append(child)
        deadline = started + 300
        while not int(counter.get(f"{namespace}:noop-done") or 0) and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        first = (time.monotonic(), int(counter.get(f"{namespace}:noop-done") or 0))
        while int(counter.get(f"{namespace}:noop-done") or 0) < args.jobs and (
            time.monotonic() < deadline
        ):
            await asyncio.sleep(0.005)
        # From the first message done to the last, as for the trigger jobs.
        noop_rate = (args.jobs - first[1]) / (time.monotonic() - first[0])
        noop_broker.close()
        await pool.close()

        print(f"latency commit -> handler first line, {len(lats)} writes 20 ms apart:")
        print(
            f"  p50 {statistics.median(lats):.1f} ms   p99 {_percentile(lats, 0.99):.1f} ms"
            f"   max {max(lats):.1f} ms"
        )
        print(
            "throughput, 1 worker process x 8 threads, queue pre-filled "
            f"({args.jobs} messages, first to last completion):"
        )
        print(f"  trigger jobs      {job_rate:8.0f} jobs/s")
        print(f"  no-op actor       {noop_rate:8.0f} msg/s")
        print(f"  ratio             {job_rate / noop_rate:8.0%}")
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        import redis as redis_sync

        client = redis_sync.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{namespace}*", count=500))
        if keys:
            client.unlink(*keys)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--noop-worker":
        noop_worker_main(os.environ["REDIS_URL"], sys.argv[2], 8)
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2000)
    asyncio.run(main(parser.parse_args()))
