"""Retention sweepers of ``picloud scheduler`` (safe to run in several schedulers).

* Resolved dead letters older than PICLOUD_DEAD_LETTER_RETENTION_DAYS leave
  the ``dead_letters`` table through a ``dead_letter.expired`` event (their
  history stays in the log, and a rebuild still equals the live table).
* Finished outbox rows older than a day are deleted (delivery machinery, not
  history: the job's ``job_runs`` row and the events remain).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from picloud.events.store import append
from picloud.events.triggers import DeadLetterExpired, dead_letter_stream
from picloud.events.types import EventMeta

__all__ = ["Sweeper"]

log = logging.getLogger("picloud.sweeper")

#: Seconds between sweeps.
SWEEP_SECONDS = 3600.0


class Sweeper:
    """Runs the retention sweeps every ``interval`` seconds."""

    def __init__(self, pool: Any, settings: Any, interval: float = SWEEP_SECONDS) -> None:
        self.pool = pool
        self.settings = settings
        self.interval = interval

    async def sweep_once(self) -> int:
        """One pass; how many dead letters expired."""
        expired = 0
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id::text AS id, app_id::text AS app_id FROM dead_letters"
                " WHERE resolved AND updated_at < now() - make_interval(days => $1) LIMIT 1000",
                self.settings.dead_letter_retention_days,
            )
            for row in rows:
                async with conn.transaction():
                    # Appending with expected version None is idempotent enough: a second
                    # scheduler's expiry of the same row finds it gone and skips it.
                    await conn.execute("SELECT picloud_lock_app($1::uuid)", row["app_id"])
                    still = await conn.fetchval(
                        "SELECT 1 FROM dead_letters WHERE id = $1::uuid", row["id"]
                    )
                    if still is None:
                        continue
                    event = DeadLetterExpired(dead_letter_id=row["id"], app_id=row["app_id"])
                    await append(
                        conn,
                        dead_letter_stream(row["id"]),
                        None,
                        [event],
                        EventMeta.system(),
                        app_id=row["app_id"],
                    )
                    expired += 1
            await conn.execute(
                "DELETE FROM outbox WHERE status = 'done' AND created_at < now() - interval '1 day'"
            )
        return expired

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until ``stop`` is set."""
        while not stop.is_set():
            try:
                n = await self.sweep_once()
                if n:
                    log.info("sweeper: %d resolved dead letters expired", n)
            except Exception as exc:  # noqa: BLE001 - try again next time
                log.warning("sweeper: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
