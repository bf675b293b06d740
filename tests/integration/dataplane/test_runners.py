"""Both script runners (PICLOUD_SCRIPT_RUNNER) serve the same scripts the same way."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from picloud.execution.pool import ScriptPool
from picloud.execution.reactor import ScriptReactor
from picloud.settings import Settings
from tests.integration._deploy import admin_login
from tests.integration.dataplane.conftest import Deployer, error_of, make_app

COUNTER = """
let c = kv::collection("stats");
let n = (c.get("hits") ?? 0) + 1;
c.set("hits", n);
n
"""
SLOW_QUERY = """
let c = docs::collection("slow");
c.create(#{ n: 1 });
c.find(#{ n: 1 }).len()
"""


@pytest.mark.parametrize("runner", ["reactor", "threads"])
async def test_each_runner_keeps_state_and_ends_runaways(
    dp_settings: Settings, runner: str
) -> None:
    # Given a process whose sync routes run on the chosen runner
    app = make_app(dp_settings.replace(script_runner=runner))
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
        deploy = Deployer(client, await admin_login(client))
        slug = (await deploy.app())["slug"]
        await deploy.endpoint(slug, "GET", "/count", COUNTER)
        await deploy.endpoint(slug, "GET", "/docs", SLOW_QUERY)
        await deploy.endpoint(slug, "GET", "/loop", "let n = 0; loop { n += 1; }")
        plane = app.state["dataplane"]
        expected = ScriptReactor if runner == "reactor" else ScriptPool
        assert type(plane.pool) is expected
        # When a counter is hit three times
        hits = [(await client.get(f"/a/{slug}/count")).json() for _ in range(3)]
        # Then every run saw the writes before it
        assert hits == [1, 2, 3]
        # And documents work there too
        assert (await client.get(f"/a/{slug}/docs")).json() == 1
        # And a runaway script ends with 504 script_timeout
        r = await client.get(f"/a/{slug}/loop")
        assert r.status_code == 504 and error_of(r)["code"] == "script_timeout"
