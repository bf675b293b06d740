"""Compare uvicorn and granian behind ``picloud serve`` under the same bounded loopback load.

Usage: ``DATABASE_URL=… REDIS_URL=… python bench/serve.py [--duration 5] [--connections 32]``

For each server it starts ``picloud serve`` on 127.0.0.1 (a throwaway database,
dropped at the end), then drives two endpoints with keep-alive HTTP/1.1 from
this process for a fixed time each:

* ``GET /healthz`` — no I/O, the framework and server alone;
* ``GET /api/v1/admin/apps/bench`` with an API key — a key lookup and an app
  lookup in Postgres per request, the shape of every admin call.

The load generator shares the machine's cores with the server (and, on a
shared machine, with whatever else runs), so throughput swings with outside
load. The steadier figure is the server's own CPU time per request (its
process tree's user+system time over the measured window, from /proc): on a
dedicated machine throughput is roughly cores / CPU-per-request. Nothing but
loopback is contacted, and every phase stops after its duration.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class Result:
    """One (server, endpoint) measurement."""

    server: str
    endpoint: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float = 0.0

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU microseconds per request."""
        return self.cpu_seconds / self.requests * 1e6 if self.requests else float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _connection(
    port: int, request: bytes, stop_at: float, record_from: float, out: Result
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (start := time.perf_counter()) < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = _CONTENT_LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            if start < record_from:
                continue  # warm-up
            out.latencies.append(time.perf_counter() - start)
            out.requests += 1
            if not head.startswith(b"HTTP/1.1 200"):
                out.errors += 1
    finally:
        writer.close()


async def drive(
    server: str,
    endpoint: str,
    port: int,
    path: str,
    headers: dict[str, str],
    connections: int,
    duration: float,
    warmup: float,
) -> Result:
    """Keep ``connections`` keep-alive connections busy for ``warmup + duration`` seconds."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    result = Result(server, endpoint, 0, 0, duration, [])
    now = time.perf_counter()
    record_from, stop_at = now + warmup, now + warmup + duration
    await asyncio.gather(
        *(_connection(port, request, stop_at, record_from, result) for _ in range(connections))
    )
    return result


def _tree_cpu(root: int) -> float:
    """User+system CPU seconds of process ``root`` and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid … utime(14) stime(15).
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, cpu in times.items():
        p = pid
        while p not in (0, 1) and p != root:
            p = parents.get(p, 0)
        if p == root:
            total += cpu
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not become ready")


async def _seed(dsn: str) -> str:
    """Migrate the bench database and make an app and an instance-admin key; returns the key."""
    from picloud.db import connect
    from picloud.migrations import migrate
    from picloud.services import apps, identity
    from picloud.services.context import CommandContext

    await migrate(dsn)
    conn = await connect(dsn)
    try:
        ctx = CommandContext(actor="system", request_id="bench")
        await apps.create_app(conn, ctx, "bench", "Bench")
        key = await identity.create_api_key(conn, ctx, "bench", ["app:read"])
        return key.key
    finally:
        await conn.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds discarded first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--servers", nargs="+", default=["uvicorn", "granian"])
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="repeat, alternating which server goes first (the median round is reported)",
    )
    args = parser.parse_args()
    base_dsn, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not base_dsn or not redis_url:
        print("set DATABASE_URL and REDIS_URL (a throwaway database is created)", file=sys.stderr)
        return 2
    name = f"picloud_bench_{uuid.uuid4().hex[:8]}"
    dsn = urlunsplit(urlsplit(base_dsn)._replace(path="/" + name))
    admin = await asyncpg.connect(base_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    results: list[Result] = []
    try:
        key = await _seed(dsn)
        cases = [
            ("GET /healthz", "/healthz", {}),
            (
                "GET /api/v1/admin/apps/bench (key + app lookup)",
                "/api/v1/admin/apps/bench",
                {"Authorization": f"Bearer {key}"},
            ),
        ]
        order = list(args.servers)
        plan = []
        for i in range(args.rounds):
            plan += order if i % 2 == 0 else order[::-1]
        for server in plan:
            port = _free_port()
            env = {
                **os.environ,
                "DATABASE_URL": dsn,
                "REDIS_URL": redis_url,
                "PICLOUD_PORT": str(port),
                "PICLOUD_SERVER": server,
                "PICLOUD_WEB_WORKERS": str(args.workers),
                "PICLOUD_LOG_LEVEL": "warning",
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "picloud",
                "serve",
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await _wait_ready(port)
                for label, path, headers in cases:
                    # Warm up unrecorded, then measure requests and server CPU together.
                    conns = args.connections
                    await drive(server, label, port, path, headers, conns, args.warmup, 0)
                    cpu_before = _tree_cpu(proc.pid)
                    result = await drive(
                        server, label, port, path, headers, conns, args.duration, 0
                    )
                    result.cpu_seconds = _tree_cpu(proc.pid) - cpu_before
                    results.append(result)
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(
        f"\n{args.connections} keep-alive connections, {args.duration:.0f}s per case after "
        f"{args.warmup:.0f}s warm-up, {args.workers} server worker(s), loopback only\n"
    )
    print(f"each row: the median of {args.rounds} round(s)\n")
    print(
        "| server | endpoint | req/s | p50 ms | p99 ms | server CPU µs/req | errors"
        " | all rounds: req/s | all rounds: µs/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    grouped: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        grouped.setdefault((r.server, r.endpoint), []).append(r)
    rates: dict[str, dict[str, float]] = {}
    costs: dict[str, dict[str, float]] = {}
    for (server, endpoint), runs in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        runs.sort(key=lambda r: r.rps)
        r = runs[len(runs) // 2]
        cpu = sorted(x.cpu_us_per_request for x in runs)[len(runs) // 2]
        every = " / ".join(f"{x.rps:,.0f}" for x in runs)
        every_cpu = " / ".join(f"{x.cpu_us_per_request:,.0f}" for x in runs)
        print(
            f"| {server} | {endpoint} | {r.rps:,.0f} | {r.pct(0.50):.2f} | "
            f"{r.pct(0.99):.2f} | {cpu:,.0f} | {r.errors} | {every} | {every_cpu} |"
        )
        rates.setdefault(endpoint, {})[server] = r.rps
        costs.setdefault(endpoint, {})[server] = cpu
    for endpoint, by_server in rates.items():
        cost = costs[endpoint]
        if len(by_server) == 2:
            fast = max(by_server, key=lambda s: by_server[s])
            cheap = min(cost, key=lambda s: cost[s])
            r_ratio = by_server[fast] / min(by_server.values())
            c_ratio = max(cost.values()) / cost[cheap]
            print(
                f"\n{endpoint}: {fast} serves ×{r_ratio:.2f} the req/s;"
                f" {cheap} needs ×{1 / c_ratio:.2f} the server CPU per request",
                end="",
            )
    print()
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.exit(asyncio.run(main()))
