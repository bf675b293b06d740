"""The outbox relay: sends every row that is due and not finished (safe to run many times).

A row is due when its writer's own after-commit send should have happened
(the grace period after it committed) or when its job should have finished
(a lost message, a Redis restart, a killed worker, a delayed retry Redis
forgot). Rows are claimed with ``FOR UPDATE SKIP LOCKED`` and pushed past the
next redelivery window in the same statement, so several relays never send
one row together; the actor's ``job_runs`` lease makes a duplicate harmless
anyway. While the queue holds a backlog the relay waits: a due row is then most
likely still queued. The relay sleeps until the earliest due row, a NOTIFY on
``picloud_outbox`` (a commit that wrote rows) or the polling interval —
notifications are lost while disconnected, so polling stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from picloud.outbox.writer import OUTBOX_CHANNEL

__all__ = ["MAX_SENDS", "Relay"]

#: Sends after which a job that never finished is given up on as undeliverable
#: (e.g. no worker knows its actor): it becomes a dead letter instead of
#: circling between the relay and Dramatiq's own dead-letter set forever.
MAX_SENDS = 25

log = logging.getLogger("picloud.relay")

_CLAIM = """
UPDATE outbox o SET sends = o.sends + 1, sent_at = clock_timestamp(),
       status = CASE WHEN o.status = 'pending' THEN 'sent' ELSE o.status END,
       available_at = clock_timestamp() + make_interval(secs => $2)
 WHERE o.id IN (SELECT id FROM outbox
                 WHERE status <> 'done' AND available_at <= clock_timestamp()
                 ORDER BY available_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING o.dedupe_key
"""


class Relay:
    """Sends due outbox rows to Dramatiq until stopped."""

    def __init__(
        self,
        pool: Any,
        send: Callable[[list[str]], int],
        *,
        redeliver_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        batch: int = 500,
        dsn: str | None = None,
        settings: Any = None,
        max_sends: int = MAX_SENDS,
        backlog: Callable[[], int] | None = None,
    ) -> None:
        self.pool = pool
        self.send = send
        self.redeliver_seconds = redeliver_seconds
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.dsn = dsn
        self.settings = settings
        self.max_sends = max_sends
        #: Messages waiting in the queue right now (``None``: not known).
        self.backlog = backlog
        self.sent = 0
        self._wake = asyncio.Event()

    async def give_up_undeliverable(self) -> int:
        """Dead-letter due jobs sent ``max_sends`` times without finishing; how many."""
        if self.settings is None:
            return 0
        from picloud.outbox.payload import decode_payload
        from workers.jobs import fail

        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT dedupe_key, payload::text AS payload, sends FROM outbox"
                " WHERE status <> 'done' AND sends >= $1 AND available_at <= clock_timestamp()"
                " ORDER BY id LIMIT 100",
                self.max_sends,
            )
        for row in rows:
            payload = decode_payload(row["payload"])
            log.warning(
                "relay: job %s undeliverable after %d sends", row["dedupe_key"], row["sends"]
            )
            await fail(
                self.pool,
                row["dedupe_key"],
                payload,
                10**6,  # past any max_attempts: this ends the job
                f"undeliverable: sent {row['sends']} times without a worker finishing it",
                self.settings,
            )
        return len(rows)

    async def relay_once(self) -> int:
        """Claim and send every due row; how many were sent."""
        if self.backlog is not None and await asyncio.to_thread(self.backlog) > 0:
            # A due row is most likely still waiting in the queue behind the
            # others: re-sending now would only grow the backlog. Rows really
            # lost (a Redis restart empties the queue) are sent once it drains.
            return 0
        await self.give_up_undeliverable()
        total = 0
        while True:
            async with self.pool.acquire() as conn:
                keys = [
                    r["dedupe_key"]
                    for r in await conn.fetch(_CLAIM, self.batch, self.redeliver_seconds)
                ]
            if not keys:
                break
            sent = await asyncio.to_thread(self.send, keys)
            total += sent
            if sent < len(keys):
                # Redis is down: the rows are due again after the window; say so once.
                log.warning("relay: sent %d of %d due jobs; retrying later", sent, len(keys))
                break
            if len(keys) < self.batch:
                break
        self.sent += total
        return total

    async def _next_due(self) -> float:
        """Seconds until the earliest unfinished row is due (capped by the poll interval)."""
        async with self.pool.acquire() as conn:
            wait = await conn.fetchval(
                "SELECT extract(epoch FROM min(available_at) - clock_timestamp())"
                " FROM outbox WHERE status <> 'done'"
            )
        if wait is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, float(wait)))

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set."""
        listener = await self._listen()
        try:
            while not stop.is_set():
                try:
                    await self.relay_once()
                    wait = await self._next_due()
                except Exception as exc:  # noqa: BLE001 - keep relaying through outages
                    log.warning("relay: %r; retrying in %.1fs", exc, self.poll_seconds)
                    wait = self.poll_seconds
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(self._wake, stop), timeout=wait + 0.005)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close(timeout=5)

    async def _listen(self) -> Any:
        """A dedicated LISTEN connection (not from the pool: LISTEN is session state)."""
        if self.dsn is None:
            return None
        from picloud.db import connect

        try:
            conn = await connect(self.dsn)
            await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
            return conn
        except Exception as exc:  # noqa: BLE001 - polling still works
            log.warning("relay: LISTEN unavailable (%r); polling only", exc)
            return None


async def _first(*events: asyncio.Event) -> None:
    """Return when any of ``events`` is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
