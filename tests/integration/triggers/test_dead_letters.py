"""Retries, dead letters, replay, resolve, dead-letter triggers and the recursion stop."""

from __future__ import annotations

from typing import Any

from tests.integration.triggers.conftest import RECORDER, Env, wait_for

#: Fails until the "tries" counter reaches ``n`` (written with a fresh key per attempt).
FLAKY = r"""
let c = kv::collection("tries");
let n = (c.get("n") ?? 0) + 1;
c.set("n", n);
if n < %d { throw "boom " + n; }
kv::collection("seen").set("done", n);
"""

ALWAYS_FAILS = r"""throw "always broken";"""
FIXED = r"""kv::collection("seen").set("fixed", ctx.event.kv.key);"""


async def _runs(env: Env) -> list[dict[str, Any]]:
    async with env.pool.acquire() as conn:
        rows = await conn.fetch("SELECT status, attempts, errors::text AS errors FROM job_runs")
    return [dict(r) for r in rows]


async def _dead(env: Env, resolved: str = "false") -> list[dict[str, Any]]:
    r = await env.api("GET", f"/dead-letters?resolved={resolved}")
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_fails_twice_then_succeeds_runs_three_times_without_dead_letter(
    env: Env, worker: Any
) -> None:
    h = await env.handler(FLAKY % 3)
    await env.trigger("kv", {"script_id": h["id"], "collection": "in", "ops": ["set"]})
    await env.kv("in", "k", 1)
    assert await wait_for(lambda: env.get("seen", "done")) == 3
    runs = await _runs(env)
    assert [(r["status"], r["attempts"]) for r in runs] == [("succeeded", 3)]
    assert await env.get("tries", "n") == 3
    assert await _dead(env) == []


async def test_always_failing_becomes_one_dead_letter_then_replay_and_resolve(
    env: Env, worker: Any
) -> None:
    # Given a trigger with its own retry policy and a dead-letter trigger
    h = await env.handler(ALWAYS_FAILS)
    t = await env.trigger(
        "kv",
        {
            "script_id": h["id"],
            "collection": "in",
            "retry": {"max_attempts": 2, "backoff_base_ms": 10, "backoff_max_ms": 50},
        },
    )
    dl_handler = await env.handler(RECORDER)
    await env.trigger("dead_letter", {"script_id": dl_handler["id"]})
    # When the handler always fails
    await env.kv("in", "k1", "v")
    dead = await wait_for(lambda: _dead(env))
    # Then exactly one dead letter holds both attempts, the trigger and the source position
    assert len(dead) == 1
    d = dead[0]
    assert d["trigger_id"] == t["id"] and d["resolved"] is False
    assert [a["attempt"] for a in d["attempts"]] == [1, 2]
    assert "always broken" in d["error"]
    assert d["source_event"]["kv"]["key"] == "k1" and d["source_position"] > 0
    # And the dead-letter trigger fired once with the dead letter in ctx.event
    await wait_for(lambda: env.get("seen", "runs"))
    event = await env.get("seen", "event")
    assert event["source"] == "dead_letter"
    assert event["dead_letter"]["id"] == d["id"]
    assert event["dead_letter"]["trigger_id"] == t["id"]
    assert event["dead_letter"]["attempts"] == 2
    # When the script is fixed and the dead letter replayed
    await env.deploy.update(h["id"], FIXED)
    r = await env.api("POST", f"/dead-letters/{d['id']}/replay")
    assert r.status_code == 202, r.text
    assert "job_id" in r.json()
    assert await wait_for(lambda: env.get("seen", "fixed")) == "k1"
    # Then it is no longer unresolved; resolve works on it and on unknown ids gives 404
    assert await _dead(env) == []
    r = await env.api("POST", f"/dead-letters/{d['id']}/resolve")
    assert r.status_code == 200 and r.json()["resolution"] == "resolved"
    r = await env.api("POST", "/dead-letters/00000000-0000-0000-0000-000000000000/resolve")
    assert r.status_code == 404
    assert await env.get("seen", "runs") == 1


