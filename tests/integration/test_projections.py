"""Inline projections and ``projections rebuild --verify`` against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import asyncpg
import pytest

from picloud.cli import main as cli_main
from picloud.cli.db import load_projections
from picloud.errors import InvalidInput
from picloud.events import Event, EventMeta, RecordedEvent, append
from picloud.projections import (
    BaseProjection,
    all_projections,
    projections_for,
    register_projection,
    registered_projection,
    table_ref,
)
from picloud.projections.rebuild import rebuild
from picloud.settings import get_settings


class Incremented(Event, tag="test_proj.incremented"):
    name: str
    by: int


class Cleared(Event, tag="test_proj.cleared"):
    """Delete every counter of the app whose value is below ``below`` (a predicate write)."""

    below: int


class Removed(Event, tag="test_proj.removed"):
    name: str


class CountersProjection(BaseProjection):
    """Per-app counters plus an app-wide total every event touches."""

    name = "test_counters"
    tables = ("test_counters", "test_totals")
    handles = frozenset({"test_proj.incremented", "test_proj.cleared", "test_proj.removed"})

    async def apply(
        self, conn: asyncpg.Connection, event: RecordedEvent, schema: str = "public"
    ) -> None:
        counters, totals = table_ref(schema, "test_counters"), table_ref(schema, "test_totals")
        app = event.app_id
        match event.event:
            case Incremented(name=name, by=by):
                await conn.execute(
                    f"INSERT INTO {counters} AS c (app_id, name, value, updated_at, last_position)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, name) DO UPDATE"
                    " SET value = c.value + EXCLUDED.value, updated_at = EXCLUDED.updated_at,"
                    " last_position = EXCLUDED.last_position",
                    app,
                    name,
                    by,
                    event.recorded_at,
                    event.position,
                )
            case Cleared(below=below):
                await conn.execute(
                    f"DELETE FROM {counters} WHERE app_id = $1 AND value < $2", app, below
                )
            case Removed(name=name):
                await conn.execute(
                    f"DELETE FROM {counters} WHERE app_id = $1 AND name = $2", app, name
                )
        # Reads its own state: the total is the sum over the app's counters now.
        await conn.execute(
            f"INSERT INTO {totals} AS t (app_id, total, events, last_position)"
            f" SELECT $1, coalesce((SELECT sum(value) FROM {counters} WHERE app_id = $1), 0),"
            " 1, $2 ON CONFLICT (app_id) DO UPDATE SET total = EXCLUDED.total,"
            " events = t.events + 1, last_position = EXCLUDED.last_position",
            app,
            event.position,
        )


_DDL = """
CREATE TABLE test_counters (
    app_id uuid NOT NULL, name text NOT NULL, value bigint NOT NULL,
    updated_at timestamptz NOT NULL, last_position bigint NOT NULL,
    PRIMARY KEY (app_id, name));
CREATE TABLE test_totals (
    app_id uuid PRIMARY KEY, total bigint NOT NULL, events bigint NOT NULL,
    last_position bigint NOT NULL);
