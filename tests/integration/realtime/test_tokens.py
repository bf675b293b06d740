"""pubsub::subscriber_token through a route on a live server: mint, use, clamps, refusals, rotation."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import msgspec

from tests.integration.realtime.conftest import LiveApp, sse

MINT = r"""
let b = ctx.request.body;
let out = #{};
try {
    let t = if b.ttl == () {
        pubsub::subscriber_token(b.topics)
    } else {
        pubsub::subscriber_token(b.topics, b.ttl)
    };
    out = #{token: t};
} catch (e) { out = #{error: e}; }
out
"""


async def _mint(app: LiveApp, body: dict[str, Any], headers: dict[str, str] | None) -> Any:
    r = await app.http.post(f"/a/{app.slug}/mint", json=body, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def _payload(token: str) -> Any:
    part = token.partition(".")[0]
    return msgspec.json.decode(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def test_mint_use_clamp_refuse_and_rotate(
    http: httpx.AsyncClient, live_app: LiveApp, pool: Any
) -> None:
    await live_app.topic("priv", auth_mode="token")
    await live_app.topic("pub", auth_mode="public")
    await live_app.topic("inner", external=False, auth_mode="token")
    await live_app.deploy.endpoint(live_app.slug, "POST", "/mint", MINT)
    admin = live_app.deploy.headers
    # Minted by an authenticated caller, it opens the topic.
    body = await _mint(live_app, {"topics": ["priv"]}, admin)
    token = body["token"]
    data = _payload(token)
    assert data["a"] == live_app.app["id"] and data["t"] == ["priv"]
    assert abs(data["e"] - (time.time() + 3600)) < 60  # the default TTL
    async with sse(http, live_app.path("priv"), token=token) as (resp, stream):
        assert resp.status_code == 200
        p = await live_app.publish("priv", "hello")
        assert (await stream.message()).id == str(p)
    # TTL clamps.
    low = _payload((await _mint(live_app, {"topics": ["priv"], "ttl": 1}, admin))["token"])
    high = _payload((await _mint(live_app, {"topics": ["priv"], "ttl": 10**8}, admin))["token"])
    assert abs(low["e"] - (time.time() + 10)) < 5
    assert abs(high["e"] - (time.time() + 86_400)) < 60
    # Refusals, each with a stable code.
    cases = [
        ({"topics": ["priv"]}, None, "pubsub_unauthenticated"),
        ({"topics": ["pub"]}, admin, "pubsub_topic_not_subscribable"),
        ({"topics": ["inner"]}, admin, "pubsub_topic_not_subscribable"),
        ({"topics": ["nope"]}, admin, "pubsub_topic_not_subscribable"),
        ({"topics": []}, admin, "pubsub_invalid_topics"),
        ({"topics": "priv"}, admin, "pubsub_invalid_topics"),
        ({"topics": ["priv"], "ttl": "1h"}, admin, "pubsub_invalid_ttl"),
    ]
    for req, headers, code in cases:
        out = await _mint(live_app, req, headers)
        assert "error" in out and out["error"].startswith("pubsub: subscriber_token: "), out
        assert out["error"].endswith(f"[{code}]"), (req, out)
    # A caller without the publish capability.
    r = await http.post(
        "/api/v1/admin/api-keys",
        json={"name": "ro", "scopes": ["app:read"], "app": live_app.app["id"]},
        headers=admin,
    )
    assert r.status_code in (200, 201), r.text
    out = await _mint(
        live_app, {"topics": ["priv"]}, {"Authorization": f"Bearer {r.json()['key']}"}
    )
    assert out["error"].endswith("[pubsub_permission_denied]"), out
    # The key is never in the event log.
    async with pool.acquire() as conn:
        secret = await conn.fetchval(
            "SELECT secret FROM app_secrets WHERE app_id = $1::uuid", live_app.app["id"]
        )
        logged = await conn.fetchval(
            "SELECT string_agg(data::text || meta::text, '') FROM events WHERE app_id = $1::uuid",
            live_app.app["id"],
        )
    for form in (
        bytes(secret).hex(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
    ):
        assert form.rstrip("=") not in logged
    # Rotation voids every token, including the one a live stream was admitted with.
    async with sse(http, live_app.path("priv"), headers={"Authorization": f"Bearer {token}"}) as (
        resp,
        stream,
    ):
        assert resp.status_code == 200
        await stream.next()
        r = await live_app.admin("POST", "/subscriber-tokens/rotate")
        assert r.status_code == 204, r.text
        assert await stream.ended(timeout=5)
    async with sse(http, live_app.path("priv"), token=token) as (resp, _):
        assert resp.status_code == 401
    async with pool.acquire() as conn:
        types = await conn.fetch(
            "SELECT type, data::text AS data FROM events WHERE app_id = $1::uuid"
            " AND type = 'realtime.subscriber_key_rotated'",
            live_app.app["id"],
        )
    assert len(types) == 1 and "secret" not in types[0]["data"]
    fresh = (await _mint(live_app, {"topics": ["priv"]}, admin))["token"]
    async with sse(http, live_app.path("priv"), token=fresh) as (resp, _):
        assert resp.status_code == 200
