"""Shared by bench/routes.py and bench/serve.py: ``picloud serve`` on loopback and load on it.

A keep-alive HTTP/1.1 load generator in this process, the server started and
stopped as a child process, its process tree's CPU time from /proc, latency
percentiles. Imported as ``_load`` (``python bench/<name>.py`` puts this
directory first on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from _db import scratch

if TYPE_CHECKING:
    from picloud.services.context import CommandContext
    from picloud.services.models import AppView

_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)

T = TypeVar("T", bound="Tally")


@dataclass(kw_only=True)
class Tally:
    """What one measured case counted: requests, errors, latencies and the server's CPU time."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    #: CPU seconds the server process tree spent during the measurement.
    cpu_seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU microseconds per request."""
        return self.cpu_seconds / self.requests * 1e6 if self.requests else float("nan")

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def get_request(path: str, headers: dict[str, str] | None = None) -> bytes:
    """A keep-alive ``GET path`` request with extra ``headers``."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _connection(port: int, request: bytes, stop_at: float, out: Tally | None) -> None:
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


async def keep_busy(
    port: int, request: bytes, connections: int, seconds: float, out: Tally | None
) -> None:
    """Keep ``connections`` keep-alive connections busy with ``request`` for ``seconds``.

    Every response is counted into ``out`` (nothing is, when it is ``None``).
    """
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(*(_connection(port, request, stop_at, out) for _ in range(connections)))


def tree_cpu(root: int) -> float:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(port: int, timeout: float, poll: float) -> None:
    """Poll ``GET /readyz`` every ``poll`` seconds until it answers 200; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(get_request("/readyz"))
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        except OSError:
            pass
        await asyncio.sleep(poll)
    raise RuntimeError(f"server on port {port} did not become ready")


@dataclass
class Served:
    """A running ``picloud serve``."""

    proc: asyncio.subprocess.Process
    port: int

    async def measure(
        self, request: bytes, connections: int, warmup: float, duration: float, out: T
    ) -> T:
        """Warm up unrecorded for ``warmup`` s, then count into ``out`` for ``duration`` s.

        ``out.cpu_seconds`` becomes the server's CPU time over the measured window.
        """
        await keep_busy(self.port, request, connections, warmup, None)
        cpu_before = tree_cpu(self.proc.pid)
        await keep_busy(self.port, request, connections, duration, out)
        out.cpu_seconds = tree_cpu(self.proc.pid) - cpu_before
        return out


@contextlib.asynccontextmanager
async def picloud_serve(
    dsn: str, redis_url: str, server: str, workers: int, *, ready_timeout: float, poll: float
) -> AsyncIterator[Served]:
    """``picloud serve`` (``server``, ``workers`` processes) on a free loopback port, once ready.

    Stopped on the way out: SIGINT, then SIGKILL if it has not exited within 15 s.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": redis_url,
        "PICLOUD_PORT": str(port),
        "PICLOUD_SERVER": server,
        "PICLOUD_WEB_WORKERS": str(workers),
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
        await wait_ready(port, ready_timeout, poll)
        yield Served(proc, port)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), timeout=15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def bench_app(dsn: str) -> AsyncIterator[tuple[Any, CommandContext, AppView]]:
    """Migrate ``dsn``, then make app ``bench``: a connection, a system context and the app.

    The connection is closed on the way out.
    """
    from picloud.db import connect
    from picloud.migrations import migrate
    from picloud.services import apps
    from picloud.services.context import CommandContext

    await migrate(dsn)
    conn = await connect(dsn)
    try:
        ctx = CommandContext(actor="system", request_id="bench")
        yield conn, ctx, await apps.create_app(conn, ctx, "bench", "Bench")
    finally:
        await conn.close()


def service_urls() -> tuple[str, str] | None:
    """``DATABASE_URL`` and ``REDIS_URL``, or ``None`` after saying on stderr that both are needed."""
    base_dsn, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not base_dsn or not redis_url:
        print("set DATABASE_URL and REDIS_URL (a throwaway database is created)", file=sys.stderr)
        return None
    return base_dsn, redis_url


def throwaway_database(base_dsn: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh ``picloud_bench_<random>`` database next to ``base_dsn``, dropped afterwards."""
    return scratch(base_dsn, f"picloud_bench_{uuid.uuid4().hex[:8]}")
