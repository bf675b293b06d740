"""The Dramatiq broker: Redis from settings, explicit middleware, wake-ups instead of polling.

Dramatiq's Redis consumer polls an idle queue with a backoff up to the worker
timeout (1 s), so a job sent to an idle worker waits ~0.5 s on average
(research/machine-ceilings.md). Polling faster burns CPU. Here a send of an
immediate message also pushes a token on ``<queue>.wake``, and an idle
consumer blocks on that list (``BLPOP``) instead of sleeping: it starts the
job within a round trip, and idles in Redis, not on the CPU. The timeout of
the block keeps the heartbeat (every Redis command of the consumer) going.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

__all__ = [
    "JOB_ACTOR",
    "QUEUE",
    "WakingRedisBroker",
    "build_broker",
    "get_broker",
    "set_broker",
]

#: The queue trigger jobs and async routes go to.
QUEUE = "picloud"
#: The actor that runs one job (by dedupe key); see workers/actors.py.
JOB_ACTOR = "picloud_job"
#: Wake tokens kept per queue: enough for every idle consumer, bounded if none listens.
_WAKE_TOKENS = 256

_lock = threading.Lock()
_broker: dramatiq.Broker | None = None


class _WakingConsumer(_RedisConsumer):
    """A consumer that blocks on the queue's wake list while the queue is empty."""

    def __next__(self) -> Any:
        idle = (
            not self.message_cache
            and self.outstanding_message_count < self.prefetch
            and not self.queue_name.endswith(".DQ")
        )
        if idle:
            try:
                want = self.prefetch - self.outstanding_message_count
                messages = self.broker.do_fetch(self.queue_name, want)
                if not messages:
                    # Wait for a send (or the timeout, which keeps heartbeats flowing).
                    self.broker.client.blpop(
                        [self.broker.wake_key(self.queue_name)], timeout=self.timeout / 1000
                    )
                    messages = self.broker.do_fetch(self.queue_name, want)
                if not messages:
                    return None
                self.message_cache = messages
            except redis.ConnectionError as exc:
                raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]
        return super().__next__()  # type: ignore[no-untyped-call]


class WakingRedisBroker(RedisBroker):
    """``RedisBroker`` whose immediate sends wake a blocked consumer."""

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        """Consumers that block on the wake list when idle."""
        return _WakingConsumer

    def wake_key(self, queue_name: str) -> str:
        """The list idle consumers of ``queue_name`` block on."""
        return f"{self.namespace}:{queue_name}.wake"

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        """Enqueue, then wake one idle consumer when the message is due now."""
        sent = super().enqueue(message, delay=delay)
        if delay is None and not message.queue_name.endswith(".DQ"):
            key = self.wake_key(message.queue_name)
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(key, b"1")
            pipe.ltrim(key, 0, _WAKE_TOKENS - 1)
            pipe.execute()
        return sent


def _middleware(settings: Any) -> list[Any]:
    # Dramatiq's own defaults retry 20 times over about a month; PiCloud's
    # retries are its job actor's (policy from the trigger, state in
    # Postgres), so Dramatiq must never retry on its own.
    job_limit_ms = settings.script_timeout_ms + 30_000
    return [
        AgeLimit(max_age=None),
        TimeLimit(time_limit=job_limit_ms, interval=1000),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=0, min_backoff=1000, max_backoff=3_600_000),
    ]


def build_broker(settings: Any, *, stub: bool = False) -> dramatiq.Broker:
    """A broker for ``settings`` (``stub=True``: Dramatiq's in-memory broker, for tests)."""
    if stub:
        broker: dramatiq.Broker = StubBroker(middleware=_middleware(settings))
    else:
        if not settings.redis_url:
            raise RuntimeError("the Dramatiq broker needs REDIS_URL")
        broker = WakingRedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis_url,
            namespace=settings.redis_key("dramatiq"),
            middleware=_middleware(settings),
            # A killed worker's jobs come back through the outbox relay long
            # before Dramatiq's own 60 s heartbeat timeout; keep Dramatiq's.
        )
    broker.declare_queue(QUEUE)
    return broker


def get_broker(settings: Any = None) -> dramatiq.Broker | None:
    """The process's broker, built from ``settings`` (or the environment) on first use."""
    global _broker
    if _broker is None:
        with _lock:
            if _broker is None:
                if settings is None:
                    from picloud.settings import get_settings

                    settings = get_settings()
                if not settings.redis_url:
                    return None
                _broker = build_broker(settings)
                dramatiq.set_broker(_broker)
    return _broker


def set_broker(broker: dramatiq.Broker | None) -> None:
    """Use ``broker`` in this process (tests, the worker command); ``None`` forgets it."""
    global _broker
    with _lock:
        _broker = broker
        if broker is not None:
            dramatiq.set_broker(broker)
