"""``ctx.principal``: anonymous without credentials, the caller with a valid token, 401 otherwise."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.dataplane.conftest import ADMIN_EMAIL, Deployer, error_of

Client = AsyncTestClient[Litestar]

WHO = "ctx.principal"


async def _key(client: Client, admin: dict[str, str], **body: object) -> dict[str, object]:
    r = await client.post(
        "/api/v1/admin/api-keys",
        json={"name": "k", "scopes": ["app:read", "script:read"], **body},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_no_credentials_runs_anonymously(client: Client, deploy: Deployer) -> None:
    # Given a route returning ctx.principal and ctx.event
    app = await deploy.app()
    await deploy.endpoint(
        app["slug"], "GET", "/who", "#{p: ctx.principal, e: ctx.event, anon: ctx.principal == ()}"
    )
    # When it is called without Authorization
    r = await client.get(f"/a/{app['slug']}/who")
    # Then the principal and event are ()
    assert r.json() == {"p": None, "e": None, "anon": True}


async def test_api_key_and_session_become_the_principal(
    client: Client, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given a route returning ctx.principal, an API key and the admin's session
    app = await deploy.app()
    await deploy.endpoint(app["slug"], "GET", "/who", WHO)
    key = await _key(client, admin_headers)
    # When called with the key
    r = await client.get(f"/a/{app['slug']}/who", headers={"Authorization": f"Bearer {key['key']}"})
    # Then the principal is the key with its scopes
    assert r.status_code == 200, r.text
    assert r.json() == {"kind": "api_key", "id": key["id"], "scopes": ["app:read", "script:read"]}
    # When called with a session token
    r = await client.get(f"/a/{app['slug']}/who", headers=admin_headers)
    me = (await client.get("/api/v1/auth/me", headers=admin_headers)).json()
    # Then the principal is the user
    assert r.json() == {"kind": "user", "id": me["id"], "scopes": []}
    assert me["email"] == ADMIN_EMAIL


async def test_bad_revoked_or_expired_token_is_401(
    client: Client, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given a route that would answer anyone
    app = await deploy.app()
    await deploy.endpoint(app["slug"], "GET", "/who", WHO)
    url = f"/a/{app['slug']}/who"
    revoked = await _key(client, admin_headers)
    r = await client.delete(f"/api/v1/admin/api-keys/{revoked['id']}", headers=admin_headers)
    assert r.status_code == 204
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await _key(client, admin_headers, expires_at=soon.isoformat())
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    # Then a made-up, revoked or expired token is refused before the script runs
    for token, code in (
        ("pk_not_a_real_key", "invalid_token"),
        ("garbage", "invalid_token"),
        (revoked["key"], "invalid_token"),
        (expiring["key"], "token_expired"),
    ):
        r = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (token, r.text)
        assert error_of(r)["code"] == code
        assert r.headers["www-authenticate"].startswith("Bearer")


async def test_other_authorization_schemes_are_left_to_the_script(
    client: Client, deploy: Deployer
) -> None:
    # Given a script-as-gate checking its own Basic credentials
    app = await deploy.app()
    await deploy.endpoint(
        app["slug"],
        "GET",
        "/gate",
        "let h = ctx.request.headers.authorization;\n"
        'if h != "Basic c2VjcmV0" { throw #{status: 403, message: "no"} }\n'
        "#{ok: true, principal: ctx.principal}",
    )
    url = f"/a/{app['slug']}/gate"
    r = await client.get(url, headers={"Authorization": "Basic c2VjcmV0"})
    assert r.json() == {"ok": True, "principal": None}
    r = await client.get(url, headers={"Authorization": "Basic d3Jvbmc="})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
