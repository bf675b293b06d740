"""The direct-write SQL functions' answers besides 'ok' (migrations/0054, 0055).

``picloud_kv_write`` and ``picloud_docs_write`` are the single-event case of
``picloud_append`` under the app lock; these pin the statuses the services
map to errors (services/direct.py), and their order: a miss answers
'absent' before a reused idempotency key is looked at, as the general path's
presence check does.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import msgspec
import pytest

from picloud.events.docs import doc_stream
from picloud.events.kv import kv_stream
from picloud.services.write_batches import SINGLE_SQL
from tests.integration._direct_paths import new_app

META = '{"actor":"script:test"}'


def _kv(app_id: str, type_: str, key: str = "k", idem: str | None = None, value: Any = 1) -> list:
    stream = kv_stream(app_id, "c", key)
    data = {"app_id": app_id, "collection": "c", "key": key}
    if type_ == "kv.set":
        data["value"] = value
    encoded = msgspec.json.encode(data).decode()
    return [app_id, "c", key, stream, type_, 1, encoded, META, "script:test", None, None, idem, []]


def _doc(app_id: str, type_: str, doc_id: str, idem: str | None = None) -> list:
    data: dict[str, Any] = {"app_id": app_id, "collection": "c", "id": doc_id}
    if type_ != "doc.deleted":
        data["data"] = {"n": 1}
    encoded = msgspec.json.encode(data).decode()
    stream = doc_stream(doc_id)
    return [
        app_id,
        "c",
        doc_id,
        stream,
        type_,
        1,
        encoded,
        META,
        "script:test",
        None,
        None,
        idem,
        [],
    ]


async def _write(pool: asyncpg.Pool, store: str, args: list) -> asyncpg.Record:
    return await pool.fetchrow(SINGLE_SQL[store], *args)


async def _events(pool: asyncpg.Pool, app_id: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE app_id = $1::uuid", app_id))


async def test_a_reused_idempotency_key_answers_duplicate_with_the_earlier_position(
    pool: asyncpg.Pool,
) -> None:
    app_id = await new_app(pool, "idem")
    first = await _write(pool, "kv", _kv(app_id, "kv.set", idem="job:1"))
    before = await _events(pool, app_id)
    again = await _write(pool, "kv", _kv(app_id, "kv.set", value=2, idem="job:1"))
    assert first["o_status"] == "ok"
    assert (again["o_status"], again["o_position"]) == ("duplicate", first["o_position"])
    assert await _events(pool, app_id) == before
    doc_id = str(uuid.uuid4())
    made = await _write(pool, "docs", _doc(app_id, "doc.created", doc_id, idem="job:2"))
    other = str(uuid.uuid4())
    repeat = await _write(pool, "docs", _doc(app_id, "doc.created", other, idem="job:2"))
    assert (repeat["o_status"], repeat["o_position"]) == ("duplicate", made["o_position"])
    assert await pool.fetchval("SELECT count(*) FROM docs WHERE id = $1::uuid", other) == 0


async def test_a_miss_answers_absent_even_with_a_reused_key(pool: asyncpg.Pool) -> None:
    app_id = await new_app(pool, "miss")
    await _write(pool, "kv", _kv(app_id, "kv.set", idem="job:1"))
    await _write(pool, "kv", _kv(app_id, "kv.deleted", idem="job:2"))
    before = await _events(pool, app_id)
    # A retried delete of the same key: nothing is there, so nothing to refuse
    again = await _write(pool, "kv", _kv(app_id, "kv.deleted", idem="job:2"))
    assert again["o_status"] == "absent" and await _events(pool, app_id) == before
    missing = str(uuid.uuid4())
    for type_ in ("doc.updated", "doc.deleted"):
        answer = await _write(pool, "docs", _doc(app_id, type_, missing))
        assert answer["o_status"] == "absent"
    assert await _events(pool, app_id) == before


async def test_a_new_documents_stream_taken_already_answers_conflict(pool: asyncpg.Pool) -> None:
    app_id = await new_app(pool, "clash")
    doc_id = str(uuid.uuid4())
    # The stream exists (a clash of ids, or an earlier document deleted since)
    await _write(pool, "docs", _doc(app_id, "doc.created", doc_id))
    await _write(pool, "docs", _doc(app_id, "doc.deleted", doc_id))
    before = await _events(pool, app_id)
    answer = await _write(pool, "docs", _doc(app_id, "doc.created", doc_id))
    assert (answer["o_status"], answer["o_version"]) == ("conflict", 2)
    assert await _events(pool, app_id) == before
    assert await pool.fetchval("SELECT count(*) FROM docs WHERE id = $1::uuid", doc_id) == 0


async def test_a_stream_of_another_app_is_refused(pool: asyncpg.Pool) -> None:
    mine = await new_app(pool, "mine")
    theirs = await new_app(pool, "theirs")
    # Their app owns the stream my write names
    await pool.execute(
        "SELECT * FROM picloud_append($1, $2::uuid, 0, ARRAY['kv.set'], ARRAY[1],"
        " ARRAY['{}'], '{}', 'system', NULL, NULL, false, NULL)",
        kv_stream(mine, "c", "k"),
        theirs,
    )
    before = await _events(pool, mine)
    with pytest.raises(asyncpg.PostgresError) as caught:
        await _write(pool, "kv", _kv(mine, "kv.set"))
    assert caught.value.sqlstate == "PCE02"
    assert await _events(pool, mine) == before
    assert await pool.fetchval("SELECT count(*) FROM kv_entries WHERE app_id = $1::uuid", mine) == 0


async def test_every_write_returns_its_events_position_version_and_time(
    pool: asyncpg.Pool,
) -> None:
    app_id = await new_app(pool, "ok")
    answers = [
        await _write(pool, "kv", _kv(app_id, "kv.set")),
        await _write(pool, "kv", _kv(app_id, "kv.set", value=2)),
        await _write(pool, "kv", _kv(app_id, "kv.deleted")),
    ]
    rows = await pool.fetch(
        "SELECT position, version, recorded_at FROM events WHERE app_id = $1::uuid"
        " AND type LIKE 'kv.%' ORDER BY position",
        app_id,
    )
    assert [(a["o_position"], a["o_version"], a["o_recorded_at"]) for a in answers] == [
        (r["position"], r["version"], r["recorded_at"]) for r in rows
    ]
    doc_id = str(uuid.uuid4())
    made = await _write(pool, "docs", _doc(app_id, "doc.created", doc_id))
    changed = await _write(pool, "docs", _doc(app_id, "doc.updated", doc_id))
    assert made["o_created_at"] == made["o_recorded_at"] == changed["o_created_at"]
    assert changed["o_version"] == 2 and changed["o_recorded_at"] >= made["o_recorded_at"]


async def test_a_keys_version_continues_from_its_last_event_with_or_without_a_row(
    pool: asyncpg.Pool,
) -> None:
    # (migrations/0055: a live key's row holds the version; without one, the log does.)
    app_id = await new_app(pool, "versions")
    # Given a key whose first event was appended without its projection row
    await pool.execute(
        "SELECT * FROM picloud_append($1, $2::uuid, 0, ARRAY['kv.set'], ARRAY[1],"
        " ARRAY['{}'], '{}', 'system', NULL, NULL, false, NULL)",
        kv_stream(app_id, "c", "k"),
        app_id,
    )
    # When it is set (no row: the log tells), set again (the row tells), deleted and set
    answers = [
        await _write(pool, "kv", _kv(app_id, "kv.set", value=1)),
        await _write(pool, "kv", _kv(app_id, "kv.set", value=2)),
        await _write(pool, "kv", _kv(app_id, "kv.deleted")),
        await _write(pool, "kv", _kv(app_id, "kv.set", value=3)),
    ]
    # Then each write took the next version of the stream
    assert [a["o_version"] for a in answers] == [2, 3, 4, 5]
    versions = await pool.fetch(
        "SELECT version FROM events WHERE stream = $1 ORDER BY position",
        kv_stream(app_id, "c", "k"),
    )
    assert [r["version"] for r in versions] == [1, 2, 3, 4, 5]
    row = await pool.fetchrow(
        "SELECT value::text AS v, version FROM kv_entries WHERE app_id = $1::uuid", app_id
    )
    assert (row["v"], row["version"]) == ("3", 5)
