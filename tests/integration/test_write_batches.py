"""Group commit per app: writes queued behind a busy app commit together, each answered alone."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
import pytest

from picloud.errors import Conflict
from picloud.events.types import EventMeta
from picloud.execution.run import ScriptRun, bind_run
from picloud.services import direct, write_batches
from picloud.services import kv as service
from tests.integration._direct_paths import new_app, queued_writes, waiting_on_lock

META = EventMeta(actor="script:test", request_id="req-1", correlation_id="req-1")


async def _set(pool: asyncpg.Pool, app_id: str, key: str, value: Any) -> None:
    async with pool.acquire() as conn:
        await service.set_value(conn, META, app_id, "c", key, msgspec.json.encode(value))


@asynccontextmanager
async def _app_locked(pool: asyncpg.Pool, app_id: str) -> AsyncIterator[None]:
    """Hold the app's append lock (as a long write of another process would)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT picloud_lock_app($1::uuid)", app_id)
        yield


async def test_writes_queued_behind_a_busy_app_commit_together_in_order(
    pool: asyncpg.Pool,
) -> None:
    # Given an app whose lock is held, and a first write waiting for it
    app_id = await new_app(pool, "batched")
    async with _app_locked(pool, app_id):
        first = asyncio.create_task(_set(pool, app_id, "k", 0))
        await waiting_on_lock(pool, 1)
        # When eight more writes of the same key arrive meanwhile (the pool has ten connections)
        rest = [asyncio.create_task(_set(pool, app_id, "k", i)) for i in range(1, 9)]
        await queued_writes(app_id, 8)
    await asyncio.gather(first, *rest)
    # Then all nine are in the log, the eight in one transaction after the first
    rows = await pool.fetch(
        "SELECT version, xmin::text AS tx, data->'value' AS value, data->'prev_value' AS prev"
        " FROM events WHERE app_id = $1::uuid AND type = 'kv.set' ORDER BY position",
        app_id,
    )
    assert [r["version"] for r in rows] == list(range(1, 10))
    assert len({r["tx"] for r in rows[1:]}) == 1 and rows[0]["tx"] != rows[1]["tx"]
    # And each write replaced exactly the value before it, as serial writes would
    assert rows[0]["value"] == 0 and rows[0]["prev"] is None
    for before, after in itertools.pairwise(rows):
        assert after["prev"] == before["value"]
    assert (
        await pool.fetchval(
            "SELECT value FROM kv_entries WHERE app_id = $1::uuid AND key = 'k'", app_id
        )
        == rows[-1]["value"]
    )


async def test_a_write_that_fails_in_a_batch_fails_alone(pool: asyncpg.Pool) -> None:
    # Given an app with one key whose stream another app owns (a write to it is refused)
    app_id = await new_app(pool, "mixed")
    other = await new_app(pool, "other")
    await pool.execute(
        "INSERT INTO events (app_id, stream, version, type, data, meta)"
        " VALUES ($1::uuid, $2, 1, 'kv.set', '{}'::jsonb, '{}'::jsonb)",
        other,
        f"kv-{app_id}-c:bad",
    )
    async with _app_locked(pool, app_id):
        first = asyncio.create_task(_set(pool, app_id, "first", 0))
        await waiting_on_lock(pool, 1)
        # When a batch forms of good writes and the bad one
        batch = [asyncio.create_task(_set(pool, app_id, f"good{i}", i)) for i in range(4)]
        bad = asyncio.create_task(_set(pool, app_id, "bad", "x"))
        await queued_writes(app_id, 5)
    results = await asyncio.gather(first, *batch, bad, return_exceptions=True)
    # Then only the bad write failed, with its own error, and every good one is stored
    assert results[:-1] == [None] * 5
    assert isinstance(results[-1], Conflict) and results[-1].code == "stream_app_mismatch"
    keys = await pool.fetch(
        "SELECT key FROM kv_entries WHERE app_id = $1::uuid ORDER BY key", app_id
    )
    assert [r["key"] for r in keys] == ["first", "good0", "good1", "good2", "good3"]


