"""Every admin endpoint × every kind of caller → the documented status.

The expectations are written out here as the contract (API.md, README
"Access"), not derived from the code's own capability table: an endpoint's
scope for API keys, its minimum role for users, and whether it is
instance-level. Each call targets a fresh app so mutations do not interfere,
and every refused call must leave the event log untouched.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from picloud.services.models import AppView, UserView
from tests.integration.api.conftest import Seed, bearer, error_code


@dataclass
class Target:
    """What one call acts on: a fresh app, plus ids its path needs."""

    app: AppView
    spare: UserView  # a user who is not a member of the app
    member: UserView  # a viewer of the app
    key_id: str


Body = Callable[[Target], dict[str, Any]] | None

#: name, method, path template, body
ENDPOINTS: list[tuple[str, str, str, Body]] = [
    ("list_apps", "GET", "/api/v1/admin/apps", None),
    (
        "create_app",
        "POST",
        "/api/v1/admin/apps",
        lambda t: {"slug": f"new-{uuid.uuid4().hex[:8]}", "name": "New"},
    ),
    ("get_app", "GET", "/api/v1/admin/apps/{app}", None),
    ("get_app_by_id", "GET", "/api/v1/admin/apps/{app_id}", None),
    ("patch_app", "PATCH", "/api/v1/admin/apps/{app}", lambda t: {"name": "Renamed"}),
    ("list_members", "GET", "/api/v1/admin/apps/{app}/members", None),
    ("put_member", "PUT", "/api/v1/admin/apps/{app}/members/{spare}", lambda t: {"role": "viewer"}),
    ("delete_member", "DELETE", "/api/v1/admin/apps/{app}/members/{member}", None),
    ("list_events", "GET", "/api/v1/admin/apps/{app}/events", None),
    ("delete_app", "DELETE", "/api/v1/admin/apps/{app}", None),
    (
        "create_key",
        "POST",
        "/api/v1/admin/api-keys",
        lambda t: {"name": "k", "scopes": ["app:read"]},
    ),
    ("list_keys", "GET", "/api/v1/admin/api-keys", None),
    ("get_key", "GET", "/api/v1/admin/api-keys/{key}", None),
    ("delete_key", "DELETE", "/api/v1/admin/api-keys/{key}", None),
    (
        "create_user",
        "POST",
        "/api/v1/admin/users",
        lambda t: {"email": f"n-{uuid.uuid4().hex[:8]}@example.com", "password": "password-123"},
    ),
    ("list_users", "GET", "/api/v1/admin/users", None),
    ("get_user", "GET", "/api/v1/admin/users/{spare}", None),
    ("me", "GET", "/api/v1/auth/me", None),
    ("logout", "POST", "/api/v1/auth/logout", None),  # last: it ends a session principal
]

OK = {
    "create_app": 201,
    "create_key": 201,
    "create_user": 201,
    "delete_app": 204,
    "delete_member": 204,
    "delete_key": 204,
    "logout": 204,
}

#: The scope an API key needs (None: any valid credential).
SCOPE = {
    "list_apps": "app:read",
    "create_app": "app:admin",
    "get_app": "app:read",
    "get_app_by_id": "app:read",
    "patch_app": "app:write",
    "list_members": "app:read",
    "put_member": "app:admin",
    "delete_member": "app:admin",
    "list_events": "events:read",
    "delete_app": "app:admin",
    "create_key": "instance:admin",
    "list_keys": "instance:admin",
    "get_key": "instance:admin",
    "delete_key": "instance:admin",
    "create_user": "instance:admin",
    "list_users": "instance:admin",
    "get_user": "instance:admin",
    "me": None,
    "logout": None,
}
#: The least role a user needs on the app, for per-app endpoints.
ROLE = {
    "get_app": "viewer",
    "get_app_by_id": "viewer",
    "list_members": "viewer",
    "patch_app": "editor",
    "put_member": "admin",
    "delete_member": "admin",
    "list_events": "admin",
    "delete_app": "admin",
}
INSTANCE_LEVEL = {
    "create_app",
    "create_key",
    "list_keys",
    "get_key",
    "delete_key",
    "create_user",
    "list_users",
    "get_user",
}
RANK = {"viewer": 1, "editor": 2, "admin": 3}
SCOPES = [
    "instance:admin",
    "app:read",
    "app:write",
    "app:admin",
    "script:read",
    "script:write",
    "events:read",
]
APP_SCOPES = [s for s in SCOPES if s != "instance:admin"]
INVALID = [
    "anonymous",
    "malformed_header",
    "unknown_key",
    "unknown_session",
    "expired_key",
    "revoked_key",
    "ended_session",
]
PRINCIPALS = [
    *INVALID,
    *(f"scope:{s}" for s in SCOPES),
    "key_for_this_app",
    "key_for_other_app",
    "role:viewer",
    "role:editor",
    "role:admin",
    "non_member",
    "instance_admin",
]


def expected(principal: str, endpoint: str) -> int:
    """The documented status for ``principal`` calling ``endpoint``."""
    ok = OK.get(endpoint, 200)
    if principal in INVALID:
        return 401
    if endpoint in ("me", "logout") or principal == "instance_admin":
        return ok
    if principal.startswith("scope:"):
        scope = principal.removeprefix("scope:")
        return ok if scope in ("instance:admin", SCOPE[endpoint]) else 403
    if endpoint in INSTANCE_LEVEL:
        return 403
    if endpoint == "list_apps":
        return ok  # everyone may list; the list holds only what they can see
    if principal == "key_for_this_app":
        return ok
    if principal in ("key_for_other_app", "non_member"):
        return 404  # another app's resources are invisible, not forbidden
    role = principal.removeprefix("role:")
    return ok if RANK[role] >= RANK[ROLE[endpoint]] else 403


class Caller:
    """Builds the headers of one kind of principal, per target where it must."""

    def __init__(self, seed: Seed, principal: str) -> None:
        self.seed = seed
        self.principal = principal
        self.fixed: dict[str, str] | None = None
        self.user: UserView | None = None

    async def prepare(self) -> None:
        p, seed = self.principal, self.seed
        if p == "anonymous":
            self.fixed = {}
        elif p == "malformed_header":
            self.fixed = {"Authorization": "Token something"}
        elif p == "unknown_key":
            self.fixed = bearer("pk_" + "x" * 43)
        elif p == "unknown_session":
            self.fixed = bearer("ps_" + "x" * 43)
        elif p == "expired_key":
            key = await seed.expired_key(SCOPES, datetime.now(UTC) - timedelta(seconds=1))
            self.fixed = bearer(key)
        elif p == "revoked_key":
            created = await seed.key(SCOPES)
            await seed.revoke(created.id)
            self.fixed = bearer(created.key)
        elif p.startswith("scope:"):
            self.fixed = bearer((await seed.key([p.removeprefix("scope:")])).key)
        elif p == "key_for_other_app":
            other = await seed.app()
            self.fixed = bearer((await seed.key(APP_SCOPES, app_id=other.id)).key)
        elif p in ("ended_session", "non_member", "instance_admin") or p.startswith("role:"):
            self.user = await seed.user(admin=p == "instance_admin")
            self.fixed = bearer(await seed.login(self.user.email))

    async def headers(self, target: Target, client: AsyncTestClient[Litestar]) -> dict[str, str]:
        if self.principal == "key_for_this_app":
            return bearer((await self.seed.key(APP_SCOPES, app_id=target.app.id)).key)
        if self.principal.startswith("role:") and self.user is not None:
            await self.seed.member(
                target.app.id, self.user.id, self.principal.removeprefix("role:")
            )
        if self.principal == "ended_session" and self.fixed is not None:
            await client.post("/api/v1/auth/logout", headers=self.fixed)
        assert self.fixed is not None
        return self.fixed


_MY_CONTROLLERS = {
    f"picloud.api.controllers.{m}" for m in ("auth", "users", "api_keys", "apps", "events")
}


def test_the_matrix_covers_every_identity_and_app_endpoint(app: Litestar) -> None:
    # A new handler in these controllers must be added to ENDPOINTS (and so to the matrix).
    served = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            fn = getattr(handler, "fn", None)
            if getattr(fn, "__module__", None) in _MY_CONTROLLERS:
                for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                    served.add((method, re.sub(r"\{[^}]+\}", "{}", route.path)))
    covered = {(m, re.sub(r"\{[^}]+\}", "{}", path)) for _, m, path, _ in ENDPOINTS}
    # Login is the one endpoint that takes no credentials (see test_auth_and_keys).
    assert served - {("POST", "/api/v1/auth/login")} == covered


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_every_endpoint_answers_each_principal_as_documented(
    principal: str, client: AsyncTestClient[Litestar], seed: Seed
) -> None:
    # Given a principal of this kind and users to act on
    caller = Caller(seed, principal)
    await caller.prepare()
    spare = await seed.user()
    member = await seed.user()
    mismatches: list[str] = []
    for name, method, template, body in ENDPOINTS:
        # Given a fresh app (with a viewer member) and a fresh key as the call's target
        app = await seed.app()
        await seed.member(app.id, member.id, "viewer")
        target = Target(
            app=app, spare=spare, member=member, key_id=(await seed.key(["app:read"])).id
        )
        headers = await caller.headers(target, client)
        path = template.format(
            app=app.slug, app_id=app.id, spare=spare.id, member=member.id, key=target.key_id
        )
        before = await seed.event_count()
        # When the principal calls the endpoint
        r = await client.request(method, path, headers=headers, json=body(target) if body else None)
        # Then the status is the documented one, and a refusal changes nothing
        want = expected(principal, name)
        if r.status_code != want:
            mismatches.append(f"{name}: {method} {path} → {r.status_code} (want {want}) {r.text}")
            continue
        if want >= 400:
            code = error_code(r)
            assert (
                code
                in {
                    401: {"unauthorized", "invalid_token", "token_expired"},
                    403: {"forbidden"},
                    404: {"not_found"},
                }[want]
            ), (name, code)
            assert await seed.event_count() == before, f"{name} refused but appended"
    assert not mismatches, "\n".join(mismatches)


async def test_a_key_restricted_to_one_app_lists_only_that_app(
    client: AsyncTestClient[Litestar], seed: Seed
) -> None:
    mine, other = await seed.app("mine"), await seed.app("other")
    key = await seed.key(["app:read"], app_id=mine.id)
    r = await client.get("/api/v1/admin/apps", headers=bearer(key.key))
    assert [a["slug"] for a in r.json()] == ["mine"]
    r = await client.get(f"/api/v1/admin/apps/{other.slug}", headers=bearer(key.key))
    assert r.status_code == 404
    r = await client.get("/api/v1/admin/apps/no-such-app", headers=bearer(key.key))
    assert r.status_code == 404  # indistinguishable from an app that exists elsewhere


async def test_a_user_lists_only_apps_they_are_a_member_of(
    client: AsyncTestClient[Litestar], seed: Seed
) -> None:
    mine, _other = await seed.app("mine"), await seed.app("other")
    user = await seed.user()
    await seed.member(mine.id, user.id, "viewer")
    token = await seed.login(user.email)
    r = await client.get("/api/v1/admin/apps", headers=bearer(token))
    assert [a["slug"] for a in r.json()] == ["mine"]


async def test_revocation_takes_effect_on_the_next_request(
    client: AsyncTestClient[Litestar], seed: Seed, admin_headers: dict[str, str]
) -> None:
    key = await seed.key(["app:read"])
    assert (await client.get("/api/v1/admin/apps", headers=bearer(key.key))).status_code == 200
    r = await client.delete(f"/api/v1/admin/api-keys/{key.id}", headers=admin_headers)
    assert r.status_code == 204
    r = await client.get("/api/v1/admin/apps", headers=bearer(key.key))
    assert r.status_code == 401
    assert error_code(r) == "invalid_token"
