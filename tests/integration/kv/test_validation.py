"""Bad collection names, keys, values and list options: a catchable ``kv:`` error, nothing written."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from picloud.settings import Settings
from tests.integration.kv.conftest import Deployer, kv_app

#: Small so the oversized-value test needs only a small body.
MAX_VALUE = 2048


@pytest.fixture
def dp_settings(dp_settings: Settings) -> Settings:
    """The data-plane settings with a small KV value limit."""
    return dp_settings.replace(kv_max_value_bytes=MAX_VALUE)


async def _event_count(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


#: Bad calls of the generic endpoint and the code each must fail with.
BAD_CALLS: list[tuple[dict[str, Any], str]] = [
    ({"op": "set", "collection": "", "key": "k", "value": 1}, "kv_invalid_collection"),
    ({"op": "set", "collection": "has space", "key": "k", "value": 1}, "kv_invalid_collection"),
    ({"op": "set", "collection": "-dash", "key": "k", "value": 1}, "kv_invalid_collection"),
    ({"op": "set", "collection": "x" * 65, "key": "k", "value": 1}, "kv_invalid_collection"),
    ({"op": "set", "collection": "a:b", "key": "k", "value": 1}, "kv_invalid_collection"),
    (
        {"op": "get", "collection": "c'; DROP TABLE kv_entries;--", "key": "k"},
        "kv_invalid_collection",
    ),
    ({"op": "set", "key": "", "value": 1}, "kv_invalid_key"),
    ({"op": "set", "key": 42, "value": 1}, "kv_invalid_key"),
    ({"op": "set", "key": None, "value": 1}, "kv_invalid_key"),
    ({"op": "set", "key": "tab\there", "value": 1}, "kv_invalid_key"),
    ({"op": "set", "key": "nul\u0000", "value": 1}, "kv_invalid_key"),
    ({"op": "set", "key": "k" * 257, "value": 1}, "kv_key_too_long"),
    ({"op": "set", "key": "\u00e9" * 129, "value": 1}, "kv_key_too_long"),
    ({"op": "get", "key": "k" * 257}, "kv_key_too_long"),
    ({"op": "delete", "key": ""}, "kv_invalid_key"),
    ({"op": "set", "key": "k", "value": "x" * MAX_VALUE}, "kv_value_too_large"),
    ({"op": "set", "key": "k", "value": {"a": ["y" * (MAX_VALUE // 2)] * 2}}, "kv_value_too_large"),
    ({"op": "set", "key": "k", "value": {"s": "nul\u0000"}}, "unsupported_value"),
    ({"op": "list", "opts": {"limit": 0}}, "kv_invalid_limit"),
    ({"op": "list", "opts": {"limit": 1001}}, "kv_invalid_limit"),
    ({"op": "list", "opts": {"limit": "10"}}, "kv_invalid_limit"),
    ({"op": "list", "opts": {"cursor": "not-a-cursor!"}}, "kv_invalid_cursor"),
    ({"op": "list", "opts": {"cursor": 5}}, "kv_invalid_options"),
    ({"op": "list", "opts": {"prefix": 5}}, "kv_invalid_prefix"),
    ({"op": "list", "opts": {"prefix": "a\u0000"}}, "kv_invalid_prefix"),
    ({"op": "list", "opts": {"prefix": "p" * 257}}, "kv_invalid_prefix"),
    ({"op": "list", "opts": {"sort": "desc"}}, "kv_invalid_options"),
]


async def test_bad_input_is_a_kv_error_and_writes_nothing(
    client: Any, deploy: Deployer, database_url: str
) -> None:
    # Given an app with the KV endpoint
    kv = await kv_app(deploy, client)
    before = await _event_count(database_url)
    for call, code in BAD_CALLS:
        # When the script makes a bad call
        out = await kv.call(
            call["op"],
            collection=call.get("collection", "c"),
            key=call.get("key"),
            value=call.get("value"),
            opts=call.get("opts"),
        )
        # Then it catches a kv: error ending in the stable code
        assert "error" in out, (call, out)
        assert out["error"].startswith("kv: "), out
        assert out["error"].endswith(f"[{code}]"), (call, out["error"])
    # And no call appended an event
    assert await _event_count(database_url) == before


@pytest.mark.parametrize(
    ("expr", "what"),
    [
        ("|| 1", "a Fn"),
        ("timestamp()", "a timestamp"),
        ("1..3", "a range"),
        ("#{when: [1, timestamp()]}", "value at when[1]: a timestamp"),
        ('kv::collection("x")', "a KvCollection"),
        ("0.0 / 0.0", "NaN"),
    ],
)
async def test_unsupported_values_are_refused(
    client: Any, deploy: Deployer, database_url: str, expr: str, what: str
) -> None:
    # Given a script storing a value JSON cannot represent
    made = await deploy.app()
    source = f"""
        let c = kv::collection("c");
        let r = ();
        try {{ c.set("k", {expr}); }} catch (e) {{ r = e; }}
        #{{error: r, has: c.has("k")}}
    """
    await deploy.endpoint(made["slug"], "GET", "/v", source)
    before = await _event_count(database_url)
    # When it runs
    r = await client.get(f"/a/{made['slug']}/v")
    # Then set throws a kv: error naming the value, and the key was not written
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["has"] is False
    assert body["error"].startswith("kv: set: value"), body
    assert what in body["error"], body
    assert body["error"].endswith("[unsupported_value]"), body
    assert await _event_count(database_url) == before


async def test_value_at_the_limit_is_accepted(client: Any, deploy: Deployer) -> None:
    # Given a string whose stored JSON ("…" with quotes) is exactly the limit
    kv = await kv_app(deploy, client)
    value = "v" * (MAX_VALUE - 2)
    # Then it is stored, and one byte more is refused
    assert await kv.ok("set", key="k", value=value) is True
    assert await kv.ok("get", key="k") == value
    out = await kv.call("set", key="k", value=value + "v")
    assert out["error"].endswith("[kv_value_too_large]")
    assert await kv.ok("get", key="k") == value


async def test_cursor_of_another_listing_is_refused(client: Any, deploy: Deployer) -> None:
    # Given a cursor from a listing of collection "a"
    kv = await kv_app(deploy, client)
    for k in ("k1", "k2"):
        await kv.ok("set", collection="a", key=k, value=1)
    cursor = (await kv.ok("list", collection="a", opts={"limit": 1}))["cursor"]
    assert isinstance(cursor, str)
    # Then it cannot page another collection or another prefix
    out = await kv.call("list", collection="b", opts={"cursor": cursor})
    assert out["error"].endswith("[kv_invalid_cursor]"), out
    out = await kv.call("list", collection="a", opts={"cursor": cursor, "prefix": "k"})
    assert out["error"].endswith("[kv_invalid_cursor]"), out
