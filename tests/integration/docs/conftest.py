"""Fixtures for document tests: the data-plane app, a deployer, and a generic docs endpoint.

Every SDK behaviour is exercised through a real script behind a real route:
``DocsApp.call(op, …)`` posts to ``/a/<slug>/docs``, whose script performs one
``docs::`` operation named in the JSON body and answers ``#{r: result}`` or,
when the SDK throws, ``#{error: "<the caught docs: … text>"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from picloud.settings import Settings
from tests.integration._deploy import OpsApp, app_events
from tests.integration.dataplane.conftest import (  # noqa: F401 - fixtures re-exported
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Deployer,
    admin_headers,
    app,
    client,
    deploy,
)

#: Small so the size-limit tests need small documents.
MAX_DOC_BYTES = 4096
MAX_PAGE = 50


@pytest.fixture
def dp_settings(settings: Settings) -> Settings:
    """Bootstrap admin, a roomy script timeout (a shared CI box), small document limits."""
    return settings.replace(
        bootstrap_admin_email=ADMIN_EMAIL,
        bootstrap_admin_password=ADMIN_PASSWORD,
        script_timeout_ms=10_000,
        base_domain="picloud.test",
        docs_max_doc_bytes=MAX_DOC_BYTES,
        docs_default_page_size=10,
        docs_max_page_size=MAX_PAGE,
    )


#: One endpoint that runs the docs operation the request body names.
OPS_SOURCE = r"""
let b = ctx.request.body;
try {
    let c = docs::collection(b.collection);
    switch b.op {
        "create" => #{r: c.create(b.data)},
        "get" => #{r: c.get(b.id)},
        "find" => #{r: if b.filter == () { c.find() } else { c.find(b.filter) }},
        "find_one" => #{r: if b.filter == () { c.find_one() } else { c.find_one(b.filter) }},
        "update" => #{r: c.update(b.id, b.data)},
        "delete" => #{r: c.delete(b.id)},
        "list" => #{r: if b.opts == () { c.list() } else { c.list(b.opts) }},
        _ => #{error: "unknown op"}
    }
} catch (e) {
    return #{error: e};
}
"""


@dataclass
class DocsApp(OpsApp):
    """An app with the generic docs endpoint deployed."""

    path = "/docs"

    async def call(
        self,
        op: str,
        collection: str = "c",
        *,
        id: Any = None,
        data: Any = None,
        filter: Any = None,
        opts: Any = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run one docs op through the endpoint; the script's ``#{r}`` or ``#{error}`` map."""
        body = {
            "op": op,
            "collection": collection,
            "id": id,
            "data": data,
            "filter": filter,
            "opts": opts,
        }
        return await self.post(body, headers)


async def docs_app(deployer: Deployer, http: Any) -> DocsApp:
    """A new app with the generic docs endpoint."""
    return await DocsApp.deploy(deployer, http, OPS_SOURCE, name="docs_ops")


async def doc_events(pool_or_conn: Any, app_id: str) -> list[dict[str, Any]]:
    """The app's ``doc.*`` events in log order, as ``{type, stream, version, data}``."""
    return await app_events(pool_or_conn, app_id, "doc")
