"""``import "<name>"``: the calling app's modules only, cycles and depth refused, never stale."""

from __future__ import annotations

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.settings import Settings
from tests.integration.dataplane.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Deployer,
    error_of,
    host,
    make_app,
)

Client = AsyncTestClient[Litestar]

GREET = 'export const GREETING = "hello";\nfn greet(name) { global::GREETING + ", " + name }'


async def test_endpoint_imports_a_module_of_its_app(client: Client, deploy: Deployer) -> None:
    # Given a module and an endpoint importing it
    app = await deploy.app()
    await deploy.script(app["slug"], "greeting", GREET, kind="module")
    await deploy.endpoint(
        app["slug"],
        "GET",
        "/hi/{name}",
        'import "greeting" as g;\n#{text: g::greet(ctx.request.params.name), c: g::GREETING}',
    )
    # When the route is called
    r = await client.get("/hi/ada", headers=host(app["slug"]))
    # Then the module's function and constant are used
    assert r.status_code == 200, r.text
    assert r.json() == {"text": "hello, ada", "c": "hello"}


async def test_modules_import_modules_and_use_the_stdlib(client: Client, deploy: Deployer) -> None:
    # Given a module importing another module and calling stdlib namespaces
    app = await deploy.app()
    slug = app["slug"]
    await deploy.script(slug, "base", "fn twice(x) { x * 2 }", kind="module")
    await deploy.script(
        slug,
        "util",
        'import "base" as b;\n'
        "fn shout(s) { s.to_upper() }\n"
        "fn enc(v) { base64::encode(json::stringify(v)) }\n"
        "fn four(x) { b::twice(b::twice(x)) }",
        kind="module",
    )
    await deploy.endpoint(
        slug,
        "GET",
        "/x",
        'import "util" as u;\n#{s: u::shout("a"), n: u::four(3), '
        'e: u::enc(#{k: 1}), h: hex::encode("hi")}',
    )
    r = await client.get(f"/a/{slug}/x")
    assert r.status_code == 200, r.text
    assert r.json() == {"s": "A", "n": 12, "e": "eyJrIjoxfQ==", "h": "6869"}


async def test_app_b_cannot_import_app_a_modules(client: Client, deploy: Deployer) -> None:
    # Given app A with a module and app B with an endpoint importing that name
    a = await deploy.app()
    b = await deploy.app()
    await deploy.script(a["slug"], "secret", 'fn value() { "A only" }', kind="module")
    await deploy.endpoint(b["slug"], "GET", "/steal", 'import "secret" as s; s::value()')
    await deploy.endpoint(a["slug"], "GET", "/own", 'import "secret" as s; s::value()')
    # Then A's endpoint reaches it and B's gets a module-not-found script error
    assert (await client.get(f"/a/{a['slug']}/own")).json() == "A only"
    r = await client.get(f"/a/{b['slug']}/steal")
    err = error_of(r)
    assert r.status_code == 500 and err["code"] == "script_error"
    assert "secret" in err["message"] and err["details"]["error"] == "ErrorModuleNotFound"
    # And B cannot reach A's routes either
    r = await client.get("/own", headers=host(b["slug"]))
    assert r.status_code == 404 and error_of(r)["code"] == "route_not_found"


async def test_circular_import_is_a_script_error_naming_the_cycle(
    client: Client, deploy: Deployer
) -> None:
    # Given modules ping -> pong -> ping
    app = await deploy.app()
    await deploy.script(app["slug"], "ping", 'import "pong" as p;\nfn f() { 1 }', kind="module")
    await deploy.script(app["slug"], "pong", 'import "ping" as p;\nfn g() { 2 }', kind="module")
    await deploy.endpoint(app["slug"], "GET", "/c", 'import "ping" as p; p::f()')
    # When the endpoint runs
    r = await client.get(f"/a/{app['slug']}/c")
    # Then it fails clearly, naming the cycle
    err = error_of(r)
    assert r.status_code == 500 and err["code"] == "script_error"
    assert err["message"] == "Circular import: ping -> pong -> ping"


