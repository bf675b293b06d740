"""SSE through a real HTTP client against a live uvicorn process: admission, shape, heartbeat, resume."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.realtime.conftest import LiveApp, sse


async def test_missing_internal_and_bad_paths_are_404(
    http: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("internal", external=False)
    for topic in ("missing", "internal", "bad*name"):
        async with sse(http, live_app.path(topic)) as (resp, _):
            assert resp.status_code == 404, topic
            body = await resp.aread()
            assert b'"topic_not_found"' in body
    # By Host as well.
    r = await http.get(
        "/realtime/topics/missing", headers={"Host": f"{live_app.slug}.picloud.test"}
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "topic_not_found"
    assert r.headers["access-control-allow-origin"] == "*"


async def test_message_shape_id_and_host_routing(
    http: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("news")
    async with sse(
        http, "/realtime/topics/news", headers={"Host": f"{live_app.slug}.picloud.test"}
    ) as (resp, stream):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        # A browser on the app's own site (another origin) may read the stream
        assert resp.headers["access-control-allow-origin"] == "*"
        first = await stream.next()
        assert first.retry is not None  # the reconnection hint comes first
        position = await live_app.publish("news", {"headline": "hi", "n": [1, 2]})
        ev = await stream.message()
        assert ev.id == str(position)
        data = ev.json()
        assert set(data) == {"topic", "message", "published_at"}
        assert data["topic"] == "news" and data["message"] == {"headline": "hi", "n": [1, 2]}
        assert data["published_at"].endswith("Z")
        # Other topics of the app are not on this stream.
        await live_app.publish("other", 1)
        p2 = await live_app.publish("news", "second")
        ev = await stream.message()
        assert ev.id == str(p2) and ev.json()["message"] == "second"


async def test_heartbeat_comment(http: httpx.AsyncClient, live_app: LiveApp) -> None:
    await live_app.topic("quiet")
    async with sse(http, live_app.path("quiet")) as (resp, stream):
        assert resp.status_code == 200
        await stream.next()  # retry + connected
        loop = asyncio.get_running_loop()
        start = loop.time()
        ev = await stream.next(timeout=5)
        assert ev.comments == ["heartbeat"] and ev.data is None
        assert loop.time() - start <= 2.5  # PICLOUD_REALTIME_HEARTBEAT_SEC=1 here


async def test_resume_replays_after_last_event_id_then_goes_live(
    http: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("feed")
    positions = [await live_app.publish("feed", i) for i in range(5)]
    # Header form.
    async with sse(http, live_app.path("feed"), headers={"Last-Event-ID": str(positions[1])}) as (
        resp,
        stream,
    ):
        assert resp.status_code == 200
        got = [(await stream.message()).id for _ in range(3)]
        assert got == [str(p) for p in positions[2:]]
        p5 = await live_app.publish("feed", 5)
        assert (await stream.message()).id == str(p5)
    # Query form, from the very start (0): everything.
    async with sse(http, live_app.path("feed"), last_event_id="0") as (resp, stream):
        got = [(await stream.message()).json()["message"] for _ in range(6)]
        assert got == [0, 1, 2, 3, 4, 5]


async def test_resume_too_far_behind_gets_reset(http: httpx.AsyncClient, live_app: LiveApp) -> None:
    await live_app.topic("big")
    first = await live_app.publish("big", 0)
    for i in range(60):  # PICLOUD_REALTIME_RESUME_MAX=50 here
        last = await live_app.publish("big", i + 1)
    async with sse(http, live_app.path("big"), last_event_id=str(first - 1)) as (_, stream):
        ev = await stream.message()
        assert ev.event == "reset" and ev.id == str(last)
        nxt = await live_app.publish("big", "after")
        ev = await stream.message()
        assert ev.id == str(nxt) and ev.event is None


async def test_bad_last_event_id_is_400(http: httpx.AsyncClient, live_app: LiveApp) -> None:
    await live_app.topic("t")
    async with sse(http, live_app.path("t"), last_event_id="abc") as (resp, _):
        assert resp.status_code == 400
        assert b"invalid_last_event_id" in await resp.aread()


async def test_token_topics(http: httpx.AsyncClient, live_app: LiveApp, pool: Any) -> None:
    await live_app.topic("secret", auth_mode="token")
    await live_app.topic("other", auth_mode="token")
    good = await live_app.token(["secret"])
    expired = await live_app.token(["secret"], expires_in=-5)
    wrong_topic = await live_app.token(["other"])
    payload, _, sig = good.partition(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + sig
    for token in (None, "garbage", expired, wrong_topic, tampered, good + "x"):
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        async with sse(http, live_app.path("secret"), headers=headers) as (resp, _):
            assert resp.status_code == 401, token
            assert b'"invalid_token"' in await resp.aread()
    for token in ("", tampered, expired):
        async with sse(http, live_app.path("secret"), token=token) as (resp, _):
            assert resp.status_code == 401, token
            assert b'"invalid_token"' in await resp.aread()
    # A token of another app does not open this app's topic.
    other = await LiveApp(live_app.deploy, pool).setup()
    await other.topic("secret", auth_mode="token")
    foreign = await other.token(["secret"])
    async with sse(http, live_app.path("secret"), token=foreign) as (resp, _):
        assert resp.status_code == 401
    # Header and query both work.
    async with sse(http, live_app.path("secret"), headers={"Authorization": f"Bearer {good}"}) as (
        resp,
        stream,
    ):
        assert resp.status_code == 200
        p = await live_app.publish("secret", "s")
        assert (await stream.message()).id == str(p)
    async with sse(http, live_app.path("secret"), token=good) as (resp, stream):
        assert resp.status_code == 200


async def test_flip_internal_and_delete_disconnect(
    http: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("a")
    await live_app.topic("b", auth_mode="public")
    async with sse(http, live_app.path("a")) as (ra, sa), sse(http, live_app.path("b")) as (rb, sb):
        assert ra.status_code == rb.status_code == 200
        await sa.next()
        await sb.next()
        r = await live_app.admin("PATCH", "/topics/a", json={"external_subscribable": False})
        assert r.status_code == 200
        assert await sa.ended(timeout=5)
        # b is untouched until it is deleted.
        p = await live_app.publish("b", 1)
        assert (await sb.message()).id == str(p)
        r = await live_app.admin("DELETE", "/topics/b")
        assert r.status_code == 204
        assert await sb.ended(timeout=5)
    async with sse(http, live_app.path("a")) as (resp, _):
        assert resp.status_code == 404


async def test_public_to_token_cuts_tokenless_subscribers(
    http: httpx.AsyncClient, live_app: LiveApp
) -> None:
    await live_app.topic("c")
    async with sse(http, live_app.path("c")) as (_, stream):
        await stream.next()
        r = await live_app.admin("PATCH", "/topics/c", json={"auth_mode": "token"})
        assert r.status_code == 200
        assert await stream.ended(timeout=5)
