"""A direct KV write (one statement, migrations/0053) and the general path write the same.

``picloud_kv_write`` completes the event and applies the projection in SQL;
the general path builds the event in Python and lets ``append`` run the
Python projection (the one rebuilds use). These tests run the same writes
through both and hold them to the same events, the same ``kv_entries`` rows
and a replay that agrees, and check when the direct path must step aside.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
import msgspec
import pytest

from picloud.events.store import DuplicateAppend
from picloud.events.types import EventMeta
from picloud.projections.kv import PROJECTION
from picloud.projections.rebuild import rebuild
from picloud.services import direct
from picloud.services import kv as service
from picloud.services.context import CommandContext
from picloud.services.scripts import create_script
from picloud.services.triggers import create_trigger, set_enabled
from tests.integration._direct_paths import new_app, through_both_paths

#: (op, collection, key, value): sets, overwrites, JSON null, deletes, absent deletes, re-creates.
WRITES: list[tuple[str, str, str, Any]] = [
    ("set", "c", "a", {"n": 1}),
    ("set", "c", "a", {"n": 2, "deep": {"x": [1, 2.5, "three"]}}),
    ("set", "c", "nul", None),
    ("set", "c", "nul", "after null"),
    ("set", "other", "a", [True, False]),
    ("delete", "c", "a", None),
    ("delete", "c", "a", None),
    ("delete", "c", "never", None),
    ("set", "c", "a", "back"),
    ("set", "c", "ünï 🙂'; DROP TABLE kv_entries;--", {"$kv": "blob", "base64": "AAE="}),
    ("delete", "c", "nul", None),
    ("set", "c", "kept", 1),
    ("set", "c", "kept", 2),
]

META = EventMeta(actor="script:test", request_id="req-1", correlation_id="req-1")


async def _run_writes(pool: asyncpg.Pool, app_id: str) -> list[Any]:
    results: list[Any] = []
    async with pool.acquire() as conn:
        for op, collection, key, value in WRITES:
            if op == "set":
                data = msgspec.json.encode(value)
                results.append(await service.set_value(conn, META, app_id, collection, key, data))
            else:
                results.append(await service.delete(conn, META, app_id, collection, key))
    return results


async def _events(pool: asyncpg.Pool, app_id: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT type, schema_version, version, replace(stream, $1, 'APP') AS stream,"
        " replace(data::text, $1, 'APP') AS data, meta::text AS meta, actor, correlation_id,"
        " causation_position FROM events WHERE app_id = $2::uuid AND type LIKE 'kv.%'"
        " ORDER BY position",
        app_id,
        app_id,
    )
    return [tuple(r) for r in rows]


async def _entries(pool: asyncpg.Pool, app_id: str) -> list[tuple[Any, ...]]:
    # Positions and times differ between apps; each row must point at its key's last event.
    rows = await pool.fetch(
        "SELECT k.collection, k.key, k.value::text AS value, k.version,"
        " k.last_position = e.position AS at_last_event,"
        " k.updated_at = e.recorded_at AS updated_at_last_event,"
        " k.created_at <= k.updated_at AS created_first"
        " FROM kv_entries k JOIN events e ON e.stream = 'kv-' || k.app_id || '-' || k.collection"
        " || ':' || k.key AND e.version = k.version"
        " WHERE k.app_id = $1::uuid ORDER BY k.collection, k.key",
        app_id,
    )
    return [tuple(r) for r in rows]


async def test_direct_and_general_paths_write_identical_events_and_rows(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one app written through picloud_kv_write and one through the general path
    (direct_app, direct_results), (general_app, general_results) = await through_both_paths(
        pool, monkeypatch, _run_writes
    )
    # Then both answered alike, and wrote the same events and the same projection rows
    assert direct_results == general_results
    assert [r for r in direct_results if r is not None] == [True, False, False, True]
    direct_events = await _events(pool, direct_app)
    assert direct_events == await _events(pool, general_app)
    assert len(direct_events) == 11
    direct_rows = await _entries(pool, direct_app)
    assert direct_rows == await _entries(pool, general_app)
    assert [(c, k, v, ver) for c, k, v, ver, *_ in direct_rows] == [
        ("c", "a", '"back"', 4),
        ("c", "kept", "2", 2),
        ("c", "ünï 🙂'; DROP TABLE kv_entries;--", '{"$kv": "blob", "base64": "AAE="}', 1),
        ("other", "a", "[true, false]", 1),
    ]
    # (each row points at its key's last event, and was created no later than updated)
    assert all(row[4:] == (True, True, True) for row in direct_rows)
    # And replaying the log through the Python projection reproduces kv_entries exactly
    async with pool.acquire() as conn:
        report = await rebuild(conn, verify=True, projections=[PROJECTION])
    assert report.identical, report.tables


async def test_direct_path_reports_previous_values_exactly_under_concurrency(
    pool: asyncpg.Pool,
) -> None:
    # Given 30 concurrent sets of one key, each on its own connection
    app_id = await new_app(pool, "race")

    async def put(i: int) -> None:
        async with pool.acquire() as conn:
            await service.set_value(conn, META, app_id, "c", "k", msgspec.json.encode(i))

    await asyncio.gather(*(put(i) for i in range(30)))
    # Then the stream holds 30 versions, each replacing exactly the value before it
    rows = await pool.fetch(
        "SELECT version, data->'value' AS value, data->'prev_value' AS prev,"
        " (data->>'created')::bool AS created FROM events"
        " WHERE app_id = $1::uuid AND type = 'kv.set' ORDER BY position",
        app_id,
    )
    assert [r["version"] for r in rows] == list(range(1, 31))
    assert sorted(r["value"] for r in rows) == list(range(30))
    assert rows[0]["prev"] is None and rows[0]["created"] is True
    for before, after in itertools.pairwise(rows):
        assert after["prev"] == before["value"] and after["created"] is False
    final = await pool.fetchval(
        "SELECT value FROM kv_entries WHERE app_id = $1::uuid AND key = 'k'", app_id
    )
    assert final == rows[-1]["value"]


async def test_direct_path_honours_idempotency_keys(pool: asyncpg.Pool) -> None:
    # Given a write carrying an idempotency key (as a trigger job's writes do)
    app_id = await new_app(pool, "idem")
    meta = EventMeta(actor="script:test", idempotency_key="job-1:0")
    async with pool.acquire() as conn:
        await service.set_value(conn, meta, app_id, "c", "k", b"1")
        # When the same write is made again with the same key
        with pytest.raises(DuplicateAppend) as caught:
            await service.set_value(conn, meta, app_id, "c", "k", b"2")
    # Then it is refused, naming the earlier append, and nothing more was written
    first = await pool.fetchval(
        "SELECT position FROM events WHERE app_id = $1::uuid AND type = 'kv.set'", app_id
    )
    assert caught.value.details["position"] == first
    assert (
        await pool.fetchval(
            "SELECT value FROM kv_entries WHERE app_id = $1::uuid AND key = 'k'", app_id
        )
        == 1
    )


async def test_writes_of_an_app_with_an_enabled_trigger_reach_the_outbox(
    pool: asyncpg.Pool,
) -> None:
    # Given an app with a kv trigger on collection "c" (a direct write would skip the outbox)
    app_id = await new_app(pool, "trig")
    ctx = CommandContext(actor="system", request_id="t")
    async with pool.acquire() as conn:
        script = await create_script(conn, ctx, app_id, "on_kv", "endpoint", "ctx.event")
        trigger = await create_trigger(
            conn, ctx, app_id, "kv", {"script_id": script.id, "collection": "c"}
        )

        async def write_and_count(key: str) -> tuple[int, int]:
            await service.set_value(conn, META, app_id, "c", key, b"1")
            events = await pool.fetchval(
                "SELECT count(*) FROM events WHERE app_id = $1::uuid AND stream LIKE 'kv-%'"
                " AND stream LIKE '%:' || $2",
                app_id,
                key,
            )
            jobs = await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE app_id = $1::uuid AND event_position ="
                " (SELECT max(position) FROM events WHERE app_id = $1::uuid)",
                app_id,
            )
            return events, jobs

        # When a key is written while the trigger is enabled, then once it is disabled
        enabled = await write_and_count("k1")
        await set_enabled(conn, ctx, app_id, trigger.id, False)
        disabled = await write_and_count("k2")
    # Then each write is one event, and only the first put a job in the outbox
    assert enabled == (1, 1)
    assert disabled == (1, 0)


async def test_an_app_with_triggers_skips_direct_attempts_for_a_while(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an app with an enabled kv trigger, and a count of direct-write statements
    app_id = await new_app(pool, "hinted")
    ctx = CommandContext(actor="system", request_id="t")
    attempts: list[str] = []
    real_write = direct._batches.write

    async def counting(conn: Any, store: str, args: Any, kinds: list[str]) -> Any:
        attempts.append(store)
        return await real_write(conn, store, args, kinds)

    monkeypatch.setattr(direct._batches, "write", counting)
    async with pool.acquire() as conn:
        script = await create_script(conn, ctx, app_id, "on_kv", "endpoint", "ctx.event")
        await create_trigger(conn, ctx, app_id, "kv", {"script_id": script.id, "collection": "c"})
        # When it writes three keys
        for key in ("a", "b", "c"):
            await service.set_value(conn, META, app_id, "c", key, b"1")
        # Then only the first tried a direct write (which stepped aside); all three are stored
        assert attempts == ["kv"]
        assert (
            await pool.fetchval("SELECT count(*) FROM kv_entries WHERE app_id = $1::uuid", app_id)
            == 3
        )
        # And once the hint has lapsed, the next write tries again
        monkeypatch.setattr(direct, "TRIGGERED_HINT_SECONDS", 0.0)
        direct._triggered_until.clear()
        await service.set_value(conn, META, app_id, "c", "d", b"1")
        await service.set_value(conn, META, app_id, "c", "e", b"1")
    assert attempts == ["kv", "kv", "kv"]
