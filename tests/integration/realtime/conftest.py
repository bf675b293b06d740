"""Fixtures for realtime tests: trigger fixtures, a publisher route, live servers and an SSE reader."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest

from picloud.settings import Settings
from tests.integration._deploy import admin_login
from tests.integration.dataplane.conftest import serve_process
from tests.integration.triggers.conftest import (  # noqa: F401 - fixtures re-exported
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RECORDER,
    Deployer,
    Env,
    admin_headers,
    app,
    broker,
    client,
    deploy,
    dp_settings,
    wait_for,
    worker,
)

#: Publishes ``body.message`` on ``body.topic``; ``body.blob`` adds a Blob inside the message.
PUBLISHER = r"""
let b = ctx.request.body;
let m = b.message;
if b.blob == true { m = #{inner: [blob(3, 7)], text: b.message}; }
let p = pubsub::publish_durable(b.topic, m);
#{position: p}
"""


class PubEnv(Env):
    """An app with the KV route of :class:`Env` and a ``POST /pub`` publisher route."""

    async def setup(self) -> PubEnv:
        await super().setup()
        await self.deploy.endpoint(self.app["slug"], "POST", "/pub", PUBLISHER)
        return self

    async def publish(
        self, topic: Any, message: Any, *, blob: bool = False, status: int = 200
    ) -> Any:
        """Run the publisher route; its JSON body."""
        r = await self.client.post(
            f"/a/{self.app['slug']}/pub", json={"topic": topic, "message": message, "blob": blob}
        )
        assert r.status_code == status, r.text
        return r.json()


@pytest.fixture
async def pub(deploy: Deployer, pool: Any) -> AsyncIterator[PubEnv]:  # noqa: F811
    """A fresh app with the publisher route."""
    env = PubEnv(deploy, pool)
    yield await env.setup()


# ---------------------------------------------------------------- live servers and SSE


@contextlib.contextmanager
def sse_server(settings: Settings) -> Iterator[str]:
    """The API under uvicorn in a child process, open streams cut 1 s into a shutdown."""
    with serve_process(settings, graceful_shutdown=1) as url:
        yield url


@pytest.fixture
def rt_settings(dp_settings: Settings) -> Settings:  # noqa: F811
    """Short heartbeat, a small resume window and small buffers, so tests see each case."""
    return dp_settings.replace(
        realtime_heartbeat_sec=1, realtime_resume_max=50, realtime_broadcast_capacity=16
    )


@pytest.fixture
def server(rt_settings: Settings) -> Iterator[str]:
    """One live API process."""
    with sse_server(rt_settings) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """A streaming HTTP client for the live server."""
    async with httpx.AsyncClient(base_url=server, timeout=10) as c:
        yield c


class SseEvent(msgspec.Struct, kw_only=True):
    """One parsed SSE block."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: str | None = None
    comments: list[str] = msgspec.field(default_factory=list)

    def json(self) -> Any:
        assert self.data is not None
        return msgspec.json.decode(self.data)


class SseStream:
    """An open SSE response; every read has a timeout, so a test never hangs."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def _line(self, timeout: float) -> str:
        return await asyncio.wait_for(anext(self.lines), timeout)

    async def next(self, timeout: float = 5.0) -> SseEvent:
        """The next block (comments-only blocks included)."""
        ev = SseEvent()
        seen = False
        while True:
            line = await self._line(timeout)
            if line == "":
                if seen:
                    return ev
                continue
            seen = True
            if line.startswith(":"):
                ev.comments.append(line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            setattr(ev, field, value)

    async def message(self, timeout: float = 5.0) -> SseEvent:
        """The next block with data (skipping comments and retry hints)."""
        while True:
            ev = await self.next(timeout)
            if ev.data is not None:
                return ev

    async def ended(self, timeout: float = 5.0) -> bool:
        """Whether the server closes the stream within ``timeout`` (data until then is skipped)."""
        try:
            while True:
                await self._line(timeout)
        except StopAsyncIteration:
            return True
        except (httpx.ReadError, httpx.RemoteProtocolError):
            return True
        except TimeoutError:
            return False


@contextlib.asynccontextmanager
async def sse(
    http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[tuple[httpx.Response, SseStream]]:
    """Open ``path`` as a stream; yields the response (status checked by the test) and a reader."""
    req = http.build_request("GET", path, headers=headers or {}, params=params or None)
    resp = await asyncio.wait_for(http.send(req, stream=True), 10)
    try:
        yield resp, SseStream(resp)
    finally:
        await resp.aclose()


class LiveApp:
    """An app on a live server: publisher route, topics API, tokens from the app's key."""

    def __init__(self, deploy: Deployer, pool: Any) -> None:  # noqa: F811
        self.deploy = deploy
        self.http = deploy.client
        self.pool = pool
        self.app: dict[str, Any] = {}

    async def setup(self) -> LiveApp:
        self.app = await self.deploy.app()
        await self.deploy.endpoint(self.app["slug"], "POST", "/pub", PUBLISHER)
        return self

    @property
    def slug(self) -> str:
        return str(self.app["slug"])

    def path(self, topic: str) -> str:
        return f"/a/{self.slug}/realtime/topics/{topic}"

    async def topic(self, name: str, external: bool = True, auth_mode: str = "public") -> None:
        r = await self.http.post(
            f"/api/v1/admin/apps/{self.slug}/topics",
            json={"name": name, "external_subscribable": external, "auth_mode": auth_mode},
            headers=self.deploy.headers,
        )
        assert r.status_code == 201, r.text

    async def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.request(
            method, f"/api/v1/admin/apps/{self.slug}{path}", headers=self.deploy.headers, **kw
        )

    async def publish(self, topic: str, message: Any, http: Any = None) -> int:
        r = await (http or self.http).post(
            f"/a/{self.slug}/pub", json={"topic": topic, "message": message}
        )
        assert r.status_code == 200, r.text
        return int(r.json()["position"])

    async def token(self, topics: list[str], expires_in: int = 60) -> str:
        from picloud.realtime import tokens

        async with self.pool.acquire() as conn:
            key = await tokens.signing_key(conn, self.app["id"], create=True)
        assert key is not None
        return tokens.sign(key, self.app["id"], topics, int(time.time()) + expires_in)


@pytest.fixture
async def live_app(http: httpx.AsyncClient, pool: Any) -> LiveApp:
    """A fresh app on the live server."""
    deployer = Deployer(http, await admin_login(http))  # type: ignore[arg-type]
    return await LiveApp(deployer, pool).setup()
