"""Fixtures for the HTTP API: the app on this test's database, a client, and seeding helpers.

Seeding goes through the same service functions the API uses (so through the
event log and projections); only the "expired key" case appends its event
directly, because the service refuses an expiry in the past.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.api import create_app
from picloud.auth.tokens import display_prefix, hash_secret, new_api_key
from picloud.events.identity import ApiKeyCreated, api_key_stream
from picloud.events.store import append
from picloud.events.types import EventMeta
from picloud.services import apps as app_service
from picloud.services import identity
from picloud.services.context import CommandContext
from picloud.services.models import AppView, CreatedApiKey, UserView
from picloud.settings import Settings

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root-password-1"
#: Small so the 413 test needs only a small body.
BODY_LIMIT = 16 * 1024
#: The admin API is addressed by IP (or the bare base domain): any other Host
#: may name an app and is looked up by the data plane first.
API_BASE_URL = "http://127.0.0.1"

SYSTEM = CommandContext(actor="system", request_id="test-seed")


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    """This test's settings with a bootstrap admin and a small body limit."""
    return settings.replace(
        max_request_body_bytes=BODY_LIMIT,
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=ADMIN_PASSWORD,
    )


@pytest.fixture
def app(api_settings: Settings) -> Litestar:
    """The API application (its lifespan migrates and opens the pool)."""
    return create_app(api_settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client running the app (with its lifespan) in the test's event loop."""
    async with AsyncTestClient(app, base_url=API_BASE_URL) as c:
        yield c


@pytest.fixture
async def admin_headers(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    """Headers of the bootstrap instance admin, logged in through the API."""
    r = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert r.status_code == 200, r.text
    return bearer(r.json()["token"])


class Seed:
    """Creates users, apps, members and keys through the services."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def user(self, email: str | None = None, *, admin: bool = False) -> UserView:
        email = email or f"u-{uuid.uuid4().hex[:8]}@example.com"
        async with self.pool.acquire() as conn:
            return await identity.create_user(
                conn, SYSTEM, email, "password-123", instance_admin=admin
            )

    async def login(self, email: str) -> str:
        async with self.pool.acquire() as conn:
            return (await identity.login(conn, email, "password-123", ttl_seconds=3600)).token

    async def login_with(self, email: str, password: str) -> str:
        async with self.pool.acquire() as conn:
            return (await identity.login(conn, email, password, ttl_seconds=3600)).token

    async def app(self, slug: str | None = None, hostnames: list[str] | None = None) -> AppView:
        slug = slug or f"app-{uuid.uuid4().hex[:8]}"
        async with self.pool.acquire() as conn:
            return await app_service.create_app(conn, SYSTEM, slug, slug.title(), hostnames)

    async def member(self, app_id: str, user_id: str, role: str) -> None:
        async with self.pool.acquire() as conn:
            await app_service.set_member(conn, SYSTEM, app_id, user_id, role)

    async def key(
        self,
        scopes: list[str],
        *,
        app_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> CreatedApiKey:
        async with self.pool.acquire() as conn:
            return await identity.create_api_key(
                conn, SYSTEM, "test key", scopes, app_id=app_id, expires_at=expires_at
            )

    async def expired_key(self, scopes: list[str], expired_at: datetime) -> str:
        """A key whose expiry is already past (appended directly: the service refuses it)."""
        key = new_api_key()
        key_id = str(uuid.uuid4())
        event = ApiKeyCreated(
            key_id=key_id,
            name="expired",
            prefix=display_prefix(key),
            key_hash=hash_secret(key),
            scopes=scopes,
            expires_at=expired_at,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await append(conn, api_key_stream(key_id), 0, [event], EventMeta(actor="system"))
        return key

    async def revoke(self, key_id: str) -> None:
        async with self.pool.acquire() as conn:
            await identity.revoke_api_key(conn, SYSTEM, key_id)

    async def event_count(self) -> int:
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM events"))


@pytest.fixture
async def seed(pool: asyncpg.Pool) -> Seed:
    """Seeding helpers on this test's database."""
    return Seed(pool)


def error_code(response: Any) -> str:
    """The ``error.code`` of an error response (asserting the error shape on the way)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return str(body["error"]["code"])
