"""After-commit send: hand freshly committed outbox rows to Dramatiq at once.

asyncpg has no commit callback, so the writer's transaction is watched from
a task on the same loop: as soon as the connection has left the transaction
the keys are sent. A rolled-back row is sent too; the actor finds no row and
drops it (Postgres is the truth). Anything not sent here — no broker in this
process, Redis down, the process died — is sent by the relay once the row's
grace period is over, so a send is an optimisation, never the guarantee.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["configure_sender", "send_after_commit", "send_keys"]

log = logging.getLogger("picloud.outbox")

#: Longest the watcher waits for a transaction to end before leaving it to the relay.
WATCH_SECONDS = 10.0
#: How often the watcher looks at the connection while its transaction is open.
POLL_SECONDS = 0.0005

# Keyed by id(): pooled connection proxies cannot be weakly referenced; the
# watcher removes its entry when it ends.
_pending: dict[int, list[str]] = {}
_broker_factory: Callable[[], Any] | None = None
# The loop keeps only weak references to tasks: hold the watchers until done.
_watchers: set[asyncio.Task[None]] = set()


def configure_sender(factory: Callable[[], Any] | None) -> None:
    """Where the broker comes from (``None``: ``workers.broker.get_broker`` from the environment)."""
    global _broker_factory
    _broker_factory = factory


def _broker() -> Any:
    if _broker_factory is not None:
        return _broker_factory()
    from workers.broker import get_broker

    return get_broker()


def send_keys(keys: list[str]) -> int:
    """Send one job message per dedupe key; how many went out (0 without a broker)."""
    broker = _broker()
    if broker is None or not keys:
        return 0
    from dramatiq import Message

    from workers.broker import JOB_ACTOR, QUEUE

    sent = 0
    for key in keys:
        try:
            broker.enqueue(
                Message(queue_name=QUEUE, actor_name=JOB_ACTOR, args=(key,), kwargs={}, options={})
            )
            sent += 1
        except Exception as exc:  # noqa: BLE001 - the relay sends it later
            log.warning("outbox: send of %s failed, the relay will retry: %r", key, exc)
            break
    return sent


def send_after_commit(conn: Any, key: str) -> None:
    """Send ``key`` once ``conn``'s current transaction has ended (batched per transaction)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    keys = _pending.get(id(conn))
    if keys is not None:
        keys.append(key)
        return
    keys = _pending[id(conn)] = [key]
    task = loop.create_task(_watch(conn, keys))
    _watchers.add(task)
    task.add_done_callback(_watchers.discard)


async def _watch(conn: Any, keys: list[str]) -> None:
    deadline = time.monotonic() + WATCH_SECONDS
    try:
        await asyncio.sleep(0)
        while _in_transaction(conn):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(POLL_SECONDS)
    finally:
        if _pending.get(id(conn)) is keys:
            del _pending[id(conn)]
    # enqueue() is blocking Redis I/O: keep it off the loop.
    await asyncio.to_thread(send_keys, list(keys))


def _in_transaction(conn: Any) -> bool:
    """Whether ``conn`` is still inside a transaction (a released pool proxy is not)."""
    try:
        return bool(conn.is_in_transaction()) and not conn.is_closed()
    except Exception:  # noqa: BLE001 - released back to the pool: its transaction ended
        return False
