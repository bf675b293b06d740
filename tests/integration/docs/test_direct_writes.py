"""A direct document write (one statement, migrations/0053) and the general path write the same.

``picloud_docs_write`` fills in ``prev_data`` and applies the projection in
SQL; the general path builds the event in Python and lets ``append`` run the
Python projection (the one rebuilds use). The same writes go through both;
the answers, events, ``docs`` rows and a replay must agree.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import asyncpg
import pytest

from picloud.projections.docs import PROJECTION
from picloud.projections.rebuild import rebuild
from picloud.services import docs as service
from picloud.services.context import CommandContext
from tests.integration._direct_paths import new_app, through_both_paths

CTX = CommandContext(actor="script:test", request_id="req-1")


async def _run_writes(pool: asyncpg.Pool, app_id: str) -> list[Any]:
    """Create, update, delete and miss; answers with ids and times made comparable."""
    answers: list[Any] = []

    def envelope(rec: Any) -> Any:
        if rec is None:
            return None
        return (rec.collection, rec.data, rec.version, rec.created_at <= rec.updated_at)

    async with pool.acquire() as conn:
        a = await service.create_doc(conn, CTX, app_id, "people", {"name": "ada", "n": 1})
        b = await service.create_doc(conn, CTX, app_id, "people", {"name": "bob", "tags": []})
        answers.append(envelope(a))
        answers.append(
            envelope(
                await service.update_doc(
                    conn,
                    CTX,
                    app_id,
                    "people",
                    a.id,
                    {"name": "ada", "n": 2, "deep": {"x": [1, 2.5, "three", None]}},
                )
            )
        )
        answers.append(
            envelope(
                await service.update_doc(conn, CTX, app_id, "people", a.id, {"name": "ada", "n": 3})
            )
        )
        updated = await service.update_doc(conn, CTX, app_id, "people", a.id, {"n": 4})
        assert updated is not None and updated.created_at == a.created_at
        answers.append(envelope(updated))
        missing = str(uuid.uuid4())
        answers.append(await service.update_doc(conn, CTX, app_id, "people", missing, {"x": 1}))
        answers.append(await service.update_doc(conn, CTX, app_id, "other", a.id, {"x": 1}))
        answers.append(await service.delete_doc(conn, CTX, app_id, "people", b.id))
        answers.append(await service.delete_doc(conn, CTX, app_id, "people", b.id))
        answers.append(await service.delete_doc(conn, CTX, app_id, "people", missing))
        c = await service.create_doc(conn, CTX, app_id, "other", {"blob": {"$kv": "blob"}})
        answers.append(envelope(c))
    return answers


async def _events(pool: asyncpg.Pool, app_id: str) -> list[tuple[Any, ...]]:
    # Document ids differ between apps: compare each event's place in its stream instead.
    rows = await pool.fetch(
        "SELECT type, schema_version, version, (data - 'doc_id' - 'app_id')::text AS data,"
        " meta::text AS meta, actor, correlation_id FROM events"
        " WHERE app_id = $1::uuid AND type LIKE 'doc.%' ORDER BY position",
        app_id,
    )
    return [tuple(r) for r in rows]


async def _rows(pool: asyncpg.Pool, app_id: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT d.collection, d.data::text AS data, d.version,"
        " d.last_position = e.position AS at_last_event,"
        " d.updated_at = e.recorded_at AS updated_at_last_event,"
        " d.seq = (SELECT min(position) FROM events WHERE stream = 'doc-' || d.id) AS seq_created"
        " FROM docs d JOIN events e ON e.stream = 'doc-' || d.id AND e.version = d.version"
        " WHERE d.app_id = $1::uuid ORDER BY d.seq",
        app_id,
    )
    return [tuple(r) for r in rows]


async def test_direct_and_general_paths_write_identical_events_and_rows(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one app written through picloud_docs_write and one through the general path
    (direct_app, direct_answers), (general_app, general_answers) = await through_both_paths(
        pool, monkeypatch, _run_writes
    )
    # Then both answered alike
    assert direct_answers == general_answers
    assert direct_answers[4:9] == [None, None, True, False, False]
    assert direct_answers[3] == ("people", {"n": 4}, 4, True)
    # And wrote the same events (prev_data included) and the same rows
    events = await _events(pool, direct_app)
    assert events == await _events(pool, general_app)
    assert [e[0] for e in events] == [
        "doc.created",
        "doc.created",
        "doc.updated",
        "doc.updated",
        "doc.updated",
        "doc.deleted",
        "doc.created",
    ]
    rows = await _rows(pool, direct_app)
    assert rows == await _rows(pool, general_app)
    assert [(c, v) for c, _, v, *_ in rows] == [("people", 4), ("other", 1)]
    assert all(row[3:] == (True, True, True) for row in rows)
    # And replaying the log through the Python projection reproduces docs exactly
    async with pool.acquire() as conn:
        report = await rebuild(conn, verify=True, projections=[PROJECTION])
    assert report.identical, report.tables


async def test_concurrent_updates_each_carry_the_data_they_replaced(pool: asyncpg.Pool) -> None:
    # Given a document updated by 30 concurrent writers
    app_id = await new_app(pool, "race")
    async with pool.acquire() as conn:
        doc = await service.create_doc(conn, CTX, app_id, "c", {"n": -1})

    async def put(i: int) -> None:
        async with pool.acquire() as conn:
            await service.update_doc(conn, CTX, app_id, "c", doc.id, {"n": i})

    await asyncio.gather(*(put(i) for i in range(30)))
    # Then the log holds every update in order, each prev_data the data before it
    rows = await pool.fetch(
        "SELECT version, data->'data' AS data, data->'prev_data' AS prev FROM events"
        " WHERE stream = $1 ORDER BY version",
        f"doc-{doc.id}",
    )
    assert [r["version"] for r in rows] == list(range(1, 32))
    for before, after in itertools.pairwise(rows):
        assert after["prev"] == before["data"]
    final = await pool.fetchval("SELECT data FROM docs WHERE id = $1::uuid", doc.id)
    assert final == rows[-1]["data"]