async def test_resolve_hides_a_dead_letter(env: Env, worker: Any) -> None:
    h = await env.handler(ALWAYS_FAILS)
    await env.trigger(
        "kv",
        {
            "script_id": h["id"],
            "collection": "in",
            "retry": {"max_attempts": 1, "backoff_base_ms": 0, "backoff_max_ms": 0},
        },
    )
    await env.kv("in", "k", 1)
    d = (await wait_for(lambda: _dead(env)))[0]
    r = await env.api("POST", f"/dead-letters/{d['id']}/resolve")
    assert r.status_code == 200
    assert await _dead(env) == []
    assert [x["id"] for x in await _dead(env, "true")] == [d["id"]]


async def test_failing_dead_letter_handler_marks_handler_failed_and_nothing_more(
    env: Env, worker: Any
) -> None:
    h = await env.handler(ALWAYS_FAILS)
    await env.trigger(
        "kv",
        {
            "script_id": h["id"],
            "collection": "in",
            "retry": {"max_attempts": 1, "backoff_base_ms": 0, "backoff_max_ms": 0},
        },
    )
    bad = await env.handler(r"""throw "the dead-letter handler is broken too";""")
    await env.trigger("dead_letter", {"script_id": bad["id"]})
    await env.kv("in", "k", 1)

    async def handler_failed() -> Any:
        rows = await _dead(env)
        return rows and rows[0]["resolution"] == "handler_failed" and rows

    rows = await wait_for(handler_failed)
    assert len(rows) == 1
    runs = sorted((r["status"], r["attempts"]) for r in await _runs(env))
    # One dead job, one handler run that failed once: no retry, no second dead letter.
    assert runs == [("dead", 1), ("handler_failed", 1)]


#: Lists unresolved dead letters, replays the first, resolves it, and answers what it saw.
SDK_SCRIPT = r"""
let before = dead_letters::list(#{resolved: false});
let id = before[0].id;
let job = dead_letters::replay(id);
let after = dead_letters::list(#{resolved: false});
let bad = "no";
try { dead_letters::resolve("00000000-0000-0000-0000-000000000000"); } catch (e) { bad = e; }
#{count: before.len(), error: before[0].error, job: job, after: after.len(), bad: bad}
"""


async def test_dead_letters_sdk_lists_replays_and_reports_errors(env: Env, worker: Any) -> None:
    h = await env.handler(ALWAYS_FAILS)
    await env.trigger(
        "kv",
        {
            "script_id": h["id"],
            "collection": "in",
            "retry": {"max_attempts": 1, "backoff_base_ms": 0, "backoff_max_ms": 0},
        },
    )
    await env.kv("in", "k", 1)
    await wait_for(lambda: _dead(env))
    await env.deploy.update(h["id"], FIXED)
    await env.deploy.endpoint(env.app["slug"], "POST", "/dl", SDK_SCRIPT)
    r = await env.client.post(f"/a/{env.app['slug']}/dl")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 1 and "always broken" in body["error"]
    assert body["after"] == 0 and isinstance(body["job"], str)
    assert body["bad"].startswith("dead_letters: resolve:") and "[not_found]" in body["bad"]
    assert await wait_for(lambda: env.get("seen", "fixed")) == "k"


async def test_rebuild_of_triggers_and_dead_letters_equals_the_live_tables(
    env: Env, worker: Any
) -> None:
    from picloud.projections.rebuild import rebuild

    h = await env.handler(ALWAYS_FAILS)
    t = await env.trigger(
        "kv",
        {
            "script_id": h["id"],
            "collection": "in",
            "retry": {"max_attempts": 1, "backoff_base_ms": 0, "backoff_max_ms": 0},
        },
    )
    await env.kv("in", "k", 1)
    d = (await wait_for(lambda: _dead(env)))[0]
    await env.api("POST", f"/dead-letters/{d['id']}/resolve")
    await env.api("POST", f"/triggers/{t['id']}/disable")
    async with env.pool.acquire() as conn:
        report = await rebuild(conn, verify=True)
    compared = {diff.table for diff in report.tables}
    assert {"triggers", "dead_letters"} <= compared
    assert report.identical, report.tables
