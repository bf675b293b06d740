"""Login, logout, me; API keys shown once and stored only as a hash; bootstrap admin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.api import create_app
from picloud.errors import ConfigError
from picloud.services import identity
from picloud.settings import Settings
from tests.integration.api.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    API_BASE_URL,
    Seed,
    bearer,
    error_code,
)

KEYS = "/api/v1/admin/api-keys"


async def test_login_me_logout(client: AsyncTestClient[Litestar], seed: Seed) -> None:
    # When the bootstrap admin logs in (email is case-insensitive)
    r = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    headers = bearer(body["token"])
    # Then me describes the user
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    assert (me["kind"], me["email"], me["instance_admin"]) == ("user", ADMIN_EMAIL, True)
    # When they log out, the token is refused from the next request on
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    r = await client.get("/api/v1/auth/me", headers=headers)
    assert (r.status_code, error_code(r)) == (401, "invalid_token")


async def test_wrong_password_and_unknown_email_look_the_same(
    client: AsyncTestClient[Litestar], seed: Seed
) -> None:
    before = await seed.event_count()
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "not-it-at-all"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever-1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert error_code(wrong) == "invalid_credentials"
    assert await seed.event_count() == before


async def test_sessions_expire(settings: Settings, seed: Seed) -> None:
    # Given a session whose lifetime is one second
    app = create_app(
        settings.replace(
            session_ttl_seconds=1,
            bootstrap_admin_email=ADMIN_EMAIL,
            bootstrap_admin_password=ADMIN_PASSWORD,
        )
    )
    async with AsyncTestClient(app, base_url=API_BASE_URL) as client:
        r = await client.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        headers = bearer(r.json()["token"])
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
        expires = datetime.fromisoformat(r.json()["expires_at"])
        # When it has passed
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
        r = await client.get("/api/v1/auth/me", headers=headers)
    # Then the token is refused as expired
    assert (r.status_code, error_code(r)) == (401, "token_expired")


async def test_a_key_is_shown_once_and_stored_only_hashed(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    await seed.app("shop")
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    r = await client.post(
        KEYS,
        headers=admin_headers,
        json={
            "name": "ci",
            "scopes": ["app:read", "events:read"],
            "app": "shop",
            "expires_at": expires.isoformat(),
        },
    )
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith("pk_") and len(key) > 40
    assert created["prefix"] == key[:10]
    assert created["scopes"] == ["app:read", "events:read"]
    # The key works, and it is nowhere in the database, in read models or the log
    assert (await client.get("/api/v1/admin/apps/shop", headers=bearer(key))).status_code == 200
    async with seed.pool.acquire() as conn:
        dump = await conn.fetchval(
            "SELECT string_agg(t::text, ' ') FROM (SELECT data::text || meta::text AS t FROM events"
            " UNION ALL SELECT row_to_json(k)::text FROM api_keys k) s"
        )
    assert key not in dump and key[3:] not in dump
    # Listing and fetching never show it again
    listed = (await client.get(KEYS, headers=admin_headers)).json()
    one = (await client.get(f"{KEYS}/{created['id']}", headers=admin_headers)).json()
    assert all("key" not in k for k in listed) and "key" not in one
    assert one["id"] == created["id"] and one["expires_at"] is not None


async def test_revoked_key_is_gone(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    key = await seed.key(["app:read"])
    assert (await client.delete(f"{KEYS}/{key.id}", headers=admin_headers)).status_code == 204
    assert (await client.get(f"{KEYS}/{key.id}", headers=admin_headers)).status_code == 404
    r = await client.delete(f"{KEYS}/{key.id}", headers=admin_headers)
    assert (r.status_code, error_code(r)) == (404, "not_found")
    async with seed.pool.acquire() as conn:
        types = [
            r["type"]
            for r in await conn.fetch(
                "SELECT type FROM events WHERE stream = $1 ORDER BY version", f"api_key-{key.id}"
            )
        ]
    assert types == ["api_key.created", "api_key.revoked"]


async def test_an_api_key_reports_itself_on_me(
    client: AsyncTestClient[Litestar], seed: Seed
) -> None:
    app = await seed.app("shop")
    key = await seed.key(["script:read", "app:read"], app_id=app.id)
    me = (await client.get("/api/v1/auth/me", headers=bearer(key.key))).json()
    assert me["kind"] == "api_key"
    assert (me["id"], me["scopes"], me["app_id"]) == (key.id, ["app:read", "script:read"], app.id)


async def test_bootstrap_admin_is_made_once(settings: Settings, seed: Seed) -> None:
    # Given a database with no user, two starts with bootstrap settings
    boot = settings.replace(
        bootstrap_admin_email="boss@example.com", bootstrap_admin_password="boss-password"
    )
    for _ in range(2):
        async with AsyncTestClient(create_app(boot), base_url=API_BASE_URL):
            pass
    async with seed.pool.acquire() as conn:
        users = await identity.list_users(conn)
    # Then exactly one instance admin exists
    assert [(u.email, u.instance_admin) for u in users] == [("boss@example.com", True)]


async def test_bootstrap_is_skipped_when_a_user_exists(settings: Settings, seed: Seed) -> None:
    await seed.user("first@example.com")
    boot = settings.replace(
        bootstrap_admin_email="boss@example.com", bootstrap_admin_password="boss-password"
    )
    async with AsyncTestClient(create_app(boot), base_url=API_BASE_URL):
        pass
    async with seed.pool.acquire() as conn:
        assert [u.email for u in await identity.list_users(conn)] == ["first@example.com"]


async def test_a_bad_bootstrap_password_stops_start_up_naming_the_variable(
    settings: Settings,
) -> None:
    boot = settings.replace(
        bootstrap_admin_email="boss@example.com", bootstrap_admin_password="short"
    )
    # The test client reports lifespan failures inside an exception group.
    with pytest.raises(BaseException) as info:
        async with AsyncTestClient(create_app(boot), base_url=API_BASE_URL):
            pass
    found: list[BaseException] = [info.value]
    while isinstance(found[-1], BaseExceptionGroup):
        found.append(found[-1].exceptions[0])
    assert isinstance(found[-1], ConfigError)
    assert "PICLOUD_BOOTSTRAP_ADMIN_PASSWORD" in found[-1].message
