"""One job, start to finish: claim it in Postgres, run its handler, record the outcome.

Postgres is the truth (research §5.9–10). The job's ``job_runs`` row is
claimed with a lease under the outbox row's lock, so a duplicate message (a
relay re-send, Dramatiq's redelivery after a worker died) runs nothing while
another run holds the lease, and nothing at all once the job finished. A
failure is recorded with its attempt number, error and time, then either
re-sent with exponential backoff and jitter or turned into a dead letter.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from picloud.events.store import append
from picloud.events.triggers import (
    Attempt,
    DeadLettered,
    DeadLetterHandlerFailed,
    RetryPolicy,
    dead_letter_stream,
)
from picloud.events.types import EventMeta
from picloud.outbox.payload import JobPayload, decode_payload

__all__ = ["JobFailed", "backoff_ms", "policy_for", "run_job"]

log = logging.getLogger("picloud.worker")

#: Seconds a run's lease outlives the script's own time limit.
LEASE_MARGIN_SECONDS = 5.0

_encode = msgspec.json.encode
_attempts_decoder = msgspec.json.Decoder(list[Attempt])


class JobFailed(Exception):
    """The handler failed (script error, missing script…); the text is the dead letter's error."""


def policy_for(payload: JobPayload, settings: Any) -> RetryPolicy:
    """The job's retry policy: the trigger's own, else PICLOUD_TRIGGER_RETRY_*."""
    if payload.retry is not None:
        return payload.retry
    return RetryPolicy(
        max_attempts=settings.trigger_retry_max_attempts,
        backoff_base_ms=settings.trigger_retry_min_backoff_ms,
        backoff_max_ms=settings.trigger_retry_max_backoff_ms,
    )


def backoff_ms(policy: RetryPolicy, failed_attempt: int, rng: random.Random | None = None) -> int:
    """Delay before the attempt after ``failed_attempt``: base·2ⁿ⁻¹, capped, then ±20% jitter."""
    base = min(policy.backoff_max_ms, policy.backoff_base_ms * 2 ** (failed_attempt - 1))
    jitter = (rng or random).uniform(0.8, 1.2)
    return max(0, min(policy.backoff_max_ms, int(base * jitter)))


def _lease(settings: Any) -> float:
    return float(settings.script_timeout_ms) / 1000.0 + LEASE_MARGIN_SECONDS


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- Postgres steps (on the loop)


# One round trip per claim: start (or resume) the run under the job_runs row
# lock that INSERT … ON CONFLICT takes, push the outbox row past the lease, and
# read the handler script with its app's slug and module versions.
_CLAIM = """
WITH c AS (
    INSERT INTO job_runs AS r (dedupe_key, job_id, app_id, kind, trigger_id, script_id, status,
                               attempts, lease_until)
    SELECT o.dedupe_key, o.job_id, o.app_id, o.kind, o.trigger_id,
           (o.payload->>'script_id')::uuid, 'running', 1,
           clock_timestamp() + make_interval(secs => $2)
      FROM outbox o WHERE o.dedupe_key = $1 AND o.status <> 'done'
    ON CONFLICT (dedupe_key) DO UPDATE
       SET status = 'running', attempts = r.attempts + 1, lease_until = EXCLUDED.lease_until,
           updated_at = clock_timestamp()
     WHERE r.status IN ('pending', 'retrying', 'running')
       AND (r.lease_until IS NULL OR r.lease_until < clock_timestamp())
       AND (r.next_attempt_at IS NULL
            OR r.next_attempt_at <= clock_timestamp() + interval '200 milliseconds')
    RETURNING r.attempts, jsonb_array_length(r.errors) + 1 AS run
), u AS (
    UPDATE outbox SET status = 'sent', available_at = clock_timestamp() + make_interval(secs => $2)
     WHERE dedupe_key = $1 AND EXISTS (SELECT 1 FROM c)
)
SELECT c.attempts, c.run, o.payload::text AS payload,
       s.id::text AS id, s.app_id::text AS app_id, s.name, s.kind, s.version, a.slug,
       (SELECT json_agg(json_build_array(m.name, m.id, m.version)) FROM scripts m
         WHERE m.app_id = s.app_id AND m.kind = 'module')::text AS modules
  FROM c CROSS JOIN outbox o
  LEFT JOIN scripts s ON s.id = (o.payload->>'script_id')::uuid
  LEFT JOIN apps a ON a.id = s.app_id
 WHERE o.dedupe_key = $1
"""


