"""Deploy-and-call helpers for integration tests that run real scripts behind real routes.

The fixtures that hand these out live in ``tests/integration/dataplane/conftest.py``
(and the KV / docs conftests that build on it); this module holds the plain code:
logging in as the bootstrap admin, the ``Deployer`` (apps, scripts and routes
through the admin API), ``OpsApp`` (an app whose one generic endpoint runs the
operation its JSON body names) and reading an app's events from the log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root-password-1"


async def admin_login(client: Any) -> dict[str, str]:
    """Headers of the bootstrap instance admin, logged in through the API."""
    r = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


class Deployer:
    """Creates apps, scripts and routes through the admin API."""

    def __init__(self, client: AsyncTestClient[Litestar], headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def app(
        self, slug: str | None = None, hostnames: list[str] | None = None
    ) -> dict[str, Any]:
        slug = slug or f"app-{uuid.uuid4().hex[:8]}"
        body: dict[str, Any] = {"slug": slug, "name": slug.title()}
        if hostnames:
            body["hostnames"] = hostnames
        r = await self.client.post("/api/v1/admin/apps", json=body, headers=self.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def script(
        self, app: str, name: str, source: str, kind: str = "endpoint"
    ) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/v1/admin/apps/{app}/scripts",
            json={"name": name, "kind": kind, "source": source},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def update(self, script_id: str, source: str) -> dict[str, Any]:
        r = await self.client.put(
            f"/api/v1/admin/scripts/{script_id}", json={"source": source}, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def route(
        self, script_id: str, method: str, path: str, dispatch_mode: str = "sync"
    ) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/v1/admin/scripts/{script_id}/routes",
            json={"method": method, "path": path, "dispatch_mode": dispatch_mode},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def endpoint(
        self,
        app: str,
        method: str,
        path: str,
        source: str,
        name: str | None = None,
        dispatch_mode: str = "sync",
    ) -> dict[str, Any]:
        """An endpoint script with one route to it."""
        script = await self.script(app, name or f"ep_{uuid.uuid4().hex[:8]}", source)
        await self.route(script["id"], method, path, dispatch_mode)
        return script


@dataclass
class OpsApp:
    """An app with one generic endpoint, ``POST /a/<slug><path>``.

    The endpoint's script performs the operation the JSON body names and
    answers ``#{r: result}`` or, when the SDK throws, ``#{error: "<text>"}``.
    Subclasses set ``path`` and turn their ``call`` arguments into the body.
    """

    #: The route of the generic endpoint, e.g. ``/kv``.
    path: ClassVar[str]

    client: Any
    slug: str
    id: str

    @classmethod
    async def deploy(cls, deployer: Deployer, http: Any, source: str, name: str) -> Self:
        """A new app with the endpoint ``source`` (script ``name``) routed at ``POST path``."""
        made = await deployer.app()
        await deployer.endpoint(made["slug"], "POST", cls.path, source, name=name)
        return cls(http, made["slug"], made["id"])

    async def post(self, body: dict[str, Any], headers: dict[str, str] | None) -> dict[str, Any]:
        """Post ``body`` to the endpoint; the script's ``#{r}`` or ``#{error}`` map."""
        r = await self.client.post(f"/a/{self.slug}{self.path}", json=body, headers=headers or {})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def call(self, op: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run one op through the endpoint (each subclass names its arguments)."""
        raise NotImplementedError

    async def ok(self, op: str, *args: Any, **kwargs: Any) -> Any:
        """The result of an op that must succeed."""
        out = await self.call(op, *args, **kwargs)
        assert "error" not in out, out
        return out.get("r")

    async def error(self, op: str, *args: Any, **kwargs: Any) -> str:
        """The caught error text of an op that must fail."""
        out = await self.call(op, *args, **kwargs)
        assert "error" in out, out
        return str(out["error"])


async def app_events(pool_or_conn: Any, app_id: str, kind: str) -> list[dict[str, Any]]:
    """The app's ``<kind>.*`` events in log order, as ``{type, stream, version, data}``."""
    rows = await pool_or_conn.fetch(
        "SELECT type, stream, version, data::text AS data FROM events"
        " WHERE app_id = $1::uuid AND type LIKE $2 ORDER BY position",
        app_id,
        f"{kind}.%",
    )
    return [
        {
            "type": r["type"],
            "stream": r["stream"],
            "version": r["version"],
            "data": msgspec.json.decode(r["data"]),
        }
        for r in rows
    ]
