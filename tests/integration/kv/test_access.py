"""Who may read and write KV: capabilities of the caller, cross-app isolation, admin browsing."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.integration.kv.conftest import Deployer, KvApp, kv_app


async def _key(
    client: Any, admin: dict[str, str], scopes: list[str], app: str | None = None
) -> str:
    body: dict[str, Any] = {"name": "k", "scopes": scopes}
    if app is not None:
        body["app"] = app
    r = await client.post("/api/v1/admin/api-keys", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_read_only_key_reads_but_cannot_write(
    client: Any, deploy: Deployer, admin_headers: dict[str, str], pool: asyncpg.Pool
) -> None:
    # Given an app with a stored key, and an API key with script:read only
    kv = await kv_app(deploy, client)
    await kv.ok("set", key="k", value="v")
    reader = _bearer(await _key(client, admin_headers, ["script:read"]))
    events = await pool.fetchval("SELECT count(*) FROM events")
    # When the script runs on behalf of that key, reads work
    assert (await kv.call("get", key="k", headers=reader)) == {"r": "v"}
    assert (await kv.call("has", key="k", headers=reader)) == {"r": True}
    assert (await kv.call("list", headers=reader))["r"]["items"] == [{"key": "k", "value": "v"}]
    # But set and delete throw a permission error and write nothing
    for op, value in (("set", "w"), ("delete", None)):
        out = await kv.call(op, key="k", value=value, headers=reader)
        assert out["error"].startswith(f"kv: {op}: permission denied"), out
        assert out["error"].endswith("[kv_permission_denied]"), out
    assert await pool.fetchval("SELECT count(*) FROM events") == events
    assert await kv.ok("get", key="k") == "v"


async def test_key_without_script_scopes_cannot_read(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given an API key with app:read only
    kv = await kv_app(deploy, client)
    headers = _bearer(await _key(client, admin_headers, ["app:read"]))
    # Then even a read is refused
    out = await kv.call("get", key="k", headers=headers)
    assert out["error"] == (
        "kv: get: permission denied: the caller lacks AppKvRead (script:read)"
        " [kv_permission_denied]"
    )


async def test_writer_key_and_editor_user_write_viewer_user_only_reads(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given a script:write key, and users who are editor and viewer of the app
    kv = await kv_app(deploy, client)
    writer = _bearer(await _key(client, admin_headers, ["script:write"]))
    assert await kv.call("set", key="by-key", value=1, headers=writer) == {"r": True}
    sessions = {}
    for role in ("editor", "viewer"):
        email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        r = await client.post(
            "/api/v1/admin/users",
            json={"email": email, "password": "password-123"},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text
        r2 = await client.put(
            f"/api/v1/admin/apps/{kv.id}/members/{r.json()['id']}",
            json={"role": role},
            headers=admin_headers,
        )
        assert r2.status_code == 200, r2.text
        login = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "password-123"}
        )
        sessions[role] = _bearer(login.json()["token"])
    # Then the editor writes, the viewer reads but cannot write
    assert await kv.call("set", key="by-editor", value=2, headers=sessions["editor"]) == {"r": True}
    assert await kv.call("get", key="by-editor", headers=sessions["viewer"]) == {"r": 2}
    out = await kv.call("set", key="by-viewer", value=3, headers=sessions["viewer"])
    assert out["error"].endswith("[kv_permission_denied]"), out


async def test_key_restricted_to_another_app_is_denied(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given a full-scope key restricted to app B, used on app A's route
    kv_a = await kv_app(deploy, client)
    kv_b = await kv_app(deploy, client)
    other = _bearer(await _key(client, admin_headers, ["script:write"], app=kv_b.id))
    # Then A's KV refuses it, and B's accepts it
    out = await kv_a.call("get", key="k", headers=other)
    assert out["error"].endswith("[kv_permission_denied]"), out
    assert await kv_b.call("set", key="k", value=1, headers=other) == {"r": True}


async def test_apps_never_see_each_others_keys(client: Any, deploy: Deployer) -> None:
    # Given two apps using the same collection and key names
    kv_a = await kv_app(deploy, client)
    kv_b = await kv_app(deploy, client)
    await kv_a.ok("set", collection="shared", key="k", value="from A")
    await kv_a.ok("set", collection="shared", key="only-a", value=1)
    # Then B sees nothing of A's
    assert await kv_b.ok("get", collection="shared", key="k") is None
    assert await kv_b.ok("has", collection="shared", key="only-a") is False
    assert await kv_b.ok("delete", collection="shared", key="only-a") is False
    assert await kv_b.ok("list", collection="shared") == {"items": [], "cursor": None}
    # And B's writes leave A's values alone
    await kv_b.ok("set", collection="shared", key="k", value="from B")
    assert await kv_a.ok("get", collection="shared", key="k") == "from A"
    assert await kv_b.ok("get", collection="shared", key="k") == "from B"
    # And a cursor from A's listing shows B only B's keys
    for i in range(3):
        await kv_a.ok("set", collection="p", key=f"k{i}", value=i)
        await kv_b.ok("set", collection="p", key=f"k{i}", value=-i)
    cursor = (await kv_a.ok("list", collection="p", opts={"limit": 1}))["cursor"]
    page = await kv_b.ok("list", collection="p", opts={"cursor": cursor})
    assert [i["value"] for i in page["items"]] == [-1, -2]


async def _browse(client: Any, kv: KvApp, headers: dict[str, str], query: str = "") -> Any:
    return await client.get(f"/api/v1/admin/apps/{kv.slug}/kv/c{query}", headers=headers)


async def test_admin_browse_pages_with_cursors(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given five entries and a key with script:read
    kv = await kv_app(deploy, client)
    for i in range(4):
        await kv.ok("set", key=f"item:{i}", value={"n": i})
    await kv.ok("set", key="other", value=None)
    reader = _bearer(await _key(client, admin_headers, ["script:read"]))
    # When browsing prefix item: two at a time
    r1 = await _browse(client, kv, reader, "?prefix=item:&limit=2")
    assert r1.status_code == 200, r1.text
    assert r1.json()["items"] == [
        {"key": "item:0", "value": {"n": 0}},
        {"key": "item:1", "value": {"n": 1}},
    ]
    r2 = await _browse(client, kv, reader, f"?prefix=item:&limit=2&cursor={r1.json()['cursor']}")
    # Then the second page ends the listing
    assert [i["key"] for i in r2.json()["items"]] == ["item:2", "item:3"]
    assert r2.json()["cursor"] is None
    # And without options everything is listed
    r3 = await _browse(client, kv, admin_headers)
    assert [i["key"] for i in r3.json()["items"]] == [f"item:{i}" for i in range(4)] + ["other"]


async def test_admin_browse_checks_capability_and_input(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given an app and keys of several kinds
    kv = await kv_app(deploy, client)
    other = await kv_app(deploy, client)
    app_read = _bearer(await _key(client, admin_headers, ["app:read"]))
    elsewhere = _bearer(await _key(client, admin_headers, ["script:read"], app=other.id))
    # Then app:read alone is 403, a key of another app 404, no token 401
    assert (await _browse(client, kv, app_read)).status_code == 403
    assert (await _browse(client, kv, elsewhere)).status_code == 404
    assert (await _browse(client, kv, {})).status_code == 401
    # And bad input is a 400 with a stable code
    r = await client.get(f"/api/v1/admin/apps/{kv.slug}/kv/bad%20name", headers=admin_headers)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "kv_invalid_collection")
    r = await _browse(client, kv, admin_headers, "?prefix=" + "p" * 300)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "kv_invalid_prefix")
    r = await _browse(client, kv, admin_headers, "?cursor=garbage!")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "kv_invalid_cursor")
    assert (await _browse(client, kv, admin_headers, "?limit=0")).status_code == 400
    assert (await _browse(client, kv, admin_headers, "?limit=1001")).status_code == 400
