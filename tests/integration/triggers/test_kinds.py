"""docs triggers, the depth limit, disabled triggers and the admin API's refusals."""

from __future__ import annotations

import asyncio
from typing import Any

from picloud.services import docs as docs_service
from picloud.services.context import CommandContext
from tests.integration.triggers.conftest import RECORDER, Env, wait_for

CTX = CommandContext(actor="system", request_id="test")


async def test_docs_trigger_sees_data_and_prev_data(env: Env, worker: Any) -> None:
    h = await env.handler(RECORDER)
    await env.trigger("docs", {"script_id": h["id"], "collection": "posts", "ops": ["update"]})
    async with env.pool.acquire() as conn:
        doc = await docs_service.create_doc(conn, CTX, env.app["id"], "posts", {"t": "a"})
        await docs_service.update_doc(conn, CTX, env.app["id"], "posts", doc.id, {"t": "b"})
    await wait_for(lambda: env.get("seen", "runs"))
    event = await env.get("seen", "event")
    assert event["source"] == "docs" and event["op"] == "update"
    assert event["docs"] == {
        "collection": "posts",
        "id": doc.id,
        "data": {"t": "b"},
        "prev_data": {"t": "a"},
    }
    assert await env.get("seen", "runs") == 1


#: Writes the key it was triggered by again, one higher: a trigger loop.
LOOP = r"""kv::collection("loop").set("k", ctx.event.kv.value + 1);"""


async def test_chain_deeper_than_the_limit_is_skipped_not_dead_lettered(
    env: Env, worker: Any
) -> None:
    # Given a handler that re-triggers itself and PICLOUD_MAX_TRIGGER_DEPTH=3
    h = await env.handler(LOOP)
    await env.trigger("kv", {"script_id": h["id"], "collection": "loop"})
    await env.kv("loop", "k", 0)

    async def settled() -> Any:
        async with env.pool.acquire() as conn:
            rows = await conn.fetch("SELECT status FROM job_runs ORDER BY started_at")
        statuses = [r["status"] for r in rows]
        done = len(rows) == 4 and not {"running", "pending"} & set(statuses)
        return statuses if done else None

    # Then depths 1-3 ran and depth 4 was skipped; no dead letter
    assert await wait_for(settled) == ["succeeded", "succeeded", "succeeded", "skipped"]
    assert await env.get("loop", "k") == 3
    r = await env.api("GET", "/dead-letters")
    assert r.json() == []
    # And each handler write carries its cause and depth
    async with env.pool.acquire() as conn:
        metas = await conn.fetch(
            "SELECT causation_position, (meta->>'trigger_depth')::int AS depth FROM events"
            " WHERE type = 'kv.set' ORDER BY position"
        )
    assert [m["depth"] for m in metas] == [None, 1, 2, 3]
    assert all(m["causation_position"] for m in metas[1:])


async def test_disabled_trigger_does_nothing_until_enabled(env: Env, worker: Any) -> None:
    h = await env.handler(RECORDER)
    t = await env.trigger("kv", {"script_id": h["id"], "collection": "c", "enabled": False})
    await env.kv("c", "k", 1)
    await asyncio.sleep(0.5)
    async with env.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    r = await env.api("POST", f"/triggers/{t['id']}/enable")
    assert r.status_code == 201 and r.json()["enabled"] is True
    await env.kv("c", "k", 2)
    await wait_for(lambda: env.get("seen", "runs"))
    r = await env.api("POST", f"/triggers/{t['id']}/disable")
    assert r.json()["enabled"] is False
    await env.kv("c", "k", 3)
    await asyncio.sleep(0.5)
    assert await env.get("seen", "runs") == 1


async def test_list_get_and_delete(env: Env) -> None:
    h = await env.handler(RECORDER)
    t = await env.trigger("kv", {"script_id": h["id"], "collection": "c"})
    assert t["config"] == {"collection": "c", "ops": ["delete", "set"]}
    r = await env.api("GET", "/triggers")
    assert [x["id"] for x in r.json()] == [t["id"]]
    r = await env.api("GET", f"/triggers/{t['id']}")
    assert r.status_code == 200
    r = await env.api("DELETE", f"/triggers/{t['id']}")
    assert r.status_code == 204
    r = await env.api("DELETE", f"/triggers/{t['id']}")
    assert r.status_code == 404
    assert (await env.api("GET", "/triggers")).json() == []


async def _count_triggers(env: Env) -> int:
    async with env.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM events WHERE type LIKE 'trigger.%'"))


async def test_bad_input_is_refused_with_a_stable_code_and_writes_nothing(env: Env) -> None:
    h = await env.handler(RECORDER)
    module = await env.deploy.script(env.app["slug"], "lib", "fn f() { 1 }", kind="module")
    other_app = await env.deploy.app()
    foreign = await env.deploy.script(other_app["slug"], "theirs", "1")
    sid = h["id"]
    cases: list[tuple[str, Any, int, str]] = [
        ("nope", {"script_id": sid}, 400, "invalid_trigger_kind"),
        ("kv", {"script_id": sid}, 400, "invalid_trigger"),
        ("kv", {"script_id": "x", "collection": "c"}, 400, "invalid_trigger"),
        ("kv", {"script_id": sid, "collection": "c", "ops": ["put"]}, 400, "invalid_trigger"),
        ("kv", {"script_id": sid, "collection": "c", "ops": []}, 400, "invalid_trigger"),
        ("kv", {"script_id": sid, "collection": "c", "extra": 1}, 400, "invalid_trigger"),
        (
            "kv",
            {
                "script_id": sid,
                "collection": "c",
                "retry": {"max_attempts": 0, "backoff_base_ms": 1, "backoff_max_ms": 1},
            },
            400,
            "invalid_trigger",
        ),
        (
            "kv",
            {
                "script_id": sid,
                "collection": "c",
                "retry": {"max_attempts": 2, "backoff_base_ms": 10, "backoff_max_ms": 1},
            },
            400,
            "invalid_trigger",
        ),
        ("dead_letter", {"script_id": sid, "source": "mars"}, 400, "invalid_trigger"),
        ("kv", [1, 2], 400, "invalid_trigger"),
        (
            "kv",
            {"script_id": "00000000-0000-0000-0000-000000000000", "collection": "c"},
            400,
            "trigger_target_not_found",
        ),
        ("kv", {"script_id": foreign["id"], "collection": "c"}, 400, "trigger_target_other_app"),
        ("kv", {"script_id": module["id"], "collection": "c"}, 400, "trigger_target_not_endpoint"),
    ]
    for kind, body, status, code in cases:
        r = await env.api("POST", f"/triggers/{kind}", json=body)
        assert r.status_code == status, (kind, body, r.text)
        assert r.json()["error"]["code"] == code, (kind, body, r.text)
    assert await _count_triggers(env) == 0