async def test_a_write_given_up_while_queued_is_not_made(pool: asyncpg.Pool) -> None:
    # Given writes queued behind a busy app
    app_id = await new_app(pool, "gaveup")
    async with _app_locked(pool, app_id):
        first = asyncio.create_task(_set(pool, app_id, "first", 0))
        await waiting_on_lock(pool, 1)
        kept = asyncio.create_task(_set(pool, app_id, "kept", 1))
        dropped = asyncio.create_task(_set(pool, app_id, "dropped", 2))
        await queued_writes(app_id, 2)
        # When one caller gives up before its turn (its run timed out)
        dropped.cancel()
    await asyncio.gather(first, kept)
    with pytest.raises(asyncio.CancelledError):
        await dropped
    # Then its write was never made; the others were
    keys = await pool.fetch(
        "SELECT key FROM kv_entries WHERE app_id = $1::uuid ORDER BY key", app_id
    )
    assert [r["key"] for r in keys] == ["first", "kept"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM events WHERE app_id = $1::uuid AND type = 'kv.set'", app_id
        )
        == 2
    )


async def test_a_caller_near_its_deadline_writes_alone_rather_than_lead(
    pool: asyncpg.Pool,
) -> None:
    # Given writes queued behind a busy app, the first of them from a run with 0.5 s left
    app_id = await new_app(pool, "deadline")
    run = ScriptRun(
        app_id=app_id,
        app_slug="deadline",
        script_id="s",
        script_name="s",
        request_id="r",
        principal=None,
        modules={},
        deadline=time.monotonic() + 0.5,
    )
    async with _app_locked(pool, app_id):
        first = asyncio.create_task(_set(pool, app_id, "first", 0))
        await waiting_on_lock(pool, 1)
        with bind_run(run):  # the task copies the bound run
            hurried = asyncio.create_task(_set(pool, app_id, "hurried", 1))
        await queued_writes(app_id, 1)
        others = [asyncio.create_task(_set(pool, app_id, f"k{i}", i)) for i in range(3)]
        await queued_writes(app_id, 4)
    await asyncio.gather(first, hurried, *others)
    # Then the hurried write committed on its own, and the others together after it
    rows = await pool.fetch(
        "SELECT data->>'key' AS key, xmin::text AS tx FROM events"
        " WHERE app_id = $1::uuid AND type = 'kv.set' ORDER BY position",
        app_id,
    )
    keys = [r["key"] for r in rows]
    assert keys[:2] == ["first", "hurried"] and sorted(keys[2:]) == ["k0", "k1", "k2"]
    transactions = [r["tx"] for r in rows]
    assert len(set(transactions)) == 3 and len(set(transactions[2:])) == 1


async def test_a_lead_handed_to_a_caller_that_gives_up_passes_on(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two writes queued behind a busy app, the first of which gives up exactly
    # as the lead is handed to it (its run ends at that moment)
    app_id = await new_app(pool, "heir")
    tasks: dict[str, asyncio.Task[None]] = {}
    real_settle = write_batches._Write.settle

    def settle(write: Any, result: Any, error: BaseException | None = None) -> None:
        if result is write_batches._LEAD and write.args[2] == "quitter":
            tasks["quitter"].cancel()
        real_settle(write, result, error)

    monkeypatch.setattr(write_batches._Write, "settle", settle)
    async with _app_locked(pool, app_id):
        first = asyncio.create_task(_set(pool, app_id, "first", 0))
        await waiting_on_lock(pool, 1)
        tasks["quitter"] = asyncio.create_task(_set(pool, app_id, "quitter", 1))
        await queued_writes(app_id, 1)
        patient = asyncio.create_task(_set(pool, app_id, "patient", 2))
        await queued_writes(app_id, 2)
    # When the first write lands and hands the lead on
    await asyncio.wait_for(asyncio.gather(first, patient), timeout=10)
    # Then the lead passed to the next caller: its write was made, the quitter's was not
    with pytest.raises(asyncio.CancelledError):
        await tasks["quitter"]
    keys = await pool.fetch(
        "SELECT key FROM kv_entries WHERE app_id = $1::uuid ORDER BY key", app_id
    )
    assert [r["key"] for r in keys] == ["first", "patient"]
    assert direct._batches.waiting("kv", app_id) == 0
