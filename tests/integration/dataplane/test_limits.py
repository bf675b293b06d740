"""Runaway scripts answer their documented error quickly and never stall the event loop."""

from __future__ import annotations

import asyncio
import time

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.settings import Settings
from tests.integration._deploy import admin_login
from tests.integration.dataplane.conftest import TIMEOUT_MS, Deployer, error_of, make_app

Client = AsyncTestClient[Litestar]

LOOP = "let n = 0; loop { n += 1; }"
RECURSE = "fn down(x) { down(x + 1) } down(0)"
HUGE = 'let s = "x"; loop { s += s; }'


async def _healthz_while(client: httpx.AsyncClient, busy: asyncio.Future[object]) -> list[float]:
    """Latencies of /healthz probes made every 10 ms until ``busy`` is done."""
    latencies: list[float] = []
    while not busy.done():
        start = time.perf_counter()
        r = await client.get("/healthz")
        latencies.append(time.perf_counter() - start)
        assert r.status_code == 200
        await asyncio.sleep(0.01)
    return latencies


async def test_runaway_scripts_answer_quickly_while_healthz_keeps_answering(
    live: httpx.AsyncClient, live_deploy: Deployer
) -> None:
    # (A real server over loopback: the in-process test transport runs requests one by one.)
    client, deploy = live, live_deploy
    # Given an infinite loop, an infinite recursion and a string that doubles forever
    app = await deploy.app()
    slug = app["slug"]
    await deploy.endpoint(slug, "GET", "/loop", LOOP)
    await deploy.endpoint(slug, "GET", "/recurse", RECURSE)
    await deploy.endpoint(slug, "GET", "/huge", HUGE)
    await client.get("/healthz")  # warm up
    # When all three run at once while /healthz is probed
    started = time.perf_counter()
    runs = asyncio.gather(
        client.get(f"/a/{slug}/loop"),
        client.get(f"/a/{slug}/recurse"),
        client.get(f"/a/{slug}/huge"),
    )
    latencies = await _healthz_while(client, runs)
    loop_r, recurse_r, huge_r = await runs
    elapsed = time.perf_counter() - started
    # Then each answers its documented error
    assert loop_r.status_code == 504 and error_of(loop_r)["code"] == "script_timeout"
    assert recurse_r.status_code == 500
    assert error_of(recurse_r)["code"] == "script_limit"
    assert error_of(recurse_r)["details"]["limit"] == "call_depth"
    assert huge_r.status_code == 500
    assert error_of(huge_r)["code"] == "script_limit"
    assert error_of(huge_r)["details"]["limit"] == "data_size"
    # quickly: the loop ends at its wall-clock budget, the others long before
    assert elapsed < TIMEOUT_MS / 1000 + 1.5
    # And /healthz answered within 50 ms throughout
    assert len(latencies) >= 5
    assert max(latencies) < 0.05, sorted(round(x * 1000, 1) for x in latencies)[-8:]


async def test_recursion_and_huge_string_fail_fast(client: Client, deploy: Deployer) -> None:
    # Given the two limits that are not the wall clock
    app = await deploy.app()
    await deploy.endpoint(app["slug"], "GET", "/recurse", RECURSE)
    await deploy.endpoint(app["slug"], "GET", "/huge", HUGE)
    for path in ("/recurse", "/huge"):
        start = time.perf_counter()
        r = await client.get(f"/a/{app['slug']}{path}")
        # Then each fails well before the time budget
        assert time.perf_counter() - start < 0.5
        assert error_of(r)["code"] == "script_limit"


async def test_a_limit_cannot_be_caught_by_the_script(client: Client, deploy: Deployer) -> None:
    # Given a script that tries to swallow its own runaway loop
    app = await deploy.app()
    await deploy.endpoint(
        app["slug"], "GET", "/swallow", 'try { loop { } } catch (e) { return "caught"; } "after"'
    )
    r = await client.get(f"/a/{app['slug']}/swallow")
    # Then the limit still ends the run
    assert r.status_code == 504 and error_of(r)["code"] == "script_timeout"


async def test_operation_limit_is_script_limit(dp_settings: Settings) -> None:
    # Given a process with PICLOUD_SCRIPT_MAX_OPERATIONS set low
    app = make_app(dp_settings.replace(script_max_operations=10_000))
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
        deploy = Deployer(client, await admin_login(client))
        created = await deploy.app()
        await deploy.endpoint(created["slug"], "GET", "/busy", LOOP)
        await deploy.endpoint(
            created["slug"], "GET", "/small", "let n = 0; for i in 0..100 { n += i; } n"
        )
        # When a loop runs past it
        r = await client.get(f"/a/{created['slug']}/busy")
        # Then it is 500 script_limit (operations), and a small script still runs
        assert r.status_code == 500
        assert error_of(r)["details"]["limit"] == "operations"
        assert (await client.get(f"/a/{created['slug']}/small")).json() == 4950