async def claim(pool: Any, key: str, lease: float) -> tuple[JobPayload, int, int, Any] | None:
    """Start a run of ``key``: ``(payload, attempt, run scope, script row)``, or ``None``.

    ``None`` means nothing is to run: the job is finished, another run holds
    its lease, or its retry is not due yet. The run scope numbers the
    handler's idempotency keys. It counts recorded failures, not attempts: a
    retry after a failure is a fresh run whose writes count, while a re-run
    after a crash (no failure recorded) repeats the crashed run's keys, so
    what that run committed is not written twice. The script row is ``None``
    in its fields when the handler script is gone.
    """
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_CLAIM, key, lease)
    if row is None:
        return None
    return decode_payload(row["payload"]), int(row["attempts"]), int(row["run"]), row


async def finish(pool: Any, key: str, status: str, result: Any = None) -> None:
    """Record a final state (``succeeded``, ``skipped``) and retire the outbox row."""
    async with pool.acquire() as conn:
        # One statement, so the run and the outbox row end together.
        await conn.execute(
            "WITH r AS (UPDATE job_runs SET status = $2, result = $3::text::jsonb,"
            " lease_until = NULL, finished_at = clock_timestamp(),"
            " updated_at = clock_timestamp() WHERE dedupe_key = $1)"
            " UPDATE outbox SET status = 'done' WHERE dedupe_key = $1",
            key,
            status,
            None if result is None else _encode(result).decode(),
        )


async def fail(
    pool: Any, key: str, payload: JobPayload, attempt: int, error: str, settings: Any
) -> int | None:
    """Record a failed attempt; the retry delay in ms, or ``None`` when the job is over."""
    from picloud.triggers.base import get_kind

    policy = policy_for(payload, settings)
    kind = get_kind(payload.trigger_kind) if payload.trigger_kind else None
    final_kind = kind is not None and not kind.dead_letters
    async with pool.acquire() as conn, conn.transaction():
        text = await conn.fetchval(
            "UPDATE job_runs SET errors = errors || $2::text::jsonb, updated_at = clock_timestamp()"
            " WHERE dedupe_key = $1 RETURNING errors::text",
            key,
            _encode([Attempt(attempt=attempt, error=error, at=_now())]).decode(),
        )
        attempts = _attempts_decoder.decode(text or "[]")
        if not final_kind and attempt < policy.max_attempts:
            delay = backoff_ms(policy, attempt)
            await conn.execute(
                "UPDATE job_runs SET status = 'retrying', lease_until = NULL,"
                " next_attempt_at = clock_timestamp() + make_interval(secs => $2)"
                " WHERE dedupe_key = $1",
                key,
                delay / 1000.0,
            )
            # If the delayed message is lost (Redis restart), the relay re-sends it.
            await conn.execute(
                "UPDATE outbox SET available_at = clock_timestamp() + make_interval(secs => $2)"
                " WHERE dedupe_key = $1",
                key,
                delay / 1000.0 + _lease(settings),
            )
            return delay
        meta = EventMeta(
            actor=f"trigger:{payload.trigger_id}" if payload.trigger_id else "system",
            correlation_id=payload.correlation_id,
            causation_position=payload.causation_position,
            trigger_depth=payload.depth,
        )
        if final_kind:
            # The recursion stop: a dead-letter handler's failure is noted, nothing more.
            status = "handler_failed"
            if payload.dead_letter_id:
                event = DeadLetterHandlerFailed(
                    dead_letter_id=payload.dead_letter_id,
                    app_id=payload.app_id,
                    trigger_id=payload.trigger_id,
                    error=error,
                )
                await append(
                    conn,
                    dead_letter_stream(payload.dead_letter_id),
                    None,
                    [event],
                    meta,
                    app_id=payload.app_id,
                )
        else:
            status = "dead"
            dl_id = str(uuid.uuid4())
            dead = DeadLettered(
                dead_letter_id=dl_id,
                app_id=payload.app_id,
                job_id=payload.job_id,
                job_kind=payload.kind,
                dedupe_key=key,
                trigger_id=payload.trigger_id,
                script_id=payload.script_id,
                source_position=payload.causation_position,
                source_event=payload.event,
                payload=msgspec.to_builtins(payload),
                error=error,
                attempts=attempts,
            )
            await append(conn, dead_letter_stream(dl_id), 0, [dead], meta, app_id=payload.app_id)
        await conn.execute(
            "UPDATE job_runs SET status = $2, lease_until = NULL, finished_at = clock_timestamp()"
            " WHERE dedupe_key = $1",
            key,
            status,
        )
        await conn.execute("UPDATE outbox SET status = 'done' WHERE dedupe_key = $1", key)
        return None


