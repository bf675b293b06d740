"""pubsub::publish_durable end to end: the event, pubsub triggers on a worker, the Redis wake-up."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import msgspec

from picloud.realtime.broadcaster import Announcer, channel_name
from picloud.settings import Settings
from tests.integration.realtime.conftest import RECORDER, PubEnv, wait_for


async def _runs(env: PubEnv) -> Any:
    return await env.get("seen", "runs")


async def test_publish_appends_an_event_and_runs_a_matching_trigger(
    pub: PubEnv, worker: Any
) -> None:
    # Given a pubsub trigger on the exact topic "orders"
    h = await pub.handler(RECORDER)
    await pub.trigger("pubsub", {"script_id": h["id"], "pattern": "orders"})
    # When a script publishes on it
    body = await pub.publish("orders", {"id": 7, "total": 9.5})
    # Then the publish is in the log at the returned position
    async with pub.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT type, stream, data FROM events WHERE position = $1", body["position"]
        )
    assert row["type"] == "pubsub.published"
    assert row["stream"] == f"pubsub-{pub.app['id']}-orders"
    # And the handler ran with ctx.event.pubsub
    await wait_for(lambda: _runs(pub))
    event = await pub.get("seen", "event")
    assert event["source"] == "pubsub" and event["op"] == "publish"
    assert event["position"] == body["position"]
    assert event["pubsub"]["topic"] == "orders"
    assert event["pubsub"]["message"] == {"id": 7, "total": 9.5}
    assert event["pubsub"]["published_at"].endswith("Z")


async def test_patterns_exact_prefix_and_star(pub: PubEnv, worker: Any) -> None:
    counter = r"""
let seen = kv::collection("hits");
let t = ctx.event.pubsub.topic;
seen.set(t, (seen.get(t) ?? 0) + 1);
"""
    names = {"orders.*": "prefix", "*": "star", "orders.eu": "exact"}
    for pattern, name in names.items():
        h = await pub.handler(counter.replace("hits", f"hits_{name}"))
        await pub.trigger("pubsub", {"script_id": h["id"], "pattern": pattern})
    for topic in ("orders.eu", "orders", "ordersx", "other"):
        await pub.publish(topic, 1)

    async def total() -> int:
        async with pub.pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM kv_entries WHERE app_id = $1::uuid", pub.app["id"]
                )
            )

    # orders.* → orders.eu; * → all four; orders.eu → orders.eu: six entries.
    await wait_for(lambda: _at_least(total(), 6))
    await asyncio.sleep(0.5)  # nothing more arrives
    assert await total() == 6
    assert await pub.get("hits_prefix", "orders.eu") == 1
    assert await pub.get("hits_prefix", "orders") is None
    assert await pub.get("hits_prefix", "ordersx") is None
    for topic in ("orders.eu", "orders", "ordersx", "other"):
        assert await pub.get("hits_star", topic) == 1
    assert await pub.get("hits_exact", "orders.eu") == 1


async def _at_least(value: Any, n: int) -> bool:
    return bool(await value >= n)


async def test_mid_pattern_and_bad_wildcards_are_refused(pub: PubEnv) -> None:
    h = await pub.handler(RECORDER)
    for pattern in ("orders.*.eu", "*.eu", "ord*", "orders*", "a.**", "", 5, None):
        body = await pub.trigger("pubsub", {"script_id": h["id"], "pattern": pattern}, status=400)
        assert body["error"]["code"] == "invalid_trigger"
        assert body["error"]["details"]["field"] == "pattern"
    async with pub.pool.acquire() as conn:
        n = await conn.fetchval(
            "SELECT count(*) FROM triggers WHERE app_id = $1::uuid", pub.app["id"]
        )
    assert n == 0


async def test_no_subscriber_succeeds_with_no_outbox_rows(pub: PubEnv) -> None:
    body = await pub.publish("lonely", "hi")
    assert isinstance(body["position"], int)
    async with pub.pool.acquire() as conn:
        n = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE app_id = $1::uuid", pub.app["id"]
        )
    assert n == 0


async def test_blob_travels_as_base64_at_any_depth(pub: PubEnv, worker: Any) -> None:
    echo = r"""
let m = ctx.event.pubsub.message;
kv::collection("seen").set("ok", type_of(m.inner[0]) == "blob" && m.inner[0].len() == 3);
kv::collection("seen").set("runs", 1);
"""
    h = await pub.handler(echo)
    await pub.trigger("pubsub", {"script_id": h["id"], "pattern": "files"})
    body = await pub.publish("files", "x", blob=True)
    async with pub.pool.acquire() as conn:
        data = await conn.fetchval("SELECT data FROM events WHERE position = $1", body["position"])
    inner = data["message"]["inner"][0]
    assert inner == {"$picloud": "blob", "base64": base64.b64encode(bytes([7, 7, 7])).decode()}
    await wait_for(lambda: _runs(pub))
    assert await pub.get("seen", "ok") is True


async def test_bad_input_is_a_catchable_error_and_writes_nothing(pub: PubEnv) -> None:
    bad = r"""
let out = [];
for t in ["", "-x", "a b", "a*", 5] {
    try { pubsub::publish_durable(t, 1); out.push("ok"); } catch (e) { out.push(e); }
}
try { pubsub::publish_durable("t", || 1); } catch (e) { out.push(e); }
out
"""
    await pub.deploy.endpoint(pub.app["slug"], "POST", "/bad", bad)
    r = await pub.client.post(f"/a/{pub.app['slug']}/bad", json={})
    assert r.status_code == 200, r.text
    errors = r.json()
    assert all(e.startswith("pubsub: publish_durable: ") for e in errors), errors
    assert all("[pubsub_invalid_topic]" in e for e in errors[:5]), errors
    assert "[unsupported_value]" in errors[5]
    async with pub.pool.acquire() as conn:
        n = await conn.fetchval(
            "SELECT count(*) FROM events WHERE app_id = $1::uuid AND type = 'pubsub.published'",
            pub.app["id"],
        )
    assert n == 0


async def test_a_committed_publish_is_announced_on_redis(
    pub: PubEnv, redis: Any, dp_settings: Settings
) -> None:
    ps = redis.pubsub()
    await ps.subscribe(channel_name(dp_settings.redis_namespace))
    try:
        await asyncio.wait_for(ps.get_message(timeout=2), 3)  # the subscribe confirmation
        body = await pub.publish("news", {"a": 1})
        msg = None
        deadline = asyncio.get_running_loop().time() + 5
        while msg is None and asyncio.get_running_loop().time() < deadline:
            msg = await asyncio.wait_for(
                ps.get_message(ignore_subscribe_messages=True, timeout=1), 2
            )
        assert msg is not None
        assert msgspec.json.decode(msg["data"]) == {
            "app_id": pub.app["id"],
            "topic": "news",
            "position": body["position"],
        }
    finally:
        await ps.aclose()


def test_broadcast_failure_is_swallowed() -> None:
    # A Redis nobody listens on: the announcement fails, quickly and quietly.
    announcer = Announcer("redis://127.0.0.1:1", "picloud-test", timeout=0.5)
    assert announcer.announce("app", "t", 1) is False
    assert Announcer(None, "x").announce("app", "t", 1) is False
