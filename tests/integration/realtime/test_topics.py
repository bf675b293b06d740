"""The topic registry through the admin API: create, list, get, patch, delete, capability, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from picloud.realtime.broadcaster import channel_name
from picloud.settings import Settings
from tests.integration.realtime.conftest import PubEnv


async def _events(pub: PubEnv) -> list[str]:
    async with pub.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT type FROM events WHERE app_id = $1::uuid AND type LIKE 'topic.%'"
            " ORDER BY position",
            pub.app["id"],
        )
    return [r["type"] for r in rows]


async def test_topic_lifecycle(pub: PubEnv) -> None:
    # A topic is internal with token auth unless told otherwise.
    r = await pub.api("POST", "/topics", json={"name": "orders"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "orders" and body["app_id"] == pub.app["id"]
    assert body["external_subscribable"] is False and body["auth_mode"] == "token"
    r = await pub.api(
        "POST",
        "/topics",
        json={"name": "news", "external_subscribable": True, "auth_mode": "public"},
    )
    assert r.status_code == 201, r.text
    r = await pub.api("GET", "/topics")
    assert [t["name"] for t in r.json()] == ["news", "orders"]
    r = await pub.api("PATCH", "/topics/orders", json={"external_subscribable": True})
    assert r.status_code == 200, r.text
    assert r.json()["external_subscribable"] is True and r.json()["auth_mode"] == "token"
    r = await pub.api("GET", "/topics/orders")
    assert r.json()["external_subscribable"] is True
    r = await pub.api("DELETE", "/topics/orders")
    assert r.status_code == 204, r.text
    r = await pub.api("GET", "/topics/orders")
    assert r.status_code == 404 and r.json()["error"]["code"] == "topic_not_found"
    # Registered again after a delete: a fresh, internal topic on the same stream.
    r = await pub.api("POST", "/topics", json={"name": "orders"})
    assert r.status_code == 201 and r.json()["external_subscribable"] is False
    assert await _events(pub) == [
        "topic.created",
        "topic.created",
        "topic.updated",
        "topic.deleted",
        "topic.created",
    ]


async def test_bad_input_is_refused_and_writes_nothing(pub: PubEnv) -> None:
    await pub.api("POST", "/topics", json={"name": "t"})
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/topics", {"name": "a b"}, 400, "invalid_topic"),
        ("POST", "/topics", {"name": ""}, 400, "invalid_topic"),
        ("POST", "/topics", {"name": "a*"}, 400, "invalid_topic"),
        ("POST", "/topics", {}, 400, "invalid_topic"),
        ("POST", "/topics", [1], 400, "invalid_topic"),
        ("POST", "/topics", {"name": "x", "auth_mode": "open"}, 400, "invalid_topic"),
        ("POST", "/topics", {"name": "x", "external_subscribable": "yes"}, 400, "invalid_topic"),
        ("POST", "/topics", {"name": "x", "color": 1}, 400, "invalid_topic"),
        ("POST", "/topics", {"name": "t"}, 409, "topic_exists"),
        ("PATCH", "/topics/t", {"auth_mode": 1}, 400, "invalid_topic"),
        ("PATCH", "/topics/t", {"name": "u"}, 400, "invalid_topic"),
        ("PATCH", "/topics/nope", {}, 404, "topic_not_found"),
        ("DELETE", "/topics/nope", None, 404, "topic_not_found"),
    ]
    before = await _events(pub)
    for method, path, body, status, code in cases:
        r = await pub.api(method, path, **({} if body is None else {"json": body}))
        assert r.status_code == status, (method, path, body, r.text)
        assert r.json()["error"]["code"] == code, (method, path, body, r.text)
    r = await pub.client.post(
        f"/api/v1/admin/apps/{pub.app['slug']}/topics",
        content=b"{not json",
        headers={**pub.deploy.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert await _events(pub) == before


async def test_topics_need_app_admin(pub: PubEnv) -> None:
    r = await pub.client.post(
        "/api/v1/admin/api-keys",
        json={"name": "reader", "scopes": ["app:read", "script:write"], "app": pub.app["id"]},
        headers=pub.deploy.headers,
    )
    assert r.status_code in (200, 201), r.text
    key = {"Authorization": f"Bearer {r.json()['key']}"}
    base = f"/api/v1/admin/apps/{pub.app['slug']}/topics"
    for method, path, body in (
        ("POST", base, {"name": "x"}),
        ("GET", base, None),
        ("PATCH", base + "/x", {}),
        ("DELETE", base + "/x", None),
    ):
        r = await pub.client.request(
            method, path, headers=key, **({} if body is None else {"json": body})
        )
        assert r.status_code == 403, (method, r.text)
    assert await _events(pub) == []


async def test_changes_are_announced_for_live_subscribers(
    pub: PubEnv, redis: Any, dp_settings: Settings
) -> None:
    await pub.api("POST", "/topics", json={"name": "t", "external_subscribable": True})
    ps = redis.pubsub()
    await ps.subscribe(channel_name(dp_settings.redis_namespace))
    try:
        await asyncio.wait_for(ps.get_message(timeout=2), 3)
        await pub.api("PATCH", "/topics/t", json={"external_subscribable": False})
        await pub.api("DELETE", "/topics/t")
        seen = []
        deadline = asyncio.get_running_loop().time() + 5
        while len(seen) < 2 and asyncio.get_running_loop().time() < deadline:
            msg = await asyncio.wait_for(
                ps.get_message(ignore_subscribe_messages=True, timeout=1), 2
            )
            if msg is not None:
                seen.append(msgspec.json.decode(msg["data"]))
        expected = {"app_id": pub.app["id"], "topic": "t", "kind": "topic"}
        assert seen == [expected, expected]
    finally:
        await ps.aclose()
