"""KV triggers end to end: a committed write runs its handler on a worker with ctx.event."""

from __future__ import annotations

from typing import Any

from tests.integration.triggers.conftest import RECORDER, Env, wait_for


async def test_kv_set_runs_the_handler_with_ctx_event(env: Env, worker: Any) -> None:
    # Given a kv trigger on collection "orders" for set
    h = await env.handler(RECORDER)
    await env.trigger("kv", {"script_id": h["id"], "collection": "orders", "ops": ["set"]})
    # When a key is set twice
    await env.kv("orders", "o1", {"total": 5})
    await wait_for(lambda: env.get("seen", "runs"))
    await env.kv("orders", "o1", {"total": 7})
    # Then the handler ran twice and saw the second write with its previous value
    await wait_for(lambda: _equals(env.get("seen", "runs"), 2))
    event = await env.get("seen", "event")
    assert event["source"] == "kv" and event["op"] == "set"
    assert event["kv"] == {
        "collection": "orders",
        "key": "o1",
        "value": {"total": 7},
        "prev_value": {"total": 5},
    }
    assert isinstance(event["position"], int) and event["recorded_at"].endswith("Z")


async def test_other_collections_and_ops_do_not_fire(env: Env, worker: Any) -> None:
    h = await env.handler(RECORDER)
    await env.trigger("kv", {"script_id": h["id"], "collection": "orders", "ops": ["delete"]})
    await env.kv("orders", "o1", 1)
    await env.kv("other", "x", 1)
    await env.kv("orders", "o1", op="delete")
    await wait_for(lambda: env.get("seen", "runs"))
    event = await env.get("seen", "event")
    assert event["op"] == "delete" and event["kv"]["prev_value"] == 1
    assert event["kv"]["value"] is None
    assert await env.get("seen", "runs") == 1


async def _equals(value: Any, expected: Any) -> bool:
    return await value == expected
