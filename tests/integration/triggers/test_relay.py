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
