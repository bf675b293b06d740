"""Bad input gets a clear error with a stable code, and writes nothing to the log."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from tests.integration.api.conftest import API_BASE_URL, BODY_LIMIT, Seed, error_code

APPS = "/api/v1/admin/apps"


async def _unchanged(
    client: AsyncTestClient[Litestar],
    seed: Seed,
    method: str,
    path: str,
    headers: dict[str, str],
    **kwargs: Any,
) -> Any:
    """Send one request and check the event count did not move."""
    before = await seed.event_count()
    r = await client.request(method, path, headers=headers, **kwargs)
    assert await seed.event_count() == before, f"{method} {path} appended events: {r.text}"
    return r


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", APPS),
        ("PATCH", APPS + "/shop"),
        ("PUT", APPS + "/shop/members/00000000-0000-0000-0000-000000000000"),
        ("POST", "/api/v1/admin/api-keys"),
        ("POST", "/api/v1/admin/users"),
        ("POST", "/api/v1/auth/login"),
    ],
)
async def test_malformed_json_is_400_invalid_json(
    method: str,
    path: str,
    client: AsyncTestClient[Litestar],
    seed: Seed,
    admin_headers: dict[str, str],
) -> None:
    await seed.app("shop")
    headers = {**admin_headers, "content-type": "application/json"}
    r = await _unchanged(client, seed, method, path, headers, content=b'{"slug": "x",')
    assert r.status_code == 400
    assert error_code(r) == "invalid_json"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", APPS, {"slug": "a", "name": "A", "colour": "red"}, "colour"),
        ("PATCH", APPS + "/shop", {"owner": "me"}, "owner"),
        ("POST", "/api/v1/admin/api-keys", {"name": "k", "scopes": ["app:read"], "x": 1}, "x"),
        ("POST", "/api/v1/auth/login", {"email": "a@b.io", "password": "p", "otp": 1}, "otp"),
    ],
)
async def test_unknown_fields_are_400_naming_the_field(
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    client: AsyncTestClient[Litestar],
    seed: Seed,
    admin_headers: dict[str, str],
) -> None:
    await seed.app("shop")
    r = await _unchanged(client, seed, method, path, admin_headers, json=body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_input"
    assert r.json()["error"]["details"]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": 5, "name": "A"}, "slug"),
        ({"slug": "a", "name": ["A"]}, "name"),
        ({"slug": "a", "name": "A", "hostnames": "a.example.com"}, "hostnames"),
        ({"slug": "a", "name": "A", "hostnames": [1]}, "hostnames[0]"),
        ({"name": "A"}, "slug"),
        ([], None),
    ],
)
async def test_wrong_types_and_missing_fields_are_400_naming_the_field(
    body: Any,
    field: str | None,
    client: AsyncTestClient[Litestar],
    seed: Seed,
    admin_headers: dict[str, str],
) -> None:
    r = await _unchanged(client, seed, "POST", APPS, admin_headers, json=body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_input"
    if field is not None:
        assert r.json()["error"]["details"]["field"] == field
        assert field.split("[")[0] in r.json()["error"]["message"]


async def test_oversized_body_is_413_by_content_length(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    big = b'{"slug": "big", "name": "' + b"x" * (BODY_LIMIT + 1) + b'"}'
    r = await _unchanged(client, seed, "POST", APPS, admin_headers, content=big)
    assert r.status_code == 413
    assert error_code(r) == "payload_too_large"


async def test_oversized_streamed_body_is_413_before_it_is_all_read(app: Litestar) -> None:
    # Given the app behind a real server (the test transport buffers bodies)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # When a chunked body (no Content-Length) grows past the limit and never ends
        writer.write(
            b"POST /api/v1/admin/apps HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer pk_whatever\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 1024
        for _ in range(BODY_LIMIT // 1024 + 4):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        # Then the server answers 413 without waiting for the rest of the body
        status = await asyncio.wait_for(reader.readline(), timeout=5)
        assert status.startswith(b"HTTP/1.1 413"), status
        writer.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@pytest.mark.parametrize(
    "slug",
    [
        "Shop",
        "-shop",
        "shop-",
        "sh_op",
        "",
        "a" * 64,
        "shop.app",
        "5f0c6f5e-3a57-4d5b-9b5e-0c9f0b8e2a11",
    ],
)
async def test_bad_slugs_are_400(
    slug: str, client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    r = await _unchanged(
        client, seed, "POST", APPS, admin_headers, json={"slug": slug, "name": "S"}
    )
    assert r.status_code == 400, r.text
    assert error_code(r) == "invalid_input"
    assert r.json()["error"]["details"]["field"] == "slug"


@pytest.mark.parametrize(
    ("hostnames", "field"),
    [
        (["bad host.com"], "hostnames[0]"),
        (["ok.example.com", "a..b"], "hostnames[1]"),
        (["dup.example.com", "DUP.example.com"], "hostnames[1]"),
        (["-x.example.com"], "hostnames[0]"),
        # Subdomains of the base domain ("localhost" by default) are reached by slug.
        (["ok.example.com", "other.localhost"], "hostnames[1]"),
        (["localhost"], "hostnames[0]"),
    ],
)
async def test_bad_hostnames_are_400(
    hostnames: list[str],
    field: str,
    client: AsyncTestClient[Litestar],
    seed: Seed,
    admin_headers: dict[str, str],
) -> None:
    body = {"slug": "shop", "name": "S", "hostnames": hostnames}
    r = await _unchanged(client, seed, "POST", APPS, admin_headers, json=body)
    assert r.status_code == 400
    assert r.json()["error"]["details"]["field"] == field


async def test_duplicate_slug_is_409(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await seed.app("shop")
    other = await seed.app("other")
    r = await _unchanged(
        client, seed, "POST", APPS, admin_headers, json={"slug": "shop", "name": "S"}
    )
    assert r.status_code == 409
    assert error_code(r) == "duplicate_slug"
    r = await _unchanged(
        client, seed, "PATCH", f"{APPS}/{other.slug}", admin_headers, json={"slug": "shop"}
    )
    assert r.status_code == 409
    assert error_code(r) == "duplicate_slug"


async def test_duplicate_hostname_is_409_across_apps(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await seed.app("shop", ["shop.example.com"])
    other = await seed.app("other")
    body = {"slug": "new", "name": "N", "hostnames": ["SHOP.example.com"]}
    r = await _unchanged(client, seed, "POST", APPS, admin_headers, json=body)
    assert r.status_code == 409
    assert error_code(r) == "duplicate_hostname"
    r = await _unchanged(
        client,
        seed,
        "PATCH",
        f"{APPS}/{other.id}",
        admin_headers,
        json={"hostnames": ["shop.example.com"]},
    )
    assert r.status_code == 409
    assert error_code(r) == "duplicate_hostname"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": "k", "scopes": []}, "invalid_input", "scopes"),
        ({"name": "k", "scopes": ["app:everything"]}, "invalid_input", "scopes"),
        ({"name": "", "scopes": ["app:read"]}, "invalid_input", "name"),
        (
            {"name": "k", "scopes": ["app:read"], "expires_at": "2001-01-01T00:00:00Z"},
            "invalid_input",
            "expires_at",
        ),
        (
            {"name": "k", "scopes": ["app:read"], "expires_at": "tomorrow"},
            "invalid_input",
            "expires_at",
        ),
        ({"name": "k", "scopes": ["instance:admin"], "app": "shop"}, "invalid_input", "scopes"),
    ],
)
async def test_bad_api_key_requests_are_400(
    body: dict[str, Any],
    code: str,
    field: str,
    client: AsyncTestClient[Litestar],
    seed: Seed,
    admin_headers: dict[str, str],
) -> None:
    await seed.app("shop")
    r = await _unchanged(client, seed, "POST", "/api/v1/admin/api-keys", admin_headers, json=body)
    assert r.status_code == 400, r.text
    assert error_code(r) == code
    assert r.json()["error"]["details"]["field"] == field


async def test_key_for_an_unknown_app_is_404(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    body = {"name": "k", "scopes": ["app:read"], "app": "nowhere"}
    r = await _unchanged(client, seed, "POST", "/api/v1/admin/api-keys", admin_headers, json=body)
    assert r.status_code == 404


async def test_bad_member_requests(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    app = await seed.app("shop")
    user = await seed.user()
    path = f"{APPS}/shop/members/{user.id}"
    r = await _unchanged(client, seed, "PUT", path, admin_headers, json={"role": "owner"})
    assert (r.status_code, error_code(r)) == (400, "invalid_input")
    r = await _unchanged(
        client,
        seed,
        "PUT",
        f"{APPS}/shop/members/not-a-user",
        admin_headers,
        json={"role": "viewer"},
    )
    assert (r.status_code, error_code(r)) == (404, "not_found")
    r = await _unchanged(client, seed, "DELETE", path, admin_headers)
    assert (r.status_code, error_code(r)) == (404, "not_found")
    assert app.slug == "shop"


@pytest.mark.parametrize("query", ["after=-1", "limit=0", "limit=5000", "limit=abc"])
async def test_bad_event_queries_are_400(
    query: str, client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await seed.app("shop")
    r = await client.get(f"{APPS}/shop/events?{query}", headers=admin_headers)
    assert r.status_code == 400
    assert error_code(r) == "invalid_input"
    assert r.json()["error"]["details"]["field"] == query.split("=")[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "password-123"}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
    ],
)
async def test_bad_users_are_400(
    body: dict[str, Any],
    field: str,
    client: AsyncTestClient[Litestar],
    seed: Seed,
    admin_headers: dict[str, str],
) -> None:
    r = await _unchanged(client, seed, "POST", "/api/v1/admin/users", admin_headers, json=body)
    assert r.status_code == 400
    assert r.json()["error"]["details"]["field"] == field


async def test_duplicate_email_is_409(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await seed.user("taken@example.com")
    body = {"email": "Taken@Example.com", "password": "password-123"}
    r = await _unchanged(client, seed, "POST", "/api/v1/admin/users", admin_headers, json=body)
    assert (r.status_code, error_code(r)) == (409, "duplicate_email")


async def test_unknown_route_and_wrong_method_use_the_error_shape(
    client: AsyncTestClient[Litestar],
) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert (r.status_code, error_code(r)) == (404, "not_found")
    r = await client.put("/healthz")
    assert (r.status_code, error_code(r)) == (405, "method_not_allowed")


async def test_unexpected_errors_are_500_without_internals(app: Litestar) -> None:
    @get("/test-only/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail at /srv/picloud/x.py")

    app.register(boom)
    async with AsyncTestClient(app, base_url=API_BASE_URL) as client:
        r = await client.get("/test-only/boom")
    assert r.status_code == 500
    assert error_code(r) == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text and ".py" not in r.text
    assert r.json()["error"]["details"]["request_id"] == r.headers["x-request-id"]