async def load_target(pool: Any, script_id: str) -> Any:
    """The script, its app's slug and module versions (``None`` when the script is gone)."""
    async with pool.acquire() as conn:
        return await conn.fetchrow(
            "SELECT s.id::text AS id, s.app_id::text AS app_id, s.name, s.kind, s.source,"
            " s.version, a.slug,"
            " (SELECT json_agg(json_build_array(m.name, m.id, m.version)) FROM scripts m"
            "   WHERE m.app_id = s.app_id AND m.kind = 'module')::text AS modules"
            " FROM scripts s JOIN apps a ON a.id = s.app_id WHERE s.id = $1::uuid",
            script_id,
        )


# ---------------------------------------------------------------- the run (actor thread)


def run_job(rt: Any, key: str, send_retry: Any = None) -> str:
    """Run the job ``key`` once if it is due; the outcome (``succeeded``, ``retrying``, …)."""
    settings = rt.settings
    lease = _lease(settings)
    claimed = rt.call(claim(rt.jobs_pool, key, lease))
    if claimed is None:
        return "ignored"
    payload, attempt, run_scope, target = claimed
    if payload.depth > settings.max_trigger_depth:
        # A chain this deep is a loop someone built: skip it, loudly, without a dead letter.
        log.warning(
            "job %s skipped: trigger depth %d exceeds PICLOUD_MAX_TRIGGER_DEPTH=%d",
            key,
            payload.depth,
            settings.max_trigger_depth,
        )
        rt.call(finish(rt.jobs_pool, key, "skipped", {"reason": "max_trigger_depth"}))
        return "skipped"
    try:
        result = execute(rt, payload, f"{key}#{run_scope}", target)
    except JobFailed as exc:
        delay = rt.call(fail(rt.pool, key, payload, attempt, str(exc), settings))
        if delay is None:
            return "dead"
        if send_retry is not None:
            send_retry(key, delay)
        return "retrying"
    rt.call(finish(rt.jobs_pool, key, "succeeded", result))
    return "succeeded"


