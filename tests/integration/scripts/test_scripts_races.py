"""Concurrent commands on one app: duplicates lose cleanly; app deletion takes the code along."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from _scripts_api import MODULE_SOURCE, ScriptsApi, error_code

from picloud.errors import Conflict, PayloadTooLarge
from picloud.services import apps, routes, scripts
from picloud.services.context import CommandContext

CTX = CommandContext(actor="system", request_id="races")


async def _attempt(pool: asyncpg.Pool, call: Any) -> str:
    async with pool.acquire() as conn:
        try:
            await call(conn)
        except Conflict as exc:
            return exc.code
    return "ok"


async def test_concurrent_creates_of_one_name_give_one_script(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        app = await apps.create_app(conn, CTX, "race", "Race")
    outcomes = await asyncio.gather(
        *(
            _attempt(
                pool, lambda c, i=i: scripts.create_script(c, CTX, app.id, "x", "endpoint", f"{i}")
            )
            for i in range(6)
        )
    )
    assert sorted(outcomes) == ["duplicate_script_name"] * 5 + ["ok"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events WHERE type = 'script.created'") == 1


async def test_concurrent_routes_of_one_shape_give_one_route(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        app = await apps.create_app(conn, CTX, "race", "Race")
        s = await scripts.create_script(conn, CTX, app.id, "x", "endpoint", "1")
    outcomes = await asyncio.gather(
        *(
            _attempt(pool, lambda c, i=i: routes.create_route(c, CTX, s.id, "GET", f"/a/{{p{i}}}"))
            for i in range(6)
        )
    )
    assert sorted(outcomes) == ["duplicate_route"] * 5 + ["ok"]
    async with pool.acquire() as conn:
        assert len(await scripts.list_routes_for_app(conn, app.id)) == 1


async def test_concurrent_updates_each_bump_the_version_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        app = await apps.create_app(conn, CTX, "race", "Race")
        s = await scripts.create_script(conn, CTX, app.id, "x", "endpoint", "0")
    outcomes = await asyncio.gather(
        *(
            _attempt(pool, lambda c, i=i: scripts.update_script(c, CTX, s.id, f"{i}"))
            for i in range(1, 7)
        )
    )
    assert outcomes == ["ok"] * 6
    async with pool.acquire() as conn:
        rec = await scripts.get_script(conn, s.id)
    assert rec is not None and rec.version == 7


async def test_deleting_the_app_removes_its_scripts_and_routes(
    api: ScriptsApi, shop: Any, pool: asyncpg.Pool
) -> None:
    module = await api.created(shop.id, "util", MODULE_SOURCE, "module")
    main = await api.created(shop.id, "main", 'import "util" as u; 1')
    route = (await api.route(main["id"], "GET", "/")).json()
    r = await api.client.delete(f"/api/v1/admin/apps/{shop.id}", headers=api.headers)
    assert r.status_code == 204, r.text
    for sid in (module["id"], main["id"]):
        assert error_code(await api.get(sid)) == "not_found"
    assert (await api.delete_route(route["id"])).status_code == 404
    async with pool.acquire() as conn:
        for table in ("scripts", "script_imports", "routes", "app_routes_state"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_openapi_lists_the_scripts_and_routes_endpoints(api: ScriptsApi) -> None:
    paths = (await api.client.get("/api/v1/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/admin/apps/{app}/scripts",
        "/api/v1/admin/scripts/{script_id}",
        "/api/v1/admin/scripts/{script_id}/routes",
        "/api/v1/admin/apps/{app}/routes",
        "/api/v1/admin/routes/{route_id}",
    ):
        assert path in paths, sorted(paths)


BIG_FN = "fn f{i}(x) {{ let y = x * 2 + 1; if y > 10 {{ y }} else {{ [1, 2, 3].len() + y }} }}\n"


async def test_validating_a_large_script_does_not_stall_the_event_loop(
    pool: asyncpg.Pool,
) -> None:
    # Given a ~200 KiB source (about a second of parsing)
    source = "".join(BIG_FN.format(i=i) for i in range(2500))
    async with pool.acquire() as conn:
        app = await apps.create_app(conn, CTX, "big", "Big")
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - start - 0.01)

    async def deploy() -> None:
        try:
            async with pool.acquire() as conn:
                await scripts.create_script(conn, CTX, app.id, "big", "endpoint", source)
        finally:
            done.set()

    # When it is deployed while another task ticks every 10 ms
    started = time.perf_counter()
    await asyncio.gather(ticker(), deploy())
    elapsed = time.perf_counter() - started
    # Then the ticker kept running throughout: a stalled loop would show one gap
    # about as long as the whole deploy and almost no ticks. (A GC pause or the
    # parser thread holding the GIL can delay one tick by a good fraction of a
    # short deploy, so the bounds are relative and generous.)
    assert elapsed > 0.3, elapsed
    assert len(lags) >= elapsed / 0.01 / 4, (len(lags), elapsed)
    assert max(lags) < elapsed * 0.6, (max(lags), elapsed)


async def test_a_source_over_the_cap_is_refused_before_parsing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        app = await apps.create_app(conn, CTX, "cap", "Cap")
        before = await conn.fetchval("SELECT count(*) FROM events")
        try:
            await scripts.create_script(
                conn, CTX, app.id, "huge", "endpoint", "1" * (scripts.MAX_SOURCE_BYTES + 1)
            )
        except PayloadTooLarge as exc:
            assert exc.code == "script_too_large" and exc.http_status == 413
        else:
            raise AssertionError("an oversized source was accepted")
        assert await conn.fetchval("SELECT count(*) FROM events") == before
