"""``kv::collection(name)`` methods through real scripts behind real routes."""

from __future__ import annotations

from typing import Any

from tests.integration.kv.conftest import Deployer, kv_app


async def test_set_get_has_delete_round_trip(
    client: Any, deploy: Deployer, database_url: str
) -> None:
    # Given an app with the KV endpoint
    kv = await kv_app(deploy, client)
    # When a key is set, then get and has see it
    assert await kv.ok("set", key="a", value={"n": 1, "tags": ["x", "y"], "f": 1.5}) is True
    assert await kv.ok("get", key="a") == {"f": 1.5, "n": 1, "tags": ["x", "y"]}
    assert await kv.ok("has", key="a") is True
    # And a missing key is () and not present
    assert await kv.ok("get", key="missing") is None
    assert await kv.ok("has", key="missing") is False
    # When deleted, delete reports it was present once
    assert await kv.ok("delete", key="a") is True
    assert await kv.ok("delete", key="a") is False
    assert await kv.ok("get", key="a") is None