async def test_import_deeper_than_the_limit_is_a_script_error(
    client: Client, deploy: Deployer
) -> None:
    # Given a chain m1 -> m2 -> ... -> m9 (nine modules; the default limit is 8)
    app = await deploy.app()
    slug = app["slug"]
    await deploy.script(slug, "m9", "fn v() { 9 }", kind="module")
    for i in range(8, 0, -1):
        await deploy.script(
            slug, f"m{i}", f'import "m{i + 1}" as n;\nfn v() {{ n::v() }}', kind="module"
        )
    await deploy.endpoint(slug, "GET", "/eight", 'import "m2" as m; m::v()')
    await deploy.endpoint(slug, "GET", "/nine", 'import "m1" as m; m::v()')
    # Then a chain of eight imports works
    r = await client.get(f"/a/{slug}/eight")
    assert r.status_code == 200 and r.json() == 9
    # And a chain of nine fails naming the depth limit
    r = await client.get(f"/a/{slug}/nine")
    err = error_of(r)
    assert r.status_code == 500 and err["code"] == "script_error"
    assert "depth limit" in err["message"] and "m1 -> m2" in err["message"]
    assert "deeper than 8" in err["message"]


async def test_module_runtime_error_names_the_module_and_its_line(
    client: Client, deploy: Deployer
) -> None:
    app = await deploy.app()
    await deploy.script(app["slug"], "broken", "fn f(x) {\n    x / 0\n}", kind="module")
    await deploy.endpoint(app["slug"], "GET", "/b", 'import "broken" as b;\nb::f(1)')
    err = error_of(await client.get(f"/a/{app['slug']}/b"))
    assert err["code"] == "script_error" and "Division by zero" in err["message"]
    assert err["details"]["line"] == 2


async def test_module_shape_is_checked_again_at_load(
    client: Client, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given a valid module that a direct database write turns into executable code
    app = await deploy.app()
    mod = await deploy.script(app["slug"], "sneaky", "fn f() { 1 }", kind="module")
    await deploy.endpoint(app["slug"], "GET", "/s", 'import "sneaky" as s; s::f()')
    assert (await client.get(f"/a/{app['slug']}/s")).json() == 1
    await pool.execute(
        "UPDATE scripts SET source = $2, version = version + 1 WHERE id = $1::uuid",
        mod["id"],
        "let side_effect = 1;\nfn f() { 2 }",
    )
    # When the endpoint runs again
    r = await client.get(f"/a/{app['slug']}/s")
    # Then the resolver refuses the module
    err = error_of(r)
    assert r.status_code == 500 and err["code"] == "script_error"
    assert "not a valid module" in err["message"]


async def test_updated_module_and_endpoint_are_served_at_once(
    client: Client, deploy: Deployer
) -> None:
    # Given an endpoint using a module, called once so both are cached
    app = await deploy.app()
    slug = app["slug"]
    mod = await deploy.script(slug, "ver", 'fn v() { "v1" }', kind="module")
    ep = await deploy.endpoint(slug, "GET", "/v", 'import "ver" as m; "ep1:" + m::v()')
    assert (await client.get(f"/a/{slug}/v")).json() == "ep1:v1"
    # When the module is updated, the next request sees it
    await deploy.update(mod["id"], 'fn v() { "v2" }')
    assert (await client.get(f"/a/{slug}/v")).json() == "ep1:v2"
    # When the endpoint is updated, too
    await deploy.update(ep["id"], 'import "ver" as m; "ep2:" + m::v()')
    assert (await client.get(f"/a/{slug}/v")).json() == "ep2:v2"


async def test_second_process_never_serves_a_stale_module(dp_settings: Settings) -> None:
    # Given two server instances (separate caches) on one database
    first, second = make_app(dp_settings), make_app(dp_settings)
    async with (
        AsyncTestClient(first, base_url="http://127.0.0.1") as c1,
        AsyncTestClient(second, base_url="http://127.0.0.1") as c2,
    ):
        r = await c1.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        deploy = Deployer(c1, {"Authorization": f"Bearer {r.json()['token']}"})
        app = await deploy.app()
        slug = app["slug"]
        mod = await deploy.script(slug, "shared", 'fn v() { "old" }', kind="module")
        await deploy.endpoint(slug, "GET", "/v", 'import "shared" as m; m::v()')
        # Both processes have served (and cached) the old code
        assert (await c1.get(f"/a/{slug}/v")).json() == "old"
        assert (await c2.get(f"/a/{slug}/v")).json() == "old"
        # When the module is updated through the first process
        await deploy.update(mod["id"], 'fn v() { "new" }')
        # Then the second process serves the new code on its next request
        assert (await c2.get(f"/a/{slug}/v")).json() == "new"
        assert (await c1.get(f"/a/{slug}/v")).json() == "new"
        # And the second process's cache now holds the module's new version only
        plane = second.state.dataplane
        assert plane.modules.version_of(mod["id"]) == 2
