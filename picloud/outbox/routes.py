"""Async routes as jobs: ``202 {"job_id"}`` at once, the script on a worker with retries.

The data plane calls :func:`enqueue_route_job` for a route whose
``dispatch_mode`` is ``async``: one outbox row (dedupe key ``r:<job id>``)
carrying ``ctx.request`` and the caller, committed before the 202 is sent,
then handed to Dramatiq after commit like any trigger job. A failing run is
retried with the PICLOUD_TRIGGER_RETRY_* policy and ends as a dead letter
(``job_kind = "route"``). :func:`get_job` is what
``GET /api/v1/admin/apps/{app}/jobs/{job_id}`` shows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from picloud.outbox.payload import JobPayload
from picloud.outbox.writer import OUTBOX_CHANNEL, insert_job
from picloud.sdk._values import to_stored
from picloud.services.validation import is_uuid

__all__ = ["JobView", "enqueue_from_request", "enqueue_route_job", "get_job"]

_decode = msgspec.json.Decoder()


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    """A job's state: ``pending``/``running``/``retrying``/``succeeded``/``dead``/…"""

    id: str
    app_id: str
    kind: str
    trigger_id: str | None
    script_id: str | None
    status: str
    attempts: int
    errors: list[dict[str, Any]]
    result: Any
    created_at: datetime
    finished_at: datetime | None


async def enqueue_route_job(
    conn: Any, app_id: str, script_id: str, request: dict[str, Any], principal: Any = None
) -> str:
    """Queue one run of an async route's script (own transaction); the job id."""
    job_id = str(uuid.uuid4())
    payload = JobPayload(
        job_id=job_id,
        kind="route",
        app_id=app_id,
        script_id=script_id,
        request=to_stored(request),
        principal=principal,
        depth=0,
        correlation_id=job_id,
    )
    async with conn.transaction():
        await insert_job(conn, payload, f"r:{job_id}", None)
        await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
    return job_id


async def enqueue_from_request(
    conn: Any,
    scope: dict[str, Any],
    *,
    app_id: str,
    app_slug: str,
    script_id: str,
    path: str,
    params: dict[str, str],
    body: bytes,
    principal: Any = None,
) -> str:
    """Queue an async route's run from the data plane's request; the job id for the 202.

    ``ctx.request`` and ``ctx.principal`` are built exactly as for a sync run
    (:func:`picloud.dataplane.context.build_ctx`), then kept in the job.

    Raises:
        picloud.dataplane.context.BadBody: a JSON request whose body is not JSON (400).
    """
    from picloud.dataplane.context import build_ctx

    ctx = build_ctx(
        scope,
        app_id=app_id,
        app_slug=app_slug,
        path=path,
        params=params,
        body=body,
        principal=principal,
    )
    return await enqueue_route_job(conn, app_id, script_id, ctx["request"], ctx["principal"])


async def get_job(conn: Any, app_id: str, job_id: str) -> JobView | None:
    """The app's job with this id (queued, running or finished), or ``None``."""
    if not is_uuid(job_id):
        return None
    row = await conn.fetchrow(
        "SELECT o.job_id::text AS id, o.app_id::text AS app_id, o.kind,"
        " o.trigger_id::text AS trigger_id, o.payload->>'script_id' AS script_id,"
        " coalesce(r.status, 'pending') AS status, coalesce(r.attempts, 0) AS attempts,"
        " coalesce(r.errors, '[]')::text AS errors, r.result::text AS result,"
        " o.created_at, r.finished_at"
        " FROM outbox o LEFT JOIN job_runs r ON r.dedupe_key = o.dedupe_key"
        " WHERE o.job_id = $1::uuid AND o.app_id = $2::uuid",
        job_id,
        app_id,
    )
    if row is None:
        row = await conn.fetchrow(
            "SELECT job_id::text AS id, app_id::text AS app_id, kind,"
            " trigger_id::text AS trigger_id, script_id::text AS script_id, status, attempts,"
            " errors::text AS errors, result::text AS result, started_at AS created_at,"
            " finished_at FROM job_runs WHERE job_id = $1::uuid AND app_id = $2::uuid",
            job_id,
            app_id,
        )
    if row is None:
        return None
    return JobView(
        id=row["id"],
        app_id=row["app_id"],
        kind=row["kind"],
        trigger_id=row["trigger_id"],
        script_id=row["script_id"],
        status=row["status"],
        attempts=row["attempts"],
        errors=_decode.decode(row["errors"]),
        result=None if row["result"] is None else _decode.decode(row["result"]),
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )
