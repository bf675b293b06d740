"""Retry policy and backoff of PiCloud jobs, and the broker's explicit Dramatiq options."""

from __future__ import annotations

import random

from dramatiq.middleware import Retries, TimeLimit

from picloud.events.triggers import RetryPolicy
from picloud.outbox.payload import JobPayload
from picloud.settings import Settings
from workers.broker import build_broker
from workers.jobs import backoff_ms, policy_for

POLICY = RetryPolicy(max_attempts=5, backoff_base_ms=100, backoff_max_ms=1000)


def test_backoff_doubles_per_attempt_within_twenty_percent_jitter() -> None:
    rng = random.Random(7)
    for attempt, base in ((1, 100), (2, 200), (3, 400), (4, 800)):
        for _ in range(50):
            assert 0.8 * base <= backoff_ms(POLICY, attempt, rng) <= 1.2 * base


def test_backoff_never_exceeds_the_maximum() -> None:
    rng = random.Random(1)
    assert all(backoff_ms(POLICY, 10, rng) <= 1000 for _ in range(100))
    assert min(backoff_ms(POLICY, 10, rng) for _ in range(100)) >= 800


def test_jitter_spreads_delays() -> None:
    delays = {backoff_ms(POLICY, 2) for _ in range(20)}
    assert len(delays) > 5


def test_policy_defaults_come_from_settings_and_the_trigger_overrides_them() -> None:
    settings = Settings(
        trigger_retry_max_attempts=4,
        trigger_retry_min_backoff_ms=50,
        trigger_retry_max_backoff_ms=500,
    )
    job = JobPayload(job_id="j", kind="trigger", app_id="a", script_id="s")
    assert policy_for(job, settings) == RetryPolicy(
        max_attempts=4, backoff_base_ms=50, backoff_max_ms=500
    )
    own = JobPayload(job_id="j", kind="trigger", app_id="a", script_id="s", retry=POLICY)
    assert policy_for(own, settings) is POLICY


def test_dramatiq_never_retries_on_its_own() -> None:
    broker = build_broker(Settings(script_timeout_ms=2000), stub=True)
    retries = next(m for m in broker.middleware if isinstance(m, Retries))
    limit = next(m for m in broker.middleware if isinstance(m, TimeLimit))
    assert retries.max_retries == 0
    assert limit.time_limit == 32_000
    broker.close()
