"""Two API processes, exact resume under 1,000 concurrent publishes, and a stalled subscriber."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from picloud.settings import Settings
from tests.integration.realtime.conftest import LiveApp, sse, sse_server

#: Publishes ``body.n`` messages ``"<body.tag>-<i>"`` on ``body.topic`` (one request, many publishes).
MANY = r"""
let b = ctx.request.body;
let pad = if b.pad == () { "" } else { b.pad };
for i in 0..b.n { pubsub::publish_durable(b.topic, #{tag: b.tag, i: i, pad: pad}); }
#{ok: true}
"""


@pytest.fixture
def rt_settings(dp_settings: Settings) -> Settings:
    """A resume window wide enough for the race, the default buffer size, a slow heartbeat."""
    return dp_settings.replace(
        realtime_heartbeat_sec=5,
        realtime_resume_max=100_000,
        realtime_broadcast_capacity=64,
        script_timeout_ms=20_000,
    )


@pytest.fixture
def server2(rt_settings: Settings) -> Iterator[str]:
    """A second API process on the same database and Redis namespace."""
    with sse_server(rt_settings) as url:
        yield url


@pytest.fixture
async def http2(server2: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server2, timeout=30) as c:
        yield c


async def _log_positions(app: LiveApp, topic: str) -> list[int]:
    async with app.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT position FROM events WHERE app_id = $1::uuid AND type = 'pubsub.published'"
            " AND data->>'topic' = $2 ORDER BY position",
            app.app["id"],
            topic,
        )
    return [r["position"] for r in rows]


async def test_a_publish_on_one_process_reaches_subscribers_on_another(
    http: httpx.AsyncClient, http2: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("x")
    async with sse(http2, live_app.path("x")) as (resp, stream):
        assert resp.status_code == 200
        await stream.next()
        for i in range(3):
            p = await live_app.publish("x", i)  # served by process 1
            ev = await stream.message()
            assert ev.id == str(p) and ev.json()["message"] == i


async def test_resume_under_concurrent_publishes_and_a_server_hop(
    http: httpx.AsyncClient, http2: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("race")
    await live_app.deploy.endpoint(live_app.slug, "POST", "/many", MANY)
    writers, per_writer = 10, 100

    async def writer(k: int) -> None:
        client = http if k % 2 else http2
        r = await client.post(
            f"/a/{live_app.slug}/many",
            json={"topic": "race", "n": per_writer, "tag": f"w{k}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text

    first: list[int] = []
    async with sse(http, live_app.path("race")) as (resp, stream):
        assert resp.status_code == 200
        await stream.next()
        jobs = [asyncio.create_task(writer(k)) for k in range(writers)]
        # Disconnect mid-burst, after some messages.
        while len(first) < 150:
            first.append(int((await stream.message(timeout=20)).id or 0))
    resumed: list[int] = []
    async with sse(http2, live_app.path("race"), headers={"Last-Event-ID": str(first[-1])}) as (
        resp,
        stream,
    ):
        assert resp.status_code == 200
        total = writers * per_writer
        while len(first) + len(resumed) < total:
            resumed.append(int((await stream.message(timeout=20)).id or 0))
        await asyncio.gather(*jobs)
        # Nothing more arrives: no duplicate after the last one.
        with pytest.raises(TimeoutError):
            await stream.message(timeout=1.5)
    log = await _log_positions(live_app, "race")
    assert len(log) == total
    assert first == log[: len(first)]  # live: in order, no gap, no duplicate
    assert resumed == log[len(first) :]  # resumed on the other process: exactly the rest


def _stalled_subscriber(base: str, path: str) -> socket.socket:
    """A raw connection that reads the response head and then nothing (a tiny receive window)."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


def _drain(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """What the server sent, and whether it ended the stream (EOF or last chunk) by ``deadline``."""
    data = b""
    sock.settimeout(1)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            if data.endswith(b"0\r\n\r\n"):
                return data, True
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


async def test_a_stalled_subscriber_is_cut_off_without_delaying_a_healthy_one(
    server: str, http: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("load")
    stalled = await asyncio.to_thread(_stalled_subscriber, server, live_app.path("load"))
    pad = "x" * 60_000  # ~60 KB per message fills the stalled socket quickly
    latencies: list[float] = []
    try:
        async with sse(http, live_app.path("load")) as (resp, stream):
            assert resp.status_code == 200
            await stream.next()
            last = 0
            for i in range(160):
                t0 = time.monotonic()
                last = await live_app.publish("load", {"i": i, "pad": pad})
                ev = await stream.message(timeout=10)
                latencies.append(time.monotonic() - t0)
                assert ev.id == str(last)
        data, ended = await asyncio.to_thread(_drain, stalled, time.monotonic() + 15)
    finally:
        stalled.close()
    # The stalled stream was cut off (its retry hint came first; a goodbye hint
    # only arrives if the socket still takes it), well before the last message.
    assert ended
    assert data.startswith(b"19\r\nretry: 2000\n")
    log = await _log_positions(live_app, "load")
    ids = [int(line[4:]) for line in data.split(b"\n") if line.startswith(b"id: ")]
    # The last frame may be cut mid-way: resume from the one before (surely whole).
    resume_from = ids[-2] if len(ids) >= 2 else log[0] - 1
    assert resume_from < last
    # ... and resuming from its last id brings exactly the rest.
    expected = [p for p in log if p > resume_from]
    async with sse(http, live_app.path("load"), last_event_id=str(resume_from)) as (_, stream):
        rest = [int((await stream.message()).id or 0) for _ in expected]
    assert rest == expected
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"healthy subscriber publish->receive p50={latencies[len(latencies) // 2] * 1000:.1f} ms"
        f" p99={p99 * 1000:.1f} ms max={latencies[-1] * 1000:.1f} ms"
    )
    assert p99 < 1.0
