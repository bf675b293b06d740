"""Benchmark: event-log appends per second next to raw asyncpg, measured in the same run.

    .venv/bin/python bench/append.py [--seconds 3] [--writers 1,8,32]

For 1, 8 and 32 concurrent writers it measures

* single events: ``picloud.events.append`` of one event per transaction versus a
  raw ``INSERT`` + ``COMMIT`` of the same row into a look-alike table;
* 100-event batches: one ``append`` of 100 events per transaction versus a raw
  ``COPY`` of 100 rows per transaction;

and prints events/s with the ratio to raw. PiCloud is measured twice: every
writer in its own app (appends of different apps run in parallel) and all
writers in one app (they serialize on the app's append lock, the worst case);
a last column shows the per-app case with the optional in-transaction NOTIFY.
Uses ``DATABASE_URL`` (else the embedded PostgreSQL) and a scratch database
that is dropped afterwards. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _db import alternating_rounds, database_settings, describe_server, gated_rate, rule, scratch

from picloud.db import create_pool
from picloud.events import Event, EventMeta, append
from picloud.migrations import migrate


class BenchItemAdded(Event, tag="bench.item_added"):
    """A ~200-byte event, the size the machine-ceilings baseline used."""

    cart_id: str
    sku: str
    quantity: int
    price_cents: int
    note: str


EVENT = BenchItemAdded(
    cart_id=str(uuid.uuid4()),
    sku="SKU-0042-BLUE-XL",
    quantity=2,
    price_cents=1999,
    note="gift wrap please, leave at the back door " * 2,
)
META = EventMeta(actor="user:bench", request_id="bench", correlation_id="bench")

_RAW_DDL = """
CREATE TABLE raw_events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id uuid, stream text NOT NULL, version bigint NOT NULL, type text NOT NULL,
    schema_version int NOT NULL DEFAULT 1, data jsonb NOT NULL, meta jsonb NOT NULL,
    actor text, correlation_id text, causation_position bigint,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (stream, version))
"""
_RAW_INSERT = (
    "INSERT INTO raw_events (app_id, stream, version, type, data, meta, actor, correlation_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
_COPY_COLUMNS = ["app_id", "stream", "version", "type", "data", "meta", "actor", "correlation_id"]

Worker = Callable[[asyncpg.Connection, int], Awaitable[int]]


async def measure(pool: asyncpg.Pool, writers: int, seconds: float, work: Worker) -> float:
    """Events per second with ``writers`` connections looping ``work`` for ``seconds``."""
    return await gated_rate(
        writers, seconds, lambda w, conn: work(conn, w), settle=0.05, hold=pool.acquire
    )


async def interleaved(
    pool: asyncpg.Pool, writers: int, seconds: float, works: dict[str, Worker], rounds: int = 5
) -> dict[str, float]:
    """Events/s per variant, the mean of alternating short rounds (see ``alternating_rounds``)."""
    rates = await alternating_rounds(
        works, rounds, lambda work: measure(pool, writers, seconds / rounds, work)
    )
    return {name: sum(r) / rounds for name, r in rates.items()}


def raw_single() -> Worker:
    data = EVENT_JSON
    versions: dict[int, int] = {}
    run = uuid.uuid4().hex[:6]

    async def work(conn: asyncpg.Connection, w: int) -> int:
        v = versions[w] = versions.get(w, 0) + 1
        async with conn.transaction():
            await conn.execute(
                _RAW_INSERT,
                None,
                f"raw-{run}-{w}",
                v,
                "bench.item_added",
                data,
                META_JSON,
                META.actor,
                META.correlation_id,
            )
        return 1

    return work


def raw_copy(batch: int) -> Worker:
    versions: dict[int, int] = {}
    run = uuid.uuid4().hex[:6]

    async def work(conn: asyncpg.Connection, w: int) -> int:
        base = versions.get(w, 0)
        versions[w] = base + batch
        records = [
            (
                None,
                f"copy-{run}-{w}",
                base + i + 1,
                "bench.item_added",
                EVENT_JSON,
                META_JSON,
                META.actor,
                META.correlation_id,
            )
            for i in range(batch)
        ]
        async with conn.transaction():
            await conn.copy_records_to_table("raw_events", records=records, columns=_COPY_COLUMNS)
        return batch

    return work


def picloud_append(batch: int, *, shared_app: bool, notify: bool = False) -> Worker:
    events = [EVENT] * batch
    one_app = str(uuid.uuid4())
    apps: dict[int, str] = {}
    run = uuid.uuid4().hex[:6]

    async def work(conn: asyncpg.Connection, w: int) -> int:
        app = one_app if shared_app else apps.setdefault(w, str(uuid.uuid4()))
        async with conn.transaction():
            await append(conn, f"pc-{run}-{w}", None, events, META, app_id=app, notify=notify)
        return batch

    return work


EVENT_JSON: object = None
META_JSON: object = None


async def run(dsn: str, seconds: float, writer_counts: list[int]) -> None:
    global EVENT_JSON, META_JSON
    import msgspec

    EVENT_JSON = msgspec.json.decode(msgspec.json.encode(EVENT))
    META_JSON = msgspec.json.decode(msgspec.json.encode(META))
    await migrate(dsn)
    pool = await create_pool(dsn, min_size=max(writer_counts), max_size=max(writer_counts))
    try:
        async with pool.acquire() as conn:
            await conn.execute(_RAW_DDL)
            server = await describe_server(conn)
        print(
            f"{server}, {seconds:.1f}s per cell in 5 alternating rounds; events/s (ratio to raw)\n"
        )
        header = (
            f"| {'shape':<15} | {'writers':>7} | {'raw asyncpg':>12} | "
            f"{'picloud, app per writer':>24} | {'picloud, one app':>18} | "
            f"{'NOTIFY in the tx':>19} |"
        )
        print(header)
        print(rule(header))
        for shape, batch in (("single event", 1), ("100-event batch", 100)):
            for writers in writer_counts:
                rates = await interleaved(
                    pool,
                    writers,
                    seconds,
                    {
                        "raw": raw_single() if batch == 1 else raw_copy(batch),
                        "per_app": picloud_append(batch, shared_app=False),
                        "one_app": picloud_append(batch, shared_app=True),
                        "notify": picloud_append(batch, shared_app=False, notify=True),
                    },
                )
                raw, per_app, one_app, quiet = (
                    rates[k] for k in ("raw", "per_app", "one_app", "notify")
                )

                def cell(v: float, raw: float = raw) -> str:
                    return f"{v:>9,.0f} ({v / raw:>4.0%})"

                print(
                    f"| {shape:<15} | {writers:>7} | {raw:>12,.0f} | {cell(per_app):>24} | "
                    f"{cell(one_app):>18} | {cell(quiet):>19} |",
                    flush=True,
                )
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--writers", default="1,8,32")
    args = parser.parse_args()
    writer_counts = [int(w) for w in args.writers.split(",")]
    with database_settings() as settings:
        base = settings.database_url
        assert base is not None

        async def go() -> None:
            async with scratch(base, f"picloud_bench_{os.getpid()}") as dsn:
                await run(dsn, args.seconds, writer_counts)

        asyncio.run(go())


if __name__ == "__main__":
    main()
