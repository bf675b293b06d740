"""A script's value becomes the response; its errors become JSON errors with stable codes."""

from __future__ import annotations

import base64

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.dataplane.conftest import Deployer, error_of

Client = AsyncTestClient[Litestar]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "#{ok: true, n: 1, f: 2.5, s: \"x\", list: [1, (), 'c']}",
            {"ok": True, "n": 1, "f": 2.5, "s": "x", "list": [1, None, "c"]},
        ),
        ("[1, 2, 3]", [1, 2, 3]),
        ('"just a string"', "just a string"),
        ("42", 42),
        ("false", False),
        ("let b = blob(3, 0x41); b", base64.b64encode(b"AAA").decode()),
        ('#{status: "ok", items: []}', {"status": "ok", "items": []}),
        # A status map with other keys is data, not a response description.
        ("#{status: 201, items: [1]}", {"status": 201, "items": [1]}),
    ],
)
async def test_any_other_value_is_200_json(
    client: Client, deploy: Deployer, source: str, expected: object
) -> None:
    # Given a route returning a plain value
    app = await deploy.app()
    await deploy.endpoint(app["slug"], "GET", "/v", source)
    # Then it is 200 with the value as JSON
    r = await client.get(f"/a/{app['slug']}/v")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == expected


async def test_unit_is_204_without_body(client: Client, deploy: Deployer) -> None:
    app = await deploy.app()
    await deploy.endpoint(app["slug"], "DELETE", "/x", "let a = 1;")
    r = await client.delete(f"/a/{app['slug']}/x")
    assert r.status_code == 204 and r.content == b""


async def test_status_map_sets_status_headers_and_body(client: Client, deploy: Deployer) -> None:
    # Given routes returning explicit responses
    app = await deploy.app()
    slug = app["slug"]
    await deploy.endpoint(
        slug,
        "POST",
        "/created",
        '#{status: 201, body: #{id: 7}, headers: #{"Location": "/things/7"}}',
    )
    await deploy.endpoint(slug, "GET", "/text", '#{status: 200, body: "plain"}')
    await deploy.endpoint(
        slug,
        "GET",
        "/html",
        '#{status: 200, body: "<b>hi</b>", headers: #{"content-type": "text/html"}}',
    )
    await deploy.endpoint(slug, "GET", "/bytes", "#{status: 200, body: blob(2, 0xff)}")
    await deploy.endpoint(slug, "GET", "/teapot", "#{status: 418}")
    await deploy.endpoint(slug, "GET", "/nocontent", '#{status: 204, body: "ignored"}')
    # Then each is sent as described
    r = await client.post(f"/a/{slug}/created")
    assert r.status_code == 201 and r.json() == {"id": 7}
    assert r.headers["location"] == "/things/7"
    r = await client.get(f"/a/{slug}/text")
    assert r.text == "plain" and r.headers["content-type"].startswith("text/plain")
    r = await client.get(f"/a/{slug}/html")
    assert r.text == "<b>hi</b>" and r.headers["content-type"] == "text/html"
    r = await client.get(f"/a/{slug}/bytes")
    assert r.content == b"\xff\xff" and r.headers["content-type"] == "application/octet-stream"
    r = await client.get(f"/a/{slug}/teapot")
    assert r.status_code == 418 and r.content == b""
    r = await client.get(f"/a/{slug}/nocontent")
    assert r.status_code == 204 and r.content == b""
    # And every response carries the request id
    assert r.headers["x-request-id"]


async def test_bad_response_map_is_a_script_error(client: Client, deploy: Deployer) -> None:
    app = await deploy.app()
    await deploy.endpoint(app["slug"], "GET", "/s", "#{status: 99}")
    await deploy.endpoint(app["slug"], "GET", "/h", '#{status: 200, headers: #{"bad name": "x"}}')
    for path in ("/s", "/h"):
        r = await client.get(f"/a/{app['slug']}{path}")
        assert r.status_code == 500 and error_of(r)["code"] == "script_error"


