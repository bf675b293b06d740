"""Async route jobs run on a worker with ctx.request; job status and the queues API."""

from __future__ import annotations

from typing import Any

from picloud.outbox.routes import enqueue_route_job
from tests.integration.triggers.conftest import Env, wait_for

ECHO = r"""
kv::collection("seen").set("body", ctx.request.body);
#{status: 201, body: #{got: ctx.request.body.n * 2, event: ctx.event}}
"""


async def _job(env: Env, job_id: str) -> dict[str, Any]:
    r = await env.api("GET", f"/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_async_route_job_runs_with_ctx_request_and_reports_its_result(
    env: Env, worker: Any
) -> None:
    h = await env.handler(ECHO)
    request = {
        "method": "POST",
        "path": "/echo",
        "params": {},
        "query": {},
        "headers": {},
        "body": {"n": 21},
        "body_raw": bytearray(b'{"n":21}'),
    }
    async with env.pool.acquire() as conn:
        job_id = await enqueue_route_job(conn, env.app["id"], h["id"], request)

    async def finished() -> Any:
        job = await _job(env, job_id)
        return job if job["status"] == "succeeded" else None

    job = await wait_for(finished)
    assert job["attempts"] == 1 and job["kind"] == "route"
    assert job["result"] == {"status": 201, "body": {"got": 42, "event": None}}
    assert await env.get("seen", "body") == {"n": 21}
    r = await env.api("GET", "/jobs/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_failing_async_route_job_becomes_a_route_dead_letter(env: Env, worker: Any) -> None:
    h = await env.handler(r"""throw "route broken";""")
    async with env.pool.acquire() as conn:
        job_id = await enqueue_route_job(conn, env.app["id"], h["id"], {"body": None})

    async def dead() -> Any:
        job = await _job(env, job_id)
        return job if job["status"] == "dead" else None

    job = await wait_for(dead)
    assert job["attempts"] == 3 and len(job["errors"]) == 3
    r = await env.api("GET", "/dead-letters?resolved=false")
    (d,) = r.json()
    assert d["job_kind"] == "route" and d["job_id"] == job_id and d["trigger_id"] is None


async def test_system_queues_shows_workers_and_backlog(env: Env, worker: Any) -> None:
    r = await env.client.get("/api/v1/admin/system/queues", headers=env.deploy.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["queues"][0]["name"] == "picloud"
    assert set(body["queues"][0]) == {"name", "ready", "delayed", "in_flight", "dead_lettered"}
    assert body["outbox_backlog"] == 0
    r = await env.client.get("/api/v1/admin/system/queues")
    assert r.status_code == 401


async def test_a_request_becomes_a_job_with_the_same_ctx_request(env: Env, worker: Any) -> None:
    from picloud.outbox.routes import enqueue_from_request

    h = await env.handler(ECHO)
    scope = {
        "type": "http",
        "method": "POST",
        "query_string": b"x=1",
        "headers": [(b"content-type", b"application/json")],
    }
    async with env.pool.acquire() as conn:
        job_id = await enqueue_from_request(
            conn,
            scope,
            app_id=env.app["id"],
            app_slug=env.app["slug"],
            script_id=h["id"],
            path="/echo",
            params={},
            body=b'{"n": 2}',
        )

    async def finished() -> Any:
        job = await _job(env, job_id)
        return job if job["status"] == "succeeded" else None

    job = await wait_for(finished)
    assert job["result"]["body"]["got"] == 4


async def test_async_route_answers_202_and_a_worker_runs_it(env: Env, worker: Any) -> None:
    # Given an async route, created through the admin API
    await env.deploy.endpoint(env.app["slug"], "POST", "/echo", ECHO, dispatch_mode="async")
    # When it is called
    r = await env.client.post(f"/a/{env.app['slug']}/echo", json={"n": 5})
    # Then it answers 202 at once and the job runs on the worker with ctx.request
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]

    async def finished() -> Any:
        job = await _job(env, job_id)
        return job if job["status"] == "succeeded" else None

    job = await wait_for(finished)
    assert job["result"]["body"]["got"] == 10
    assert await env.get("seen", "body") == {"n": 5}
