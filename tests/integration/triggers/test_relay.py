"""The relay: due rows are sent once per window; an undeliverable job ends as a dead letter."""

from __future__ import annotations

from typing import Any

from picloud.outbox.relay import Relay
from picloud.outbox.sender import configure_sender
from tests.integration.triggers.conftest import RECORDER, Env


async def test_relay_sends_due_rows_and_dead_letters_an_undeliverable_job(
    env: Env, dp_settings: Any
) -> None:
    # Given a committed job whose messages go nowhere (no broker, no worker)
    configure_sender(lambda: None)
    try:
        h = await env.handler(RECORDER)
        await env.trigger("kv", {"script_id": h["id"], "collection": "c"})
        await env.kv("c", "k", 1)
    finally:
        configure_sender(None)
    sent: list[list[str]] = []

    def send(keys: list[str]) -> int:
        sent.append(keys)
        return len(keys)

    relay = Relay(env.pool, send, redeliver_seconds=0, settings=dp_settings, max_sends=2)
    async with env.pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET available_at = now()")
    # When the relay runs: the row is sent, sent again after its window, then given up
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0
    assert len(sent) == 2 and sent[0] == sent[1]
    async with env.pool.acquire() as conn:
        status = await conn.fetchval("SELECT status FROM outbox")
        dead = await conn.fetch("SELECT error FROM dead_letters")
    assert status == "done"
    assert len(dead) == 1 and dead[0]["error"].startswith("undeliverable")


async def test_a_row_inside_its_window_is_not_sent_twice(env: Env) -> None:
    configure_sender(lambda: None)
    try:
        h = await env.handler(RECORDER)
        await env.trigger("kv", {"script_id": h["id"], "collection": "c"})
        await env.kv("c", "k", 1)
    finally:
        configure_sender(None)
    sent: list[str] = []
    relays = [
        Relay(env.pool, lambda keys: sent.extend(keys) or len(keys), redeliver_seconds=60)
        for _ in range(2)
    ]
    async with env.pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET available_at = now()")
    counts = [await r.relay_once() for r in relays + relays]
    assert counts == [1, 0, 0, 0] and len(sent) == 1


async def test_relay_waits_while_the_queue_has_a_backlog(env: Env, broker: Any) -> None:
    from picloud.outbox.sender import send_keys
    from workers.status import ready_count

    # Given one job queued in Redis (no worker runs) and due in the outbox
    h = await env.handler(RECORDER)
    await env.trigger("kv", {"script_id": h["id"], "collection": "c"})
    await env.kv("c", "k", 1)
    async with env.pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET available_at = now()")
        key = await conn.fetchval("SELECT dedupe_key FROM outbox")
    await wait_for_ready(broker, 1)
    # When the relay looks: the backlog holds it back; once the queue is empty it sends
    relay = Relay(env.pool, send_keys, redeliver_seconds=60, backlog=lambda: ready_count(broker))
    assert await relay.relay_once() == 0
    broker.flush_all()
    assert ready_count(broker) == 0
    assert await relay.relay_once() == 1
    assert ready_count(broker) == 1 and key


async def wait_for_ready(broker: Any, n: int) -> None:
    import asyncio

    from workers.status import ready_count

    for _ in range(100):
        if ready_count(broker) >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the message never reached the queue")
