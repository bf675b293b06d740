"""Fixtures for KV tests: the data-plane app, a deployer, and a generic KV endpoint.

Every KV behaviour is exercised through a real script behind a real route:
``KvApp.call(op, …)`` posts to ``/a/<slug>/kv``, whose script performs one
``kv::`` operation named in the JSON body and answers ``#{r: result}`` or,
when the SDK throws, ``#{error: "<the caught kv: … text>"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.integration._deploy import OpsApp, app_events
from tests.integration.dataplane.conftest import (  # noqa: F401 - fixtures re-exported
    Deployer,
    admin_headers,
    app,
    client,
    deploy,
    dp_settings,
)

__all__ = ["OPS_SOURCE", "Deployer", "KvApp", "kv_app", "kv_events"]

#: One endpoint that runs the KV operation the request body names.
OPS_SOURCE = r"""
let b = ctx.request.body;
let out = ();
try {
    let c = kv::collection(b.collection);
    out = switch b.op {
        "get" => #{r: c.get(b.key)},
        "has" => #{r: c.has(b.key)},
        "set" => { c.set(b.key, b.value); #{r: true} },
        "delete" => #{r: c.delete(b.key)},
        "list" => #{r: if b.opts == () { c.list() } else { c.list(b.opts) }},
        _ => #{error: "unknown op"}
    };
} catch (e) {
    out = #{error: e};
}
out
"""


@dataclass
class KvApp(OpsApp):
    """An app with the generic KV endpoint deployed."""

    path = "/kv"

    async def call(
        self,
        op: str,
        collection: str = "c",
        key: Any = None,
        value: Any = None,
        opts: Any = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run one KV op through the endpoint; the script's ``#{r}`` or ``#{error}`` map."""
        body = {"op": op, "collection": collection, "key": key, "value": value, "opts": opts}
        return await self.post(body, headers)


async def kv_app(deployer: Deployer, http: Any) -> KvApp:
    """A new app with the generic KV endpoint."""
    return await KvApp.deploy(deployer, http, OPS_SOURCE, name="kv_ops")


async def kv_events(pool_or_conn: Any, app_id: str) -> list[dict[str, Any]]:
    """The app's ``kv.*`` events in log order, as ``{type, stream, version, data}``."""
    return await app_events(pool_or_conn, app_id, "kv")
