"""``GET /api/v1/admin/apps/{app}/events``: the app's audit log, in order, with metadata."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.api.conftest import Seed, bearer

APPS = "/api/v1/admin/apps"


async def _setup(client: AsyncTestClient[Litestar], seed: Seed, headers: dict[str, str]) -> str:
    """An app with five events of its own, plus noise from another app and identity."""
    user = await seed.user()
    r = await client.post(APPS, headers=headers, json={"slug": "shop", "name": "Shop"})
    app_id = str(r.json()["id"])
    await client.patch(f"{APPS}/shop", headers=headers, json={"name": "Shop 2"})
    await seed.app("noise")
    await client.put(f"{APPS}/shop/members/{user.id}", headers=headers, json={"role": "viewer"})
    await client.patch(f"{APPS}/shop", headers=headers, json={"hostnames": ["s.example.com"]})
    await client.delete(f"{APPS}/shop/members/{user.id}", headers=headers)
    return app_id


async def test_lists_only_the_apps_events_in_log_order_with_metadata(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    app_id = await _setup(client, seed, admin_headers)
    r = await client.get(
        f"{APPS}/shop/events", headers={**admin_headers, "X-Request-ID": "audit-1"}
    )
    assert r.status_code == 200
    page = r.json()
    events = page["events"]
    assert [e["type"] for e in events] == [
        "app.created",
        "app.updated",
        "app.member_set",
        "app.updated",
        "app.member_removed",
    ]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and page["next_after"] == positions[-1]
    first = events[0]
    assert first["stream"] == f"app-{app_id}" and first["version"] == 1
    assert first["data"] == {"app_id": app_id, "slug": "shop", "name": "Shop", "hostnames": []}
    assert first["meta"]["actor"].startswith("user:") and first["meta"]["request_id"]
    assert first["recorded_at"]


async def test_filters_and_pages(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    app_id = await _setup(client, seed, admin_headers)
    url = f"{APPS}/{app_id}/events"
    r = await client.get(url, headers=admin_headers, params={"type": "app.updated,app.created"})
    assert [e["type"] for e in r.json()["events"]] == ["app.created", "app.updated", "app.updated"]
    r = await client.get(url, headers=admin_headers, params={"stream": "app-nope"})
    assert r.json() == {"events": [], "next_after": 0}
    # Pages of two, following next_after, visit every event once
    seen: list[int] = []
    after = 0
    while True:
        page = (
            await client.get(url, headers=admin_headers, params={"after": after, "limit": 2})
        ).json()
        if not page["events"]:
            break
        assert len(page["events"]) <= 2
        seen += [e["position"] for e in page["events"]]
        after = page["next_after"]
    assert len(seen) == 5 and seen == sorted(set(seen))


async def test_needs_events_read_and_stays_inside_a_keys_app(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await _setup(client, seed, admin_headers)
    other = await seed.app("other")
    reader = await seed.key(["events:read"], app_id=other.id)
    no_scope = await seed.key(["app:read", "app:admin"])
    assert (await client.get(f"{APPS}/other/events", headers=bearer(reader.key))).status_code == 200
    assert (await client.get(f"{APPS}/shop/events", headers=bearer(reader.key))).status_code == 404
    assert (
        await client.get(f"{APPS}/shop/events", headers=bearer(no_scope.key))
    ).status_code == 403
