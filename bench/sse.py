"""SSE fan-out on one API process: publish → receive latency and server memory at 1k and 10k subscribers.

Usage: ``DATABASE_URL=… REDIS_URL=… python bench/sse.py [--subscribers 1000 10000] [--messages 20]``

For each subscriber count it starts ``picloud serve`` (uvicorn, one worker, a
throwaway database dropped at the end), opens that many ``GET
/a/bench/realtime/topics/bench`` streams from this process (raw keep-alive
HTTP/1.1 over loopback), then publishes ``--messages`` messages from this
process the way a script does (the durable publish, then the Redis
announcement), each carrying its wall-clock send time (after one uncounted warm-up message). Every subscriber records
arrival − send for every message; the table shows the percentiles over all
(subscriber, message) pairs, the messages that never arrived, the server's RSS
with the streams open and its CPU time per delivered message.

The subscribers run in this process and share the 2 cores with the server, so
latency includes this process's own time to read 10,000 sockets; on a
dedicated client machine it would be lower. Nothing but loopback is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass, field

from _load import bench_app, picloud_serve, service_urls, throwaway_database, tree_cpu

_SENT = re.compile(rb'"sent": ([0-9.]+)')


@dataclass(kw_only=True)
class Result:
    """One subscriber count's measurement."""

    subscribers: int
    messages: int
    latencies: list[float] = field(default_factory=list)
    missing: int = 0
    rss_idle_mb: float = 0.0
    rss_mb: float = 0.0
    connect_seconds: float = 0.0
    cpu_us_per_delivery: float = 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its children (Linux /proc), in MB."""
    total = 0
    pids = [root]
    try:
        with open(f"/proc/{root}/task/{root}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def _seed(dsn: str) -> str:
    """Migrate, make app ``bench`` and its external public topic ``bench``; the app id."""
    from picloud.services import topics

    async with bench_app(dsn) as (conn, ctx, app):
        await topics.create_topic(
            conn,
            ctx,
            app.id,
            {"name": "bench", "external_subscribable": True, "auth_mode": "public"},
        )
        return app.id


class Subscriber:
    """One raw SSE stream; records every message's arrival − send time."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(
            b"GET /a/bench/realtime/topics/bench HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Accept: text/event-stream\r\n\r\n"
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"subscribe failed: {head[:80]!r}")

    async def run(self) -> None:
        assert self.reader is not None
        while True:
            chunk = await self.reader.read(1 << 16)
            if not chunk:
                return
            now = time.time()
            for m in _SENT.finditer(chunk):
                self.latencies.append(now - float(m.group(1)))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _publish(dsn: str, redis_url: str, app_id: str, n: int, gap: float) -> None:
    """``n`` durable publishes ``gap`` seconds apart, each announced as a script's would be."""
    from picloud.db import connect
    from picloud.events.types import EventMeta
    from picloud.realtime.broadcaster import Announcer
    from picloud.services import pubsub

    announcer = Announcer(redis_url, os.environ.get("PICLOUD_REDIS_NAMESPACE", "picloud"))
    conn = await connect(dsn)
    try:
        meta = EventMeta(actor="system")
        for i in range(-1, n):
            # Message -1 warms the path up (first query plans, first writes) and is not counted.
            stamp = "warmup" if i < 0 else "sent"
            body = f'{{"i": {i}, "{stamp}": {time.time():.6f}}}'.encode()
            rec = await pubsub.publish(conn, meta, app_id, "bench", body)
            await asyncio.to_thread(announcer.announce, app_id, "bench", rec.position)
            await asyncio.sleep(gap)
    finally:
        await conn.close()


async def measure(dsn: str, redis_url: str, app_id: str, count: int, messages: int) -> Result:
    """Start a server, open ``count`` streams, publish ``messages``, collect the figures."""
    out = Result(subscribers=count, messages=messages)
    async with picloud_serve(dsn, redis_url, "uvicorn", 1, ready_timeout=60.0, poll=0.2) as served:
        await asyncio.sleep(1.0)
        out.rss_idle_mb = tree_rss_mb(served.proc.pid)
        subs = [Subscriber() for _ in range(count)]
        start = time.monotonic()
        for i in range(0, count, 250):
            await asyncio.gather(*(s.open(served.port) for s in subs[i : i + 250]))
        out.connect_seconds = time.monotonic() - start
        readers = [asyncio.create_task(s.run()) for s in subs]
        await asyncio.sleep(2.0)
        out.rss_mb = tree_rss_mb(served.proc.pid)
        cpu_before = tree_cpu(served.proc.pid)
        # Spacing: every message is out before the next at both sizes.
        gap = 0.25 if count <= 1000 else 1.0
        await _publish(dsn, redis_url, app_id, messages, gap)
        await asyncio.sleep(3.0)
        out.cpu_us_per_delivery = (
            (tree_cpu(served.proc.pid) - cpu_before) / (count * messages) * 1e6
        )
        for s in subs:
            out.latencies += s.latencies
            out.missing += max(0, messages - len(s.latencies))
            s.close()
        for t in readers:
            t.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    urls = service_urls()
    if urls is None:
        return 2
    base_dsn, redis_url = urls
    results = []
    async with throwaway_database(base_dsn) as dsn:
        app_id = await _seed(dsn)
        for count in args.subscribers:
            results.append(await measure(dsn, redis_url, app_id, count, args.messages))
    print(f"\none API process (uvicorn, 1 worker), {args.messages} messages, loopback only\n")
    print(
        "| subscribers | p50 ms | p99 ms | max ms | missing | server RSS idle → with streams"
        " | server CPU µs/delivery | connect s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.subscribers:,} | {r.pct(0.5):.1f} | {r.pct(0.99):.1f} | {r.pct(1.0):.1f} |"
            f" {r.missing} | {r.rss_idle_mb:.0f} → {r.rss_mb:.0f} MB |"
            f" {r.cpu_us_per_delivery:.1f} | {r.connect_seconds:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