async def test_thrown_status_map_answers_that_status(client: Client, deploy: Deployer) -> None:
    # Given scripts that throw status maps
    app = await deploy.app()
    slug = app["slug"]
    await deploy.endpoint(
        slug,
        "GET",
        "/missing/{id}",
        'throw #{status: 404, message: "no user " + ctx.request.params.id}',
    )
    await deploy.endpoint(
        slug,
        "GET",
        "/custom",
        'throw #{status: 402, message: "pay up", code: "payment_required", '
        'details: #{plan: "free"}}',
    )
    await deploy.endpoint(
        slug, "GET", "/gate", 'if ctx.principal == () { throw #{status: 401, message: "login"} } 1'
    )
    # Then the status, a derived or explicit code and the message come back
    r = await client.get(f"/a/{slug}/missing/9")
    assert r.status_code == 404
    assert error_of(r) == {"code": "not_found", "message": "no user 9"}
    r = await client.get(f"/a/{slug}/custom")
    assert r.status_code == 402
    assert error_of(r) == {
        "code": "payment_required",
        "message": "pay up",
        "details": {"plan": "free"},
    }
    r = await client.get(f"/a/{slug}/gate")
    assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"


async def test_other_errors_are_script_error_with_message_and_line(
    client: Client, deploy: Deployer
) -> None:
    # Given scripts failing at known lines
    app = await deploy.app()
    slug = app["slug"]
    await deploy.endpoint(slug, "GET", "/div", "let a = 1;\nlet b = 0;\nlet c = a / b;\nc")
    await deploy.endpoint(slug, "GET", "/fn", "fn helper(x) {\n    x.nope()\n}\n\nhelper(1)")
    await deploy.endpoint(slug, "GET", "/str", 'let x = 1;\nthrow "plain failure"')
    await deploy.endpoint(slug, "GET", "/ctx", "ctx.request = 1; 2")
    # Then each is 500 script_error with the message and the line it failed on
    r = await client.get(f"/a/{slug}/div")
    err = error_of(r)
    assert r.status_code == 500 and err["code"] == "script_error"
    assert "Division by zero" in err["message"]
    assert err["details"]["line"] == 3 and err["details"]["column"] > 0
    r = await client.get(f"/a/{slug}/fn")
    err = error_of(r)
    assert err["code"] == "script_error" and "nope" in err["message"]
    assert err["details"]["line"] == 2
    r = await client.get(f"/a/{slug}/str")
    err = error_of(r)
    assert err["message"] == "plain failure" and err["details"]["line"] == 2
    # ctx is a constant: scripts cannot replace it
    r = await client.get(f"/a/{slug}/ctx")
    assert error_of(r)["code"] == "script_error"
    # And no Python text leaks into any of them
    for path in ("/div", "/fn", "/str", "/ctx"):
        text = (await client.get(f"/a/{slug}{path}")).text
        assert "Traceback" not in text and ".py" not in text and "Error:" not in text


async def test_stored_source_that_does_not_compile_is_a_script_error_with_position(
    client: Client, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given an endpoint whose stored source a direct database write broke
    app = await deploy.app()
    ep = await deploy.endpoint(app["slug"], "GET", "/p", "1")
    assert (await client.get(f"/a/{app['slug']}/p")).json() == 1
    await pool.execute(
        "UPDATE scripts SET source = $2, version = version + 1 WHERE id = $1::uuid",
        ep["id"],
        "let x = 1;\nlet = ;",
    )
    # Then the next request reports the parse error and where it is
    err = error_of(await client.get(f"/a/{app['slug']}/p"))
    assert err["code"] == "script_error" and err["details"]["error"] == "ErrorParsing"
    assert err["details"]["line"] == 2


async def test_print_and_log_go_to_the_server_log_not_the_response(
    client: Client, deploy: Deployer
) -> None:
    app = await deploy.app()
    await deploy.endpoint(app["slug"], "GET", "/l", 'print("p"); debug("d"); log::info("i"); 7')
    r = await client.get(f"/a/{app['slug']}/l")
    assert r.status_code == 200 and r.json() == 7
