"""Data-plane throughput: a bare Litestar JSON route vs. PiCloud routes, one ``picloud serve``.

Usage: ``DATABASE_URL=… REDIS_URL=… python bench/routes.py [--duration 5] [--connections 50]``

It creates a throwaway database, deploys an app ``bench`` with two routes,
starts one ``picloud serve`` on 127.0.0.1 and, in the same run, drives with
keep-alive HTTP/1.1 from this process:

* (a) ``GET /healthz`` — a bare Litestar JSON route of the same process;
* (b) ``GET /a/bench/hello`` — an endpoint script returning a small map;
* (c) ``GET /a/bench/mod`` — a script importing a module and calling three
  stdlib functions (``json::stringify``, ``base64::encode``, ``hex::encode``).

Every case is warmed up unrecorded, then measured for ``--duration`` seconds;
rounds alternate the case order and the median round is reported. The load
generator shares the machine's cores with the server, so figures compare
cases within one run. Only loopback is contacted and every phase is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import asyncpg

_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)

HELLO = '#{message: "hello", app: ctx.app.slug, n: 42}'
FMT_MODULE = "fn pack(v) { base64::encode(json::stringify(v)) }\nfn tag(s) { hex::encode(s) }"
MOD = 'import "fmt" as f;\n#{packed: f::pack(#{a: 1}), tag: f::tag("pi"), path: ctx.request.path}'


@dataclass
class Result:
    """One measured case."""

    label: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    #: CPU seconds the server process spent during the measurement.
    cpu_seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _connection(port: int, request: bytes, stop_at: float, out: Result | None) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (start := time.perf_counter()) < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = _CONTENT_LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            if out is None:
                continue
            out.latencies.append(time.perf_counter() - start)
            out.requests += 1
            if not head.startswith(b"HTTP/1.1 200"):
                out.errors += 1
    finally:
        writer.close()


async def drive(
    label: str, port: int, path: str, connections: int, seconds: float, record: bool
) -> Result:
    """Keep ``connections`` keep-alive connections busy on ``path`` for ``seconds``."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    result = Result(label, seconds=seconds)
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(
        *(
            _connection(port, request, stop_at, result if record else None)
            for _ in range(connections)
        )
    )
    return result


def _process_cpu(root: int) -> float:
    """User+system CPU seconds of process ``root`` and its descendants (Linux /proc)."""
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
        # After the parenthesised command name: state ppid … utime(14) stime(15).
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


async def _wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not become ready")


async def _seed(dsn: str) -> None:
    """Migrate, then deploy app ``bench``: a module and two routed endpoint scripts."""
    from picloud.db import connect
    from picloud.migrations import migrate
    from picloud.services import apps, routes, scripts
    from picloud.services.context import CommandContext

    await migrate(dsn)
    conn = await connect(dsn)
    try:
        ctx = CommandContext(actor="system", request_id="bench")
        app = await apps.create_app(conn, ctx, "bench", "Bench")
        await scripts.create_script(conn, ctx, app.id, "fmt", "module", FMT_MODULE)
        hello = await scripts.create_script(conn, ctx, app.id, "hello", "endpoint", HELLO)
        await routes.create_route(conn, ctx, hello.id, "GET", "/hello")
        mod = await scripts.create_script(conn, ctx, app.id, "mod", "endpoint", MOD)
        await routes.create_route(conn, ctx, mod.id, "GET", "/mod")
    finally:
        await conn.close()


CASES = [
    ("(a) bare Litestar JSON route: GET /healthz", "/healthz"),
    ("(b) PiCloud route, script returns a small map", "/a/bench/hello"),
    ("(c) PiCloud route, module import + 3 stdlib calls", "/a/bench/mod"),
]


async def _serve_and_measure(
    args: argparse.Namespace, dsn: str, redis_url: str
) -> list[list[Result]]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": redis_url,
        "PICLOUD_PORT": str(port),
        "PICLOUD_SERVER": args.server,
        "PICLOUD_WEB_WORKERS": "1",
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
    rounds: list[list[Result]] = []
    try:
        await _wait_ready(port)
        for i in range(args.rounds):
            order = CASES if i % 2 == 0 else CASES[::-1]
            measured: dict[str, Result] = {}
            for label, path in order:
                await drive(label, port, path, args.connections, args.warmup, record=False)
                cpu_before = _process_cpu(proc.pid)
                result = await drive(
                    label, port, path, args.connections, args.duration, record=True
                )
                result.cpu_seconds = _process_cpu(proc.pid) - cpu_before
                measured[label] = result
            rounds.append([measured[label] for label, _ in CASES])
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), timeout=15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return rounds


def _report(args: argparse.Namespace, rounds: list[list[Result]]) -> None:
    # The median round by (b)/(a) throughput ratio, so one table is internally consistent.
    ratios = [r[1].rps / r[0].rps if r[0].rps else 0.0 for r in rounds]
    median = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
    chosen = rounds[median]
    print(
        f"\n{args.connections} keep-alive connections, {args.duration:.0f}s per case after "
        f"{args.warmup:.0f}s warm-up, one `picloud serve` ({args.server}, 1 worker), "
        f"loopback only; median of {len(rounds)} round(s)\n"
    )
    print("| case | req/s | p50 ms | p99 ms | server CPU µs/req | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in chosen:
        cpu = r.cpu_seconds / r.requests * 1e6 if r.requests else float("nan")
        print(
            f"| {r.label} | {r.rps:,.0f} | {r.pct(0.50):.1f} | {r.pct(0.99):.1f} | {cpu:,.0f} "
            f"| {r.errors} |"
        )
    a, b = chosen[0], chosen[1]
    print(
        f"\n(b)/(a) throughput: {b.rps / a.rps:.0%} (target >= 50%); "
        f"(b) p99 {b.pct(0.99):.1f} ms (target <= 20 ms)"
    )
    print(
        "all rounds (b)/(a): "
        + ", ".join(f"{x:.0%}" for x in ratios)
        + f"; median {statistics.median(ratios):.0%}"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds discarded first")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    args = parser.parse_args()
    base_dsn, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not base_dsn or not redis_url:
        print("set DATABASE_URL and REDIS_URL (a throwaway database is created)", file=sys.stderr)
        return 2
    name = f"picloud_bench_{uuid.uuid4().hex[:8]}"
    dsn = urlunsplit(urlsplit(base_dsn)._replace(path="/" + name))
    admin = await asyncpg.connect(base_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await _seed(dsn)
        rounds = await _serve_and_measure(args, dsn, redis_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    _report(args, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
