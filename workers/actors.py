"""The job actor: one Dramatiq actor runs every PiCloud job by its dedupe key.

The message carries only the key; the job itself is the outbox row in
Postgres, which the actor reads (Redis is the transport, never the record).
Retries are the actor's own (policy per trigger, attempts in ``job_runs``):
a failed attempt re-sends the key with the backoff as Dramatiq's delay.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from workers.broker import JOB_ACTOR, QUEUE

__all__ = ["declare_actors"]

log = logging.getLogger("picloud.worker")


def declare_actors(broker: dramatiq.Broker) -> dramatiq.Actor[Any, Any]:
    """Declare the job actor on ``broker`` (once) and return it."""
    existing = broker.actors.get(JOB_ACTOR)
    if existing is not None:
        return existing
    from workers.middleware import DeadLetterOnGiveUp, WorkerRuntimeMiddleware

    kinds = {type(m) for m in broker.middleware}
    if WorkerRuntimeMiddleware not in kinds:
        broker.add_middleware(WorkerRuntimeMiddleware())
    if DeadLetterOnGiveUp not in kinds:
        broker.add_middleware(DeadLetterOnGiveUp())

    def send_retry(key: str, delay_ms: int) -> None:
        actor.send_with_options(args=(key,), delay=max(1, delay_ms))

    def picloud_job(key: str) -> None:
        """Run the job whose outbox dedupe key is ``key``."""
        from workers.jobs import run_job
        from workers.middleware import runtime

        outcome = run_job(runtime(), key, send_retry)
        log.debug("job %s: %s", key, outcome)

    actor: dramatiq.Actor[Any, Any] = dramatiq.Actor(
        picloud_job,
        broker=broker,
        actor_name=JOB_ACTOR,
        queue_name=QUEUE,
        priority=0,
        # Explicit: Dramatiq never retries a job on its own (see workers/broker.py).
        options={"max_retries": 0},
    )
    return actor
