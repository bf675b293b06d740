"""Routes through HTTP: create, list, delete; path/method/mode rules; conflicts; access."""

from __future__ import annotations

from typing import Any

import pytest
from _scripts_api import MODULE_SOURCE, ScriptsApi, bearer, error_code

from picloud.services import scripts as script_service

ROUTE_KEYS = {"id", "app_id", "script_id", "method", "path", "dispatch_mode", "created_at"}


async def refused(seed: Any, call: Any, status: int, code: str | None = None) -> Any:
    """Run ``call``; assert ``status`` (and ``code``) and that no event was written."""
    before = await seed.event_count()
    r = await call
    assert r.status_code == status, r.text
    if code is not None:
        assert error_code(r) == code, r.text
    assert await seed.event_count() == before, "a refused request wrote an event"
    return r


@pytest.fixture
async def endpoint(api: ScriptsApi, shop: Any) -> dict[str, Any]:
    """An endpoint script in ``shop``."""
    return await api.created(shop.id, "users", "#{ ok: true }")


async def test_route_create_list_delete(api: ScriptsApi, shop: Any, endpoint: Any) -> None:
    # When a route is made (method in any case, mode left to its default)
    r = await api.route(endpoint["id"], "get", "/users/{id}")
    assert r.status_code == 201, r.text
    route = r.json()
    # Then it is stored upper-cased and sync
    assert set(route) == ROUTE_KEYS
    assert (route["app_id"], route["script_id"]) == (shop.id, endpoint["id"])
    assert (route["method"], route["path"], route["dispatch_mode"]) == (
        "GET",
        "/users/{id}",
        "sync",
    )
    second = (await api.route(endpoint["id"], "POST", "/users", "sync")).json()
    root = (await api.route(endpoint["id"], "GET", "/")).json()
    # and the app's list is ordered by path then method (by id or slug)
    listed = (await api.routes(shop.slug)).json()
    assert [(x["method"], x["path"]) for x in listed] == [
        ("GET", "/"),
        ("POST", "/users"),
        ("GET", "/users/{id}"),
    ]
    assert listed[2] == route
    by_script = await api.client.get(
        f"/api/v1/admin/scripts/{endpoint['id']}/routes", headers=api.headers
    )
    assert {x["id"] for x in by_script.json()} == {route["id"], second["id"], root["id"]}
    one = await api.client.get(f"/api/v1/admin/routes/{route['id']}", headers=api.headers)
    assert one.json() == route
    # When one is deleted it is gone, and deleting again is 404
    assert (await api.delete_route(route["id"])).status_code == 204
    assert [x["path"] for x in (await api.routes(shop.id)).json()] == ["/", "/users"]
    assert error_code(await api.delete_route(route["id"])) == "not_found"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/a",
        "/users/{id}",
        "/users/{user_id}/posts/{post_id}",
        "/files/{_x1}/raw",
        "/v1/odd-chars_.~!$&'()*+,;=:@",
        "/caf%C3%A9",
    ],
)
async def test_valid_paths(api: ScriptsApi, endpoint: Any, path: str) -> None:
    r = await api.route(endpoint["id"], "GET", path)
    assert r.status_code == 201, r.text
    assert r.json()["path"] == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "users",
        "/users/",
        "//users",
        "/a//b",
        "/users/{}",
        "/users/{1id}",
        "/users/{id-x}",
        "/users/{id}/{id}",
        "/users/x{id}",
        "/users/{id}x",
        "/users/{id",
        "/users/id}",
        "/a b",
        "/a?b=1",
        "/a#b",
        "/%zz",
        "/" + "a" * 1100,
    ],
)
async def test_invalid_paths_are_400(api: ScriptsApi, endpoint: Any, seed: Any, path: str) -> None:
    r = await refused(seed, api.route(endpoint["id"], "GET", path), 400, "invalid_route_path")
    assert r.json()["error"]["details"]["field"] == "path"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def test_every_listed_method_is_accepted(api: ScriptsApi, endpoint: Any, method: str) -> None:
    assert (await api.route(endpoint["id"], method, "/m")).json()["method"] == method


@pytest.mark.parametrize("method", ["*", "ANY", "CONNECT", "TRACE", "", "G ET"])
async def test_other_methods_are_400(
    api: ScriptsApi, endpoint: Any, seed: Any, method: str
) -> None:
    r = await refused(seed, api.route(endpoint["id"], method, "/m"), 400, "invalid_route_method")
    assert r.json()["error"]["details"]["field"] == "method"


async def test_async_dispatch_is_accepted_and_unknown_modes_are_400(
    api: ScriptsApi, endpoint: Any, seed: Any
) -> None:
    # Given an endpoint, when an async route is created, then it is stored as async
    created = await api.route(endpoint["id"], "POST", "/jobs", "async")
    assert created.status_code == 201, created.text
    assert created.json()["dispatch_mode"] == "async"
    # And a mode that is neither sync nor async is refused, naming the field
    r = await refused(
        seed, api.route(endpoint["id"], "POST", "/later", "later"), 400, "invalid_dispatch_mode"
    )
    assert r.json()["error"]["details"]["field"] == "dispatch_mode"


async def test_a_module_cannot_be_routed(api: ScriptsApi, shop: Any, seed: Any) -> None:
    module = await api.created(shop.id, "util", MODULE_SOURCE, "module")
    r = await refused(seed, api.route(module["id"], "GET", "/util"), 400, "module_not_routable")
    assert r.json()["error"]["details"]["field"] == "script_id"


