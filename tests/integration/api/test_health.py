"""Liveness, readiness, request ids and the OpenAPI document."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.api import create_app
from picloud.settings import Settings
from tests.integration.api.conftest import API_BASE_URL, error_code


async def test_healthz_answers_ok(client: AsyncTestClient[Litestar]) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_readyz_is_ok_when_postgres_and_redis_answer(
    client: AsyncTestClient[Litestar],
) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_readyz_is_503_when_redis_is_unreachable(settings: Settings) -> None:
    # Given a Redis URL on a port where nothing listens
    app = create_app(settings.replace(redis_url="redis://127.0.0.1:1/0"))
    async with AsyncTestClient(app, base_url=API_BASE_URL) as client:
        # When readiness is asked
        r = await client.get("/readyz")
    # Then it is 503 dependency_unavailable, naming Redis
    assert r.status_code == 503
    assert error_code(r) == "dependency_unavailable"
    checks = r.json()["error"]["details"]["checks"]
    assert checks["postgres"] == "ok" and checks["redis"] != "ok"


async def test_readyz_is_503_when_postgres_is_gone(
    app: Litestar, database_url: str, postgres_url: str
) -> None:
    async with AsyncTestClient(app, base_url=API_BASE_URL) as client:
        assert (await client.get("/readyz")).status_code == 200
        # Given the server's database disappears under the running app
        admin = await asyncpg.connect(postgres_url)
        try:
            name = urlsplit(database_url).path.lstrip("/")
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        # Then readiness says so, with the stable code
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert error_code(r) == "dependency_unavailable"
        assert r.json()["error"]["details"]["checks"]["postgres"] != "ok"
        # And liveness is unaffected
        assert (await client.get("/healthz")).status_code == 200
        # And an API call is a retryable 503, not a 500
        r = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer pk_x"})
        assert (r.status_code, error_code(r)) == (503, "dependency_unavailable")


async def test_every_response_carries_a_request_id(client: AsyncTestClient[Litestar]) -> None:
    ok = await client.get("/healthz")
    missing = await client.get("/no/such/route")
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    junk = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(ok.headers["x-request-id"]) == 32
    assert len(missing.headers["x-request-id"]) == 32
    assert echoed.headers["x-request-id"] == "abc-123"
    assert junk.headers["x-request-id"] != "bad id\twith spaces"


async def test_openapi_document_lists_the_admin_api(client: AsyncTestClient[Litestar]) -> None:
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/admin/apps",
        "/api/v1/admin/apps/{app}",
        "/api/v1/admin/apps/{app}/members/{user_id}",
        "/api/v1/admin/apps/{app}/events",
        "/api/v1/admin/api-keys/{key_id}",
    ):
        assert path in paths
