"""App lifecycle and membership through the admin API; every change is an event with its actor."""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.errors import Conflict
from picloud.services import apps as app_service
from tests.integration.api.conftest import SYSTEM, Seed, bearer, error_code

APPS = "/api/v1/admin/apps"


async def test_create_get_patch_delete_an_app(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    # When an admin creates an app
    r = await client.post(
        APPS,
        headers=admin_headers,
        json={"slug": "shop", "name": "Shop", "hostnames": ["Shop.Example.com"]},
    )
    assert r.status_code == 201, r.text
    app = r.json()
    # Then it has the documented shape, with hostnames normalised
    assert {"id", "slug", "name", "hostnames", "created_at"} <= set(app)
    assert (app["slug"], app["name"], app["hostnames"]) == ("shop", "Shop", ["shop.example.com"])
    # And it can be fetched by slug or by id
    by_slug = (await client.get(f"{APPS}/shop", headers=admin_headers)).json()
    by_id = (await client.get(f"{APPS}/{app['id']}", headers=admin_headers)).json()
    assert by_slug == by_id == app
    # When it is patched, only the given fields change
    r = await client.patch(f"{APPS}/shop", headers=admin_headers, json={"name": "Shop 2"})
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["hostnames"]) == ("Shop 2", ["shop.example.com"])
    r = await client.patch(f"{APPS}/{app['id']}", headers=admin_headers, json={"slug": "store"})
    assert r.json()["slug"] == "store"
    assert (await client.get(f"{APPS}/shop", headers=admin_headers)).status_code == 404
    # When it is deleted, it is gone and its slug and hostname are free again
    assert (await client.delete(f"{APPS}/store", headers=admin_headers)).status_code == 204
    assert (await client.get(f"{APPS}/{app['id']}", headers=admin_headers)).status_code == 404
    r = await client.post(
        APPS,
        headers=admin_headers,
        json={"slug": "store", "name": "Again", "hostnames": ["shop.example.com"]},
    )
    assert r.status_code == 201