async def test_same_method_and_path_shape_in_an_app_is_409(
    api: ScriptsApi, shop: Any, endpoint: Any, seed: Any
) -> None:
    # Given GET /users/{id} routed to one script
    first = (await api.route(endpoint["id"], "GET", "/users/{id}")).json()
    other = await api.created(shop.id, "other", "1")
    # Then the same method and path shape is refused, from any script of the app
    for method, path in [("GET", "/users/{id}"), ("get", "/users/{uid}")]:
        for sid in (endpoint["id"], other["id"]):
            r = await refused(seed, api.route(sid, method, path), 409, "duplicate_route")
            assert r.json()["error"]["details"]["route_id"] == first["id"]
    # while another method, a literal segment, or another app is fine
    assert (await api.route(other["id"], "PUT", "/users/{id}")).status_code == 201
    assert (await api.route(other["id"], "GET", "/users/me")).status_code == 201
    elsewhere = await api.client.post(
        "/api/v1/admin/apps", json={"slug": "else", "name": "Else"}, headers=api.headers
    )
    theirs = await api.created(elsewhere.json()["id"], "users", "1")
    assert (await api.route(theirs["id"], "GET", "/users/{id}")).status_code == 201
    # and once deleted, the route can be made again
    await api.delete_route(first["id"])
    assert (await api.route(other["id"], "GET", "/users/{x}")).status_code == 201


async def test_deleting_a_script_deletes_its_routes_as_events(
    api: ScriptsApi, shop: Any, endpoint: Any, pool: Any
) -> None:
    keep = await api.created(shop.id, "keep", "1")
    r1 = (await api.route(endpoint["id"], "GET", "/a")).json()
    r2 = (await api.route(endpoint["id"], "POST", "/a")).json()
    kept = (await api.route(keep["id"], "GET", "/b")).json()
    assert (await api.delete(endpoint["id"])).status_code == 204
    assert [x["id"] for x in (await api.routes(shop.id)).json()] == [kept["id"]]
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT stream, type FROM events WHERE type = 'route.deleted' ORDER BY position"
        )
    assert {r["stream"] for r in rows} == {f"route-{r1['id']}", f"route-{r2['id']}"}


async def test_routes_version_changes_whenever_the_routes_change(
    api: ScriptsApi, shop: Any, endpoint: Any, pool: Any
) -> None:
    async def version() -> int:
        async with pool.acquire() as conn:
            return await script_service.routes_version(conn, shop.id)

    seen = [await version()]
    assert seen == [0]
    route = (await api.route(endpoint["id"], "GET", "/v")).json()
    seen.append(await version())
    # A script update does not touch the routes (scripts are cached by version instead)
    await api.update(endpoint["id"], "2")
    assert await version() == seen[-1]
    await api.route(endpoint["id"], "GET", "/w")
    seen.append(await version())
    await api.delete_route(route["id"])
    seen.append(await version())
    await api.delete(endpoint["id"])
    seen.append(await version())
    assert seen == sorted(set(seen)), seen  # strictly increasing
    async with pool.acquire() as conn:
        assert await script_service.list_routes_for_app(conn, shop.id) == []
        assert await script_service.routes_version(conn, "not-a-uuid") == 0


async def test_route_endpoints_unknown_ids_are_404(api: ScriptsApi, seed: Any) -> None:
    for sid in ["00000000-0000-0000-0000-000000000000", "zzz"]:
        await refused(seed, api.route(sid, "GET", "/x"), 404, "not_found")
        assert (await api.delete_route(sid)).status_code == 404
    assert (await api.routes("no-such-app")).status_code == 404


async def test_key_for_app_a_cannot_route_or_see_app_b(
    client: Any, seed: Any, api: ScriptsApi
) -> None:
    a, b = await seed.app("app-a"), await seed.app("app-b")
    theirs = await api.created(b.id, "secret", "1")
    their_route = (await api.route(theirs["id"], "GET", "/secret")).json()
    keyed = ScriptsApi(
        client, bearer((await seed.key(["script:read", "script:write"], app_id=a.id)).key)
    )
    await refused(seed, keyed.route(theirs["id"], "GET", "/mine"), 404, "not_found")
    assert error_code(await keyed.routes(b.id)) == "not_found"
    r = await refused(seed, keyed.delete_route(their_route["id"]), 404)
    assert r.json()["error"]["details"]["resource"] == "route"
    r = await client.get(f"/api/v1/admin/routes/{their_route['id']}", headers=keyed.headers)
    assert r.status_code == 404
    # A read-only key on B lists B's routes but cannot add or remove one
    reader = ScriptsApi(client, bearer((await seed.key(["script:read"], app_id=b.id)).key))
    assert [x["id"] for x in (await reader.routes(b.id)).json()] == [their_route["id"]]
    await refused(seed, reader.route(theirs["id"], "GET", "/r"), 403, "forbidden")
    await refused(seed, reader.delete_route(their_route["id"]), 403, "forbidden")


async def test_bad_route_bodies_are_400(api: ScriptsApi, endpoint: Any, seed: Any) -> None:
    url = f"/api/v1/admin/scripts/{endpoint['id']}/routes"
    for body, field in [
        ({"path": "/x"}, "method"),
        ({"method": "GET"}, "path"),
        ({"method": "GET", "path": "/x", "mode": "sync"}, "mode"),
        ({"method": 1, "path": "/x"}, "method"),
    ]:
        r = await refused(seed, api.client.post(url, json=body, headers=api.headers), 400)
        assert r.json()["error"]["details"]["field"] == field, r.text
