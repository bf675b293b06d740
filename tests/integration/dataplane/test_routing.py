"""Reaching an app: by Host, by custom hostname, by ``/a/{slug}``; params, query, headers, bodies."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.dataplane.conftest import Deployer, error_of, host

ECHO = "ctx.request"
Client = AsyncTestClient[Litestar]


async def test_route_answers_by_host_and_by_prefix_with_the_same_app_path(
    client: Client, deploy: Deployer
) -> None:
    # Given an app with a route that echoes what it sees
    await deploy.app("shop")
    await deploy.endpoint(
        "shop",
        "GET",
        "/users/{id}",
        "#{path: ctx.request.path, id: ctx.request.params.id, app: ctx.app}",
    )
    # When it is called by Host and by the /a/{slug} prefix
    by_host = await client.get("/users/42", headers=host("shop"))
    by_prefix = await client.get("/a/shop/users/42")
    # Then both reach the same route with the same app-relative path
    assert by_host.status_code == by_prefix.status_code == 200
    assert by_host.json() == by_prefix.json()
    body = by_host.json()
    assert body["path"] == "/users/42" and body["id"] == "42"
    assert body["app"]["slug"] == "shop" and len(body["app"]["id"]) == 36


async def test_custom_hostname_reaches_the_app_on_any_path(
    client: Client, deploy: Deployer
) -> None:
    # Given an app with a custom hostname and a route on /healthz
    await deploy.app("blog", hostnames=["blog.example.com"])
    await deploy.endpoint("blog", "GET", "/healthz", '"the app\'s own healthz"')
    # When /healthz is called with that Host, the app answers, not the platform
    r = await client.get("/healthz", headers={"Host": "blog.example.com:8080"})
    assert r.status_code == 200 and r.json() == "the app's own healthz"
    # And the platform's /healthz still answers on the platform host
    r = await client.get("/healthz")
    assert r.json()["status"] == "ok"


async def test_host_match_wins_over_an_a_prefix_in_the_path(
    client: Client, deploy: Deployer
) -> None:
    # Given two apps, one of which has a route literally at /a/other/x
    await deploy.app("first")
    await deploy.app("other")
    await deploy.endpoint("first", "GET", "/a/other/x", '"first"')
    await deploy.endpoint("other", "GET", "/x", '"other"')
    # When the first app's Host is used, its own route answers
    r = await client.get("/a/other/x", headers=host("first"))
    assert r.json() == "first"
    # And on a platform host the prefix picks the other app
    assert (await client.get("/a/other/x")).json() == "other"


async def test_unknown_app_and_unknown_route_are_404_json(client: Client, deploy: Deployer) -> None:
    # Given one app with one GET route
    await deploy.app("known")
    await deploy.endpoint("known", "GET", "/here", "1")
    # Then an unknown slug (Host or prefix) is 404 app_not_found
    for r in (await client.get("/x", headers=host("nope")), await client.get("/a/nope/x")):
        assert r.status_code == 404
        assert error_of(r)["code"] == "app_not_found"
    # And an unknown path or method is 404 route_not_found
    for r in (await client.get("/a/known/elsewhere"), await client.post("/a/known/here")):
        assert r.status_code == 404
        assert error_of(r)["code"] == "route_not_found"


async def test_admin_api_is_untouched_on_platform_hosts(
    client: Client, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given an app
    await deploy.app("adm")
    # Then the admin API, /healthz and unknown admin paths behave as before
    r = await client.get("/api/v1/admin/apps/adm", headers=admin_headers)
    assert r.status_code == 200 and r.json()["slug"] == "adm"
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    # And an unknown custom host falls through to the platform too
    r = await client.get("/healthz", headers={"Host": "unknown.example.org"})
    assert r.status_code == 200 and r.json()["status"] == "ok"


async def test_literal_segments_win_over_parameters(client: Client, deploy: Deployer) -> None:
    # Given /users/{id} and /users/me
    await deploy.app("lit")
    await deploy.endpoint("lit", "GET", "/users/{id}", '"param " + ctx.request.params.id')
    await deploy.endpoint("lit", "GET", "/users/me", '"me"')
    await deploy.endpoint("lit", "GET", "/", '"root"')
    # Then the literal route answers /users/me, the parameter route the rest
    assert (await client.get("/a/lit/users/me")).json() == "me"
    assert (await client.get("/a/lit/users/7")).json() == "param 7"
    assert (await client.get("/a/lit/users/a%20b")).json() == "param a b"
    assert (await client.get("/a/lit")).json() == "root"
    assert (await client.get("/a/lit/users/7/")).json() == "param 7"


async def test_query_headers_and_json_body_reach_ctx(client: Client, deploy: Deployer) -> None:
    # Given a route echoing the request
    await deploy.app("echo")
    await deploy.endpoint("echo", "POST", "/in", ECHO)
    # When a JSON request with a query and headers arrives
    r = await client.post(
        "/a/echo/in?a=1&b=x&b=y&empty=",
        json={"n": 1, "f": 1.5, "s": "t", "list": [1, None], "nested": {"ok": True}},
        headers={"X-Custom": "Value", "Accept": "application/json"},
    )
    # Then ctx.request holds them, header names lower-cased
    assert r.status_code == 200, r.text
    req: dict[str, Any] = r.json()
    assert req["method"] == "POST" and req["path"] == "/in" and req["params"] == {}
    assert req["query"] == {"a": "1", "b": ["x", "y"], "empty": ""}
    assert req["headers"]["x-custom"] == "Value"
    assert all(k == k.lower() for k in req["headers"])
    assert req["body"] == {"n": 1, "f": 1.5, "s": "t", "list": [1, None], "nested": {"ok": True}}
    # body_raw is a Blob: it leaves as base64 of the exact bytes
    import base64

    assert base64.b64decode(req["body_raw"]) == r.request.content


async def test_non_json_body_is_text_and_body_raw_keeps_bytes(
    client: Client, deploy: Deployer
) -> None:
    # Given a route returning facts about the body
    await deploy.app("text")
    await deploy.endpoint(
        "text",
        "PUT",
        "/t",
        "let r = ctx.request; #{body: r.body, "
        "kind: type_of(r.body), raw_len: r.body_raw.len(), raw: type_of(r.body_raw)}",
    )
    # When a plain-text body is sent
    r = await client.put("/a/text/t", content="héllo wörld", headers={"Content-Type": "text/plain"})
    # Then body is the text and body_raw the UTF-8 bytes
    assert r.json() == {"body": "héllo wörld", "kind": "string", "raw_len": 13, "raw": "blob"}
    # And an empty body is ()
    r = await client.put("/a/text/t")
    assert r.json()["body"] is None and r.json()["raw_len"] == 0


async def test_bad_json_body_is_400_and_a_large_body_is_413(
    client: Client, deploy: Deployer
) -> None:
    # Given a route
    await deploy.app("bodies")
    await deploy.endpoint("bodies", "POST", "/b", "ctx.request.body")
    # When the body claims JSON but is not
    r = await client.post(
        "/a/bodies/b", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_json"
    # When the body is over PICLOUD_MAX_REQUEST_BODY_BYTES
    r = await client.post("/a/bodies/b", content=b"x" * (65 * 1024))
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"


async def test_updated_routes_are_seen_on_the_next_request(
    client: Client, deploy: Deployer
) -> None:
    # Given a route that has been called (so the route table is cached)
    await deploy.app("rt")
    await deploy.endpoint("rt", "GET", "/one", "1")
    assert (await client.get("/a/rt/one")).json() == 1
    assert (await client.get("/a/rt/two")).status_code == 404
    # When a second route is added
    await deploy.endpoint("rt", "GET", "/two", "2")
    # Then the next request sees it
    assert (await client.get("/a/rt/two")).json() == 2


async def test_lost_database_is_503_for_app_requests_and_health_still_answers(
    app: Litestar, database_url: str, postgres_url: str
) -> None:
    from urllib.parse import urlsplit

    import asyncpg

    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        assert (await client.get("/a/any/x")).status_code == 404
        # Given the database disappears under the running app
        admin = await asyncpg.connect(postgres_url)
        try:
            name = urlsplit(database_url).path.lstrip("/")
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        # Then an app request is a retryable 503, not a 500
        r = await client.get("/a/any/x")
        assert r.status_code == 503 and error_of(r)["code"] == "dependency_unavailable"
        # And /healthz (on a host that could be an app's) still answers
        assert (await client.get("/healthz")).status_code == 200


async def test_head_uses_the_get_route_without_a_body(client: Client, deploy: Deployer) -> None:
    await deploy.app("heady")
    await deploy.endpoint("heady", "GET", "/doc", "#{method: ctx.request.method}")
    r = await client.head("/a/heady/doc")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["content-length"]) == len(b'{"method":"HEAD"}')


async def test_async_route_answers_202_with_a_queued_job(
    client: Client, deploy: Deployer, pool: Any
) -> None:
    # Given a route switched to async dispatch (the admin API may still refuse
    # creating one directly; the data plane must serve it either way)
    app = await deploy.app()
    ep = await deploy.endpoint(app["slug"], "POST", "/jobs/{kind}", "ctx.request.body")
    await pool.execute(
        "UPDATE routes SET dispatch_mode = 'async' WHERE script_id = $1::uuid", ep["id"]
    )
    await pool.execute(
        "UPDATE app_routes_state SET last_position = last_position + 1 WHERE app_id = $1::uuid",
        app["id"],
    )
    # When it is called
    r = await client.post(f"/a/{app['slug']}/jobs/email?x=1", json={"to": "a@b.c"})
    # Then it answers 202 with a job id, and the job carries ctx.request
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    row = await pool.fetchrow("SELECT kind, payload FROM outbox WHERE job_id = $1::uuid", job_id)
    assert row is not None and row["kind"] == "route"
    request = row["payload"]["request"]
    assert request["params"] == {"kind": "email"} and request["query"] == {"x": "1"}
    assert request["body"] == {"to": "a@b.c"} and row["payload"]["script_id"] == ep["id"]
