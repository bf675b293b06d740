"""A randomized concurrent workload over every script and route event type, then
``projections rebuild --verify``: scripts, script_imports, routes and
app_routes_state replayed from the log equal the live tables."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import msgspec
import pytest

from picloud.cli import main as cli_main
from picloud.errors import PicloudError
from picloud.events.scripts import (
    RouteCreated,
    RouteDeleted,
    ScriptCreated,
    ScriptDeleted,
    ScriptUpdated,
)
from picloud.events.types import decode_event
from picloud.projections.rebuild import rebuild
from picloud.services import apps, routes, scripts
from picloud.services.context import CommandContext
from picloud.settings import get_settings

CTX = CommandContext(actor="system", request_id="scripts-workload")
MODULES = ["util", "base", "fmt", "db"]
ENDPOINTS = ["main", "users", "orders", "health"]
METHODS = ["GET", "POST", "DELETE"]
PATHS = ["/", "/users", "/users/{id}", "/users/{uid}", "/orders/{id}/items", "/health"]
TABLES = {"scripts", "script_imports", "routes", "app_routes_state"}


def _source(rng: random.Random, kind: str) -> str:
    imports = "".join(f'import "{m}" as m{i};\n' for i, m in enumerate(rng.sample(MODULES, 2)))
    if kind == "module":
        return f"{imports}const N = {rng.randint(0, 99)};\nfn f(x) {{ x + N }}\n"
    return f"{imports}let x = {rng.randint(0, 99)};\nx\n"


async def _pick(conn: Any, sql: str, rng: random.Random, *args: Any) -> Any:
    rows = await conn.fetch(sql, *args)
    return rng.choice(rows) if rows else None


async def _one_op(conn: Any, rng: random.Random, app_ids: list[str]) -> None:
    """One random command; refusals (conflicts, in-use modules, 404s) are part of the workload."""
    app_id = rng.choice(app_ids)
    op = rng.choice(
        ["create", "create", "create", "update", "update", "delete", "route", "route", "unroute"]
    )
    if op == "create":
        kind = rng.choice(["module", "endpoint"])
        name = rng.choice(MODULES if kind == "module" else ENDPOINTS + MODULES)
        await scripts.create_script(conn, CTX, app_id, name, kind, _source(rng, kind))
        return
    row = await _pick(
        conn, "SELECT id::text AS id, kind FROM scripts WHERE app_id = $1::uuid", rng, app_id
    )
    if op == "unroute":
        route = await _pick(
            conn, "SELECT id::text AS id FROM routes WHERE app_id = $1::uuid", rng, app_id
        )
        if route is not None:
            await routes.delete_route(conn, CTX, route["id"])
    elif row is None:
        return
    elif op == "update":
        await scripts.update_script(conn, CTX, row["id"], _source(rng, row["kind"]))
    elif op == "delete":
        await scripts.delete_script(conn, CTX, row["id"])
    elif op == "route":
        await routes.create_route(
            conn, CTX, row["id"], rng.choice(METHODS), rng.choice(PATHS), "sync"
        )


async def _worker(pool: asyncpg.Pool, seed: int, ops: int, app_ids: list[str]) -> int:
    rng = random.Random(seed)
    refused = 0
    async with pool.acquire() as conn:
        for _ in range(ops):
            try:
                await _one_op(conn, rng, app_ids)
            except PicloudError:
                refused += 1
    return refused


async def test_randomized_script_workload_rebuilds_identically(pool: asyncpg.Pool) -> None:
    # Given three apps and four concurrent workers deploying, updating, routing and deleting
    async with pool.acquire() as conn:
        app_ids = [(await apps.create_app(conn, CTX, f"ws{i}", f"W{i}")).id for i in range(3)]
    refused = await asyncio.gather(*(_worker(pool, s, 60, app_ids) for s in range(4)))
    # and a route that survives (the random workload may unroute everything)
    # next to an app deleted with its scripts and routes still in place
    async with pool.acquire() as conn:
        kept = await scripts.create_script(conn, CTX, app_ids[0], "kept", "endpoint", "1")
        await routes.create_route(conn, CTX, kept.id, "GET", "/kept", "sync")
        doomed = await apps.create_app(conn, CTX, "doomed", "Doomed")
        s = await scripts.create_script(conn, CTX, doomed.id, "main", "endpoint", "1")
        await routes.create_route(conn, CTX, s.id, "GET", "/", "sync")
        await apps.delete_app(conn, CTX, doomed.id)
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in ("scripts", "script_imports", "routes", "app_routes_state")
        }
        types = {
            r["type"]
            for r in await conn.fetch(
                "SELECT DISTINCT type FROM events WHERE type LIKE 'script.%' OR type LIKE 'route.%'"
            )
        }
        # When the log is replayed into shadow tables
        report = await rebuild(conn, verify=True)
    # Then the workload was real (every event type, some refusals, rows left) …
    assert types == {
        "script.created",
        "script.updated",
        "script.deleted",
        "route.created",
        "route.deleted",
    }
    assert sum(refused) > 0
    assert all(counts[t] > 0 for t in counts), counts
    # … and every scripts table is identical to its live twin
    assert "scripts" in report.projections
    diffs = {t.table: t for t in report.tables if t.table in TABLES}
    assert set(diffs) == TABLES
    for diff in diffs.values():
        assert diff.identical, (diff.table, diff.sample)
        assert diff.live_rows == diff.shadow_rows
    async with pool.acquire() as conn:
        assert await scripts.list_routes_for_app(conn, doomed.id) == []
        assert await scripts.routes_version(conn, doomed.id) == 0


def test_script_and_route_events_round_trip_and_old_payloads_decode() -> None:
    events = [
        ScriptCreated(
            script_id="s", app_id="a", name="util", kind="module", source="", imports=["x"]
        ),
        ScriptUpdated(script_id="s", app_id="a", source="1", imports=[]),
        ScriptDeleted(script_id="s", app_id="a", name="util"),
        RouteCreated(route_id="r", app_id="a", script_id="s", method="GET", path="/"),
        RouteDeleted(route_id="r", app_id="a", script_id="s"),
    ]
    for event in events:
        assert decode_event(msgspec.json.encode(event)) == event
    # A payload written without the defaulted fields still decodes
    old = decode_event(
        b'{"type":"script.created","script_id":"s","app_id":"a","name":"m","kind":"module",'
        b'"source":""}'
    )
    assert isinstance(old, ScriptCreated) and old.imports == []
    route = decode_event(
        b'{"type":"route.created","route_id":"r","app_id":"a","script_id":"s","method":"GET",'
        b'"path":"/"}'
    )
    assert isinstance(route, RouteCreated) and route.dispatch_mode == "sync"


async def test_cli_rebuild_verify_covers_scripts_and_reports_a_tampered_route(
    pool: asyncpg.Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an app with a module, an endpoint importing it and a route
    async with pool.acquire() as conn:
        app = await apps.create_app(conn, CTX, "cli", "Cli")
        await scripts.create_script(conn, CTX, app.id, "util", "module", "fn f() { 1 }")
        s = await scripts.create_script(
            conn, CTX, app.id, "main", "endpoint", 'import "util" as u;'
        )
        await routes.create_route(conn, CTX, s.id, "GET", "/x", "sync")
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        # Then `picloud projections rebuild --verify` finds them identical
        assert await asyncio.to_thread(cli_main, ["projections", "rebuild", "--verify"]) == 0
        out = capsys.readouterr().out
        assert "routes" in out and "identical" in out
        # and when a live route row is changed behind the log's back, it says so
        async with pool.acquire() as conn:
            await conn.execute("UPDATE routes SET path = '/tampered'")
        assert await asyncio.to_thread(cli_main, ["projections", "rebuild", "--verify"]) == 1
        out = capsys.readouterr().out
        assert "routes" in out and "DIFFERS" in out
    finally:
        get_settings.cache_clear()