def execute(rt: Any, payload: JobPayload, scope_key: str, row: Any = None) -> Any:
    """Run the handler script with ``ctx``; its value in stored JSON form, or ``JobFailed``."""
    from picloud.execution.cache import CompiledScript
    from picloud.execution.run import ModuleRef, ScriptRun, bind_run
    from picloud.rhai import Scope
    from picloud.rhai.errors import RhaiError
    from picloud.sdk._values import from_stored, to_stored
    from picloud.sdk.context import SdkContext, use_context
    from workers.runtime import JobScope, bind_scope, reset_scope

    if row is None:
        row = rt.call(load_target(rt.pool, payload.script_id))
    if (
        row is None
        or row["id"] is None
        or row["app_id"] != payload.app_id
        or row["kind"] != "endpoint"
    ):
        raise JobFailed(f"handler script {payload.script_id} no longer exists in the app")
    compiled = rt.scripts.get(row["id"], row["version"])
    if compiled is None:
        # The claim reads no source (scripts are cached by version); a miss loads it.
        row = rt.call(load_target(rt.pool, payload.script_id))
        if row is None or row["app_id"] != payload.app_id or row["kind"] != "endpoint":
            raise JobFailed(f"handler script {payload.script_id} no longer exists in the app")
        try:
            ast = rt.engine.compile(row["source"])
        except RhaiError as exc:
            raise JobFailed(f"script {row['name']}: {exc}") from None
        compiled = CompiledScript(row["id"], row["app_id"], row["name"], row["version"], ast)
        rt.scripts.put(row["id"], row["version"], compiled)
    modules = {
        name: ModuleRef(mid, version)
        for name, mid, version in msgspec.json.decode(row["modules"] or "[]")
    }
    timeout = settings_timeout(rt.settings)
    run = ScriptRun(
        app_id=payload.app_id,
        app_slug=row["slug"],
        script_id=row["id"],
        script_name=row["name"],
        request_id=payload.job_id,
        principal=None,
        modules=modules,
        deadline=time.monotonic() + timeout,
        bridge=rt.bridge,
        load_script=_loader(rt),
    )
    ctx = {
        "request": None if payload.request is None else from_stored(payload.request),
        "app": {"id": payload.app_id, "slug": row["slug"]},
        "principal": payload.principal,
        "event": None if payload.event is None else from_stored(payload.event),
    }
    scope = Scope()
    scope.push_constant("ctx", ctx)
    job = JobScope(
        dedupe_key=scope_key,
        depth=payload.depth,
        causation_position=payload.causation_position,
        correlation_id=payload.correlation_id,
        actor=f"script:{row['id']}",
    )
    token = bind_scope(job)
    try:
        with (
            bind_run(run),
            use_context(
                SdkContext(
                    app_id=run.app_id,
                    app_slug=run.app_slug,
                    script_id=run.script_id,
                    script_name=run.script_name,
                    request_id=run.request_id,
                )
            ),
        ):
            value = rt.engine.eval_ast(compiled.ast, scope, timeout=timeout)
    except RhaiError as exc:
        raise JobFailed(f"script {row['name']}: {exc}") from None
    finally:
        reset_scope(token)
    try:
        return to_stored(value)
    except Exception:  # noqa: BLE001 - a value JSON cannot hold is kept as its type only
        return {"unstorable": type(value).__name__}


def settings_timeout(settings: Any) -> float:
    """The handler's wall-clock budget in seconds."""
    return float(settings.script_timeout_ms) / 1000.0


def _loader(rt: Any) -> Any:
    def load(script_id: str) -> Any:
        from picloud.services.scripts import get_script

        return rt.bridge.with_conn(lambda conn: get_script(conn, script_id))

    return load


async def _give_up(pool: Any, key: str, reason: str, settings: Any) -> int | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT o.payload::text AS payload, o.status, r.attempts, r.status AS run"
            " FROM outbox o LEFT JOIN job_runs r USING (dedupe_key) WHERE o.dedupe_key = $1",
            key,
        )
    if row is None or row["status"] == "done":
        return None
    if row["run"] is None:
        return None  # never started: the relay sends it again
    return await fail(
        pool, key, decode_payload(row["payload"]), max(1, row["attempts"]), reason, settings
    )


def give_up(rt: Any, key: str, reason: str) -> int | None:
    """Dramatiq dropped ``key``: count it as a failed attempt (retry delay, or ``None``)."""
    return rt.call(_give_up(rt.pool, key, reason, rt.settings))  # type: ignore[no-any-return]