"""


@pytest.fixture
def counters() -> Iterator[CountersProjection]:
    with registered_projection(CountersProjection()) as projection:
        yield projection  # type: ignore[misc]


@pytest.fixture
async def counter_tables(conn: asyncpg.Connection) -> AsyncIterator[None]:
    await conn.execute(_DDL)
    yield


META = EventMeta(actor="system")


async def _workload(pool: asyncpg.Pool, apps: list[str], seconds_or_ops: int, seed: int) -> int:
    """Random concurrent appends over several apps and streams; returns appends committed."""
    rng = random.Random(seed)
    committed = 0

    async def writer(w: int) -> None:
        nonlocal committed
        local = random.Random(rng.random())
        for _ in range(seconds_or_ops):
            app = local.choice(apps)
            roll = local.random()
            if roll < 0.75:
                batch: list[Event] = [
                    Incremented(name=local.choice("abcde"), by=local.randint(-3, 9))
                    for _ in range(local.randint(1, 4))
                ]
            elif roll < 0.9:
                batch = [Cleared(below=local.randint(0, 10))]
            else:
                batch = [Removed(name=local.choice("abcde"))]
            async with pool.acquire() as c, c.transaction():
                await append(c, f"counters-{app}-{w % 3}", None, batch, META, app_id=app)
                if local.random() < 0.3:
                    await asyncio.sleep(local.uniform(0, 0.01))  # commit late sometimes
            committed += 1

    await asyncio.gather(*(writer(w) for w in range(8)))
    return committed


async def test_inline_projection_sees_its_write_in_the_same_transaction(
    conn: asyncpg.Connection, counters: CountersProjection, counter_tables: None
) -> None:
    app = str(uuid.uuid4())
    async with conn.transaction():
        recorded = await append(
            conn,
            "c",
            None,
            [Incremented(name="a", by=2), Incremented(name="a", by=3)],
            META,
            app_id=app,
        )
        row = await conn.fetchrow("SELECT value, last_position FROM test_counters")
        assert (row["value"], row["last_position"]) == (5, recorded[-1].position)
    assert projections_for("test_proj.cleared") == (counters,)
    assert counters in all_projections()


async def test_a_failing_projection_rolls_back_the_append(
    conn: asyncpg.Connection, counters: CountersProjection
) -> None:
    # Given the projection's tables are missing, so apply() fails
    with pytest.raises(asyncpg.UndefinedTableError):
        async with conn.transaction():
            await append(
                conn, "c", None, [Incremented(name="a", by=1)], META, app_id=str(uuid.uuid4())
            )
    # Then the event is not in the log either
    assert await conn.fetchval("SELECT count(*) FROM events") == 0


async def test_rebuild_verify_is_identical_after_a_random_concurrent_workload(
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    counters: CountersProjection,
    counter_tables: None,
) -> None:
    # Given the platform's own projections too, as far as they have landed
    load_projections()
    apps = [str(uuid.uuid4()) for _ in range(3)]
    # When 8 writers append random events to 3 apps concurrently, while a
    # rebuild runs in the middle of it
    work = asyncio.create_task(_workload(pool, apps, 40, seed=11))
    await asyncio.sleep(0.2)
    async with pool.acquire() as c:
        during = await rebuild(c, verify=True)
    committed = await work
    # Then the rebuild taken mid-flight and one taken afterwards both match the live tables
    assert during.identical, during.tables
    after = await rebuild(conn, verify=True)
    assert committed == 8 * 40
    assert after.identical, [t for t in after.tables if not t.identical]
    assert after.events_replayed >= committed
    assert {t.table for t in after.tables} >= {"test_counters", "test_totals"}
    live = await conn.fetchval("SELECT count(*) FROM test_totals")
    assert live == 3
    # And the shadow schema is gone
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'picloud_shadow_%'"
        )
        == 0
    )


async def test_rebuild_reports_a_tampered_row_with_a_sample(
    conn: asyncpg.Connection, counters: CountersProjection, counter_tables: None
) -> None:
    app = str(uuid.uuid4())
    async with conn.transaction():
        await append(
            conn,
            "c",
            None,
            [Incremented(name="a", by=1), Incremented(name="b", by=2)],
            META,
            app_id=app,
        )
    await conn.execute("UPDATE test_counters SET value = 99 WHERE name = 'b'")
    report = await rebuild(conn, verify=True, projections=[counters], sample_size=5)
    assert not report.identical
    diff = {t.table: t for t in report.tables}["test_counters"]
    assert (diff.missing_in_shadow, diff.extra_in_shadow) == (1, 1)
    sides = {side: row for side, row in diff.sample}
    assert sides["live only"]["value"] == 99 and sides["shadow only"]["value"] == 2
    assert {t.table: t for t in report.tables}["test_totals"].identical


async def test_rebuild_keep_leaves_the_shadow_schema(
    conn: asyncpg.Connection, counters: CountersProjection, counter_tables: None
) -> None:
    async with conn.transaction():
        await append(conn, "c", None, [Incremented(name="a", by=4)], META, app_id=str(uuid.uuid4()))
    calls: list[tuple[int, int]] = []
    report = await rebuild(
        conn, verify=False, keep=True, projections=[counters], progress=lambda *a: calls.append(a)
    )
    assert report.kept and not report.tables
    assert calls[0] == (0, 1) and calls[-1] == (1, 1)
    value = await conn.fetchval(
        f"SELECT value FROM {table_ref(report.shadow_schema, 'test_counters')}"
    )
    assert value == 4


async def test_cli_rebuild_verify_exits_nonzero_on_a_difference(
    conn: asyncpg.Connection,
    database_url: str,
    counters: CountersProjection,
    counter_tables: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        async with conn.transaction():
            await append(
                conn, "c", None, [Incremented(name="a", by=1)], META, app_id=str(uuid.uuid4())
            )
        assert await asyncio.to_thread(cli_main, ["projections", "rebuild", "--verify"]) == 0
        assert "identical" in capsys.readouterr().out
        await conn.execute("DELETE FROM test_totals")
        assert await asyncio.to_thread(cli_main, ["projections", "rebuild", "--verify"]) == 1
        out = capsys.readouterr().out
        assert "test_totals" in out and "DIFFERS" in out and "live-only" in out
    finally:
        get_settings.cache_clear()


def test_registering_a_second_projection_with_the_same_name_fails() -> None:
    first = CountersProjection()
    with registered_projection(first):
        with pytest.raises(ValueError, match="already registered"):
            register_projection(CountersProjection())
        register_projection(first)  # the same object again is fine
    with pytest.raises(TypeError):
        register_projection(object())  # type: ignore[arg-type]


async def test_rebuild_apply_repairs_live_tables_while_appends_wait(
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    counters: CountersProjection,
    counter_tables: None,
) -> None:
    # Given a live table that drifted from the log (a row changed, one deleted)
    app = str(uuid.uuid4())
    async with conn.transaction():
        await append(
            conn,
            "c",
            None,
            [Incremented(name="a", by=1), Incremented(name="b", by=2)],
            META,
            app_id=app,
        )
    await conn.execute("UPDATE test_counters SET value = 99 WHERE name = 'a'")
    await conn.execute("DELETE FROM test_counters WHERE name = 'b'")
    gate = asyncio.Event()

    class SlowCounters(CountersProjection):
        async def apply(
            self, c: asyncpg.Connection, event: RecordedEvent, schema: str = "public"
        ) -> None:
            gate.set()  # the rebuild holds its lock by now
            await asyncio.sleep(0.3)
            await super().apply(c, event, schema)

    async def late_append() -> int:
        await gate.wait()
        async with pool.acquire() as c, c.transaction():
            recorded = await append(c, "c", None, [Incremented(name="a", by=5)], META, app_id=app)
        return recorded[0].position

    # When a repairing rebuild runs while another writer tries to append
    late = asyncio.create_task(late_append())
    report = await rebuild(conn, verify=True, apply=True, projections=[SlowCounters()])
    late_position = await late
    # Then the report shows what was repaired; the append, started while the
    # rebuild held its lock, is not in the replay yet its effect survived the
    # swap (so it waited); and the live tables equal a fresh replay
    assert report.applied and not report.identical
    assert late_position > report.last_position
    rows = dict(await conn.fetch("SELECT name, value FROM test_counters ORDER BY name"))
    assert rows == {"a": 6, "b": 2}
    assert (await rebuild(conn, verify=True, projections=[counters])).identical
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'picloud_shadow_%'"
        )
        == 0
    )


async def test_rebuild_until_a_position_or_time_shows_the_state_as_of_then(
    conn: asyncpg.Connection, counters: CountersProjection, counter_tables: None
) -> None:
    # Given three appends to one counter
    app = str(uuid.uuid4())
    recorded = []
    for by in (1, 10, 100):
        async with conn.transaction():
            recorded += await append(
                conn, "c", None, [Incremented(name="a", by=by)], META, app_id=app
            )
    # When rebuilding up to the second event, by position and by time
    by_position = await rebuild(
        conn, verify=False, until=recorded[1].position, projections=[counters]
    )
    by_time = await rebuild(
        conn, verify=False, as_of=recorded[1].recorded_at, projections=[counters]
    )
    # Then each kept shadow schema holds the state as of then
    for report in (by_position, by_time):
        assert report.kept and report.events_replayed == 2
        assert report.last_position == recorded[1].position
        shadow = table_ref(report.shadow_schema, "test_counters")
        assert await conn.fetchval(f"SELECT value FROM {shadow}") == 11
    # And a partial replay cannot be verified or applied
    for options in ({"verify": True}, {"verify": False, "apply": True}):
        with pytest.raises(InvalidInput) as info:
            await rebuild(conn, until=1, projections=[counters], **options)  # type: ignore[arg-type]
        assert info.value.code == "invalid_rebuild_options"
    with pytest.raises(InvalidInput):
        await rebuild(conn, verify=False, as_of=datetime(2026, 1, 1), projections=[counters])