async def test_list_shows_apps_in_creation_order(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    for slug in ("b-app", "a-app", "c-app"):
        await client.post(APPS, headers=admin_headers, json={"slug": slug, "name": slug})
    r = await client.get(APPS, headers=admin_headers)
    assert [a["slug"] for a in r.json()] == ["b-app", "a-app", "c-app"]


async def test_a_patch_that_changes_nothing_appends_nothing(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await seed.app("shop")
    before = await seed.event_count()
    r = await client.patch(f"{APPS}/shop", headers=admin_headers, json={})
    assert r.status_code == 200
    assert await seed.event_count() == before


async def test_members_can_be_added_changed_listed_and_removed(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await seed.app("shop")
    user = await seed.user("ann@example.com")
    path = f"{APPS}/shop/members/{user.id}"
    r = await client.put(path, headers=admin_headers, json={"role": "viewer"})
    assert r.status_code == 200
    assert (r.json()["role"], r.json()["email"]) == ("viewer", "ann@example.com")
    r = await client.put(path, headers=admin_headers, json={"role": "editor"})
    assert r.json()["role"] == "editor"
    listed = (await client.get(f"{APPS}/shop/members", headers=admin_headers)).json()
    assert [(m["user_id"], m["role"]) for m in listed] == [(user.id, "editor")]
    # The member now sees the app and their role
    token = await seed.login(user.email)
    me = (await client.get("/api/v1/auth/me", headers=bearer(token))).json()
    assert list(me["memberships"].values()) == ["editor"]
    assert (await client.delete(path, headers=admin_headers)).status_code == 204
    assert (await client.get(f"{APPS}/shop/members", headers=admin_headers)).json() == []
    assert (await client.get(f"{APPS}/shop", headers=bearer(token))).status_code == 404


async def test_an_app_admin_can_manage_members_but_an_editor_cannot(
    client: AsyncTestClient[Litestar], seed: Seed
) -> None:
    app = await seed.app("shop")
    boss, helper, newbie = await seed.user(), await seed.user(), await seed.user()
    await seed.member(app.id, boss.id, "admin")
    await seed.member(app.id, helper.id, "editor")
    boss_h, helper_h = bearer(await seed.login(boss.email)), bearer(await seed.login(helper.email))
    path = f"{APPS}/shop/members/{newbie.id}"
    r = await client.put(path, headers=helper_h, json={"role": "viewer"})
    assert (r.status_code, error_code(r)) == (403, "forbidden")
    r = await client.put(path, headers=boss_h, json={"role": "viewer"})
    assert r.status_code == 200


async def test_every_app_mutation_is_an_event_carrying_the_actor(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/auth/me", headers=admin_headers)).json()
    user = await seed.user()
    app = (
        await client.post(APPS, headers=admin_headers, json={"slug": "shop", "name": "S"})
    ).json()
    await client.patch(f"{APPS}/shop", headers=admin_headers, json={"name": "T"})
    await client.put(
        f"{APPS}/shop/members/{user.id}", headers=admin_headers, json={"role": "admin"}
    )
    await client.delete(f"{APPS}/shop/members/{user.id}", headers=admin_headers)
    r = await client.delete(f"{APPS}/shop", headers=admin_headers)
    assert r.status_code == 204
    async with seed.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT type, actor, meta, version FROM events WHERE app_id = $1::uuid ORDER BY position",
            app["id"],
        )
    assert [r["type"] for r in rows] == [
        "app.created",
        "app.updated",
        "app.member_set",
        "app.member_removed",
        "app.deleted",
    ]
    assert [r["version"] for r in rows] == [1, 2, 3, 4, 5]
    assert {r["actor"] for r in rows} == {f"user:{me['id']}"}
    assert all(r["meta"]["request_id"] for r in rows)
    assert all(r["meta"]["correlation_id"] == r["meta"]["request_id"] for r in rows)


async def test_concurrent_creates_of_one_slug_make_exactly_one_app(seed: Seed) -> None:
    # Given ten commands racing for the same slug
    async def create(i: int) -> str:
        async with seed.pool.acquire() as conn:
            try:
                await app_service.create_app(
                    conn, SYSTEM, "race", f"Racer {i}", [f"r{i}.example.com"]
                )
                return "created"
            except Conflict as exc:
                return exc.code

    outcomes = await asyncio.gather(*(create(i) for i in range(10)))
    # Then one wins, the others get duplicate_slug, and the log holds one app.created
    assert sorted(outcomes) == ["created"] + ["duplicate_slug"] * 9
    async with seed.pool.acquire() as conn:
        n = await conn.fetchval("SELECT count(*) FROM events WHERE type = 'app.created'")
    assert n == 1


async def test_concurrent_hostname_claims_leave_one_owner(seed: Seed) -> None:
    async def create(i: int) -> str:
        async with seed.pool.acquire() as conn:
            try:
                await app_service.create_app(conn, SYSTEM, f"app{i}", "A", ["same.example.com"])
                return "created"
            except Conflict as exc:
                return exc.code

    outcomes = await asyncio.gather(*(create(i) for i in range(8)))
    assert sorted(outcomes) == ["created"] + ["duplicate_hostname"] * 7


async def test_an_app_is_found_by_its_hostnames_or_its_subdomain(seed: Seed) -> None:
    app = await seed.app("shop", ["shop.example.com"])
    async with seed.pool.acquire() as conn:
        for host in (
            "shop.example.com",
            "SHOP.example.com:8443",
            "shop.localhost",
            "shop.localhost:80",
        ):
            found = await app_service.find_app_by_host(conn, host, "localhost")
            assert found is not None and found.id == app.id, host
        for host in (
            "other.localhost",
            "a.shop.localhost",
            "localhost",
            "[::1]:8000",
            "example.com",
        ):
            assert await app_service.find_app_by_host(conn, host, "localhost") is None, host
