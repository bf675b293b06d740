"""A running job's appends carry its causation, depth and per-stream idempotency keys."""

from __future__ import annotations

from picloud.events.types import EventMeta
from workers.runtime import JobScope, bind_scope, job_meta, reset_scope


def test_outside_a_job_metadata_is_unchanged() -> None:
    meta = EventMeta(actor="script:s")
    assert job_meta(meta, "kv-x") is meta


def test_inside_a_job_appends_carry_cause_depth_and_stable_keys() -> None:
    scope = JobScope(
        dedupe_key="t:1:5#1", depth=2, causation_position=5, correlation_id="c", actor="script:s"
    )
    token = bind_scope(scope)
    try:
        a1 = job_meta(EventMeta(actor="script:s"), "kv-a")
        b1 = job_meta(EventMeta(actor="script:s"), "kv-b")
        a2 = job_meta(EventMeta(actor="script:s"), "kv-a")
    finally:
        reset_scope(token)
    assert (a1.trigger_depth, a1.causation_position, a1.correlation_id) == (2, 5, "c")
    assert [a1.idempotency_key, b1.idempotency_key, a2.idempotency_key] == [
        "t:1:5#1#kv-a#1",
        "t:1:5#1#kv-b#1",
        "t:1:5#1#kv-a#2",
    ]


def test_long_streams_get_hashed_keys_within_the_limit() -> None:
    scope = JobScope(
        dedupe_key="t:1:5#1", depth=1, causation_position=5, correlation_id=None, actor="x"
    )
    token = bind_scope(scope)
    try:
        meta = job_meta(EventMeta(), "kv-" + "k" * 600)
    finally:
        reset_scope(token)
    assert meta.idempotency_key is not None and len(meta.idempotency_key) <= 256
