"""Helpers for the scripts/routes tests: the API fixtures, the endpoints as methods, sources."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

_API_CONFTEST = Path(__file__).resolve().parent.parent / "api" / "conftest.py"
_NAME = "picloud_tests_api_fixtures"


def _load_api_fixtures() -> Any:
    module = sys.modules.get(_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(_NAME, _API_CONFTEST)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {_API_CONFTEST}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return module


_api = _load_api_fixtures()

#: The API test fixtures module (tests/integration/api/conftest.py), loaded by path
#: so this directory needs no package (a ``scripts`` package would shadow the
#: repository's ``scripts/`` directory).
api_fixtures = _load_api_fixtures()
bearer = api_fixtures.bearer
error_code = api_fixtures.error_code

Client = AsyncTestClient[Litestar]

ENDPOINT_SOURCE = "#{ ok: true }"
MODULE_SOURCE = 'const GREETING = "hi";\nfn greet(name) { GREETING + " " + name }\n'


class ScriptsApi:
    """Thin helpers over the scripts/routes endpoints for one caller."""

    def __init__(self, client: Client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def create(
        self, app: str, name: str, source: str = ENDPOINT_SOURCE, kind: str = "endpoint"
    ) -> Any:
        return await self.client.post(
            f"/api/v1/admin/apps/{app}/scripts",
            json={"name": name, "kind": kind, "source": source},
            headers=self.headers,
        )

    async def created(
        self, app: str, name: str, source: str = ENDPOINT_SOURCE, kind: str = "endpoint"
    ) -> dict[str, Any]:
        r = await self.create(app, name, source, kind)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def get(self, script_id: str) -> Any:
        return await self.client.get(f"/api/v1/admin/scripts/{script_id}", headers=self.headers)

    async def update(self, script_id: str, source: str, **extra: Any) -> Any:
        return await self.client.put(
            f"/api/v1/admin/scripts/{script_id}",
            json={"source": source, **extra},
            headers=self.headers,
        )

    async def delete(self, script_id: str) -> Any:
        return await self.client.delete(f"/api/v1/admin/scripts/{script_id}", headers=self.headers)

    async def list(self, app: str, **params: str) -> Any:
        return await self.client.get(
            f"/api/v1/admin/apps/{app}/scripts", params=params, headers=self.headers
        )

    async def route(
        self, script_id: str, method: str, path: str, dispatch_mode: str | None = None
    ) -> Any:
        body = {"method": method, "path": path}
        if dispatch_mode is not None:
            body["dispatch_mode"] = dispatch_mode
        return await self.client.post(
            f"/api/v1/admin/scripts/{script_id}/routes", json=body, headers=self.headers
        )

    async def routes(self, app: str) -> Any:
        return await self.client.get(f"/api/v1/admin/apps/{app}/routes", headers=self.headers)

    async def delete_route(self, route_id: str) -> Any:
        return await self.client.delete(f"/api/v1/admin/routes/{route_id}", headers=self.headers)
