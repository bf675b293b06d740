"""The blocking connection answers as asyncpg does: same values, rows, statuses and errors.

Services are written against asyncpg's connection API and run on either
driver (picloud/db_blocking.py), so each case runs the same call on both and
compares what comes back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
import pytest

from picloud.db import connect
from picloud.db_blocking import BlockingConnection, connect_blocking


@pytest.fixture
async def both(database_url: str) -> AsyncIterator[tuple[Any, BlockingConnection]]:
    """An asyncpg connection and a blocking one on the test database."""
    reference = await connect(database_url)
    blocking = await connect_blocking(database_url)
    await reference.execute("CREATE TABLE notes (id int PRIMARY KEY, body jsonb, tags text[])")
    try:
        yield reference, blocking
    finally:
        await blocking.close()
        await reference.close()


SAME_VALUE = [
    # (query, arguments): both drivers must return the same first row
    ("SELECT $2::text || $1::text || $2::text", ("b", "a")),  # out of order, repeated
    ("SELECT 'x%' || $1::text", ("y",)),  # a literal percent sign
    ("SELECT $1::jsonb", (5,)),
    ("SELECT $1::jsonb", ("text",)),  # a JSON string, as asyncpg's codec makes it
    ("SELECT $1::jsonb", ([1, "two", None],)),
    ("SELECT $1::jsonb", ({"a": {"b": [1.5, True]}},)),
    ("SELECT $1::jsonb IS NULL", (None,)),
    ("SELECT $1::json", ({"k": 1},)),
    ("SELECT '{\"a\": [1, 2.5, null]}'::jsonb, '[]'::json", ()),
    ("SELECT $1::uuid", ("6f1c1c9e-5b0e-4a53-8f4e-5a1f4f0d2c11",)),
    ("SELECT gen_random_uuid() IS NOT NULL, 12::bigint, 1.5::numeric, 2.5::float8", ()),
    ("SELECT '2026-11-27 12:00:00.123456+00'::timestamptz", ()),
    ("SELECT '2026-11-27 12:00:00'::timestamp, '2026-11-27'::date, '1 day'::interval", ()),
    ("SELECT $1::text[], $2::bigint[]", (["a", None], [1, None])),
    ("SELECT ARRAY[]::text[], 'x'::bytea, true, NULL::text", ()),
    ("SELECT $1::int + $2", (2, 3)),
    ("SELECT length($1)", ("four",)),
]


@pytest.mark.parametrize(("query", "args"), SAME_VALUE)
async def test_values_come_back_as_asyncpg_returns_them(
    both: tuple[Any, BlockingConnection], query: str, args: tuple[Any, ...]
) -> None:
    reference, blocking = both
    expected = await reference.fetchrow(query, *args)
    got = await blocking.fetchrow(query, *args)
    assert got is not None and expected is not None
    assert list(got.values()) == list(expected.values())
    assert [_kind(v) for v in got.values()] == [_kind(v) for v in expected.values()]


def _kind(value: Any) -> type:
    # asyncpg's uuids are its own subclass of uuid.UUID
    return uuid.UUID if isinstance(value, uuid.UUID) else type(value)


async def test_timestamps_are_in_utc_as_msgspec_encodes_asyncpgs(
    both: tuple[Any, BlockingConnection],
) -> None:
    reference, blocking = both
    query = "SELECT now() AS at"
    got = await blocking.fetchval(query)
    assert got.tzinfo is dt.UTC
    expected = await reference.fetchval(query)
    assert msgspec.json.encode(got).endswith(b'Z"') and msgspec.json.encode(expected).endswith(
        b'Z"'
    )


async def test_rows_read_by_name_and_position(both: tuple[Any, BlockingConnection]) -> None:
    reference, blocking = both
    query = "SELECT 1 AS a, 'two' AS b, NULL AS c"
    for conn in (reference, blocking):
        row = await conn.fetchrow(query)
        assert row["a"] == row[0] == 1 and row["b"] == row[1] == "two" and row["c"] is None
        assert list(row.keys()) == ["a", "b", "c"]
        assert dict(row) == {"a": 1, "b": "two", "c": None}
        assert dict(row.items()) == {"a": 1, "b": "two", "c": None}
        assert row.get("b") == "two" and row.get("missing", 7) == 7
        assert len(row) == 3 and list(row) == [1, "two", None]
        assert await conn.fetchval(query, column=1) == "two"


async def test_no_rows_and_commands_without_rows(both: tuple[Any, BlockingConnection]) -> None:
    reference, blocking = both
    for conn in (reference, blocking):
        assert await conn.fetch("SELECT 1 WHERE false") == []
        assert await conn.fetchrow("SELECT 1 WHERE false") is None
        assert await conn.fetchval("SELECT 1 WHERE false") is None
    statuses = []
    for conn, start in ((reference, 1), (blocking, 3)):
        statuses.append(
            await conn.execute(
                "INSERT INTO notes (id, body, tags) VALUES ($1, $2::jsonb, $3), ($4, NULL, NULL)",
                start,
                {"n": start},
                ["x", "y"],
                start + 1,
            )
        )
        # Without arguments the text goes as is: several statements, the last one's status
        statuses.append(await conn.execute("SELECT 1; UPDATE notes SET tags = NULL WHERE false"))
    assert statuses == ["INSERT 0 2", "UPDATE 0"] * 2
    rows = await blocking.fetch("SELECT id, body FROM notes ORDER BY id")
    assert [(r["id"], r["body"]) for r in rows] == [
        (1, {"n": 1}),
        (2, None),
        (3, {"n": 3}),
        (4, None),
    ]


async def test_server_errors_raise_asyncpgs_exception_classes(
    both: tuple[Any, BlockingConnection],
) -> None:
    reference, blocking = both
    await reference.execute("INSERT INTO notes (id) VALUES (1)")
    failing = [
        ("INSERT INTO notes (id) VALUES ($1)", (1,)),
        ("SELECT 1/0", ()),
        ("SELEC 1", ()),
        ("DO $$ BEGIN RAISE EXCEPTION 'custom' USING ERRCODE = 'PCE02'; END $$", ()),
    ]
    for query, args in failing:
        caught = []
        for conn in (reference, blocking):
            with pytest.raises(asyncpg.PostgresError) as info:
                await conn.execute(query, *args)
            caught.append(info.value)
        expected, got = caught
        assert type(got) is type(expected), query
        assert got.sqlstate == expected.sqlstate
        assert got.constraint_name == expected.constraint_name
        assert str(got) == str(expected)
    # asyncpg checks a uuid argument itself; the server's refusal is a DataError too
    with pytest.raises(asyncpg.DataError):
        await blocking.fetchval("SELECT $1::uuid", "not-a-uuid")


async def test_transactions_commit_roll_back_and_nest_as_savepoints(
    both: tuple[Any, BlockingConnection],
) -> None:
    _, conn = both
    async with conn.transaction():
        assert conn.is_in_transaction()
        await conn.execute("INSERT INTO notes (id) VALUES (1)")
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await conn.execute("INSERT INTO notes (id) VALUES (2)")
                raise RuntimeError("undo the inner block only")
    assert not conn.is_in_transaction()
    with pytest.raises(asyncpg.UniqueViolationError):
        async with conn.transaction():
            await conn.execute("INSERT INTO notes (id) VALUES (3)")
            await conn.execute("INSERT INTO notes (id) VALUES (1)")
    assert not conn.is_in_transaction()
    assert [r["id"] for r in await conn.fetch("SELECT id FROM notes ORDER BY id")] == [1]


async def test_a_closed_connection_says_so(database_url: str) -> None:
    conn = await connect_blocking(database_url)
    other = await connect(database_url)
    try:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        await other.execute("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(asyncpg.ConnectionDoesNotExistError):
            await conn.fetchval("SELECT 1")
        assert conn.is_closed()
    finally:
        await other.close()
        conn.terminate()


async def test_session_settings_apply(database_url: str) -> None:
    conn = await connect_blocking(database_url)
    try:
        assert await conn.fetchval("SELECT current_setting('application_name')") == "picloud"
        assert isinstance(await conn.fetchval("SELECT $1::uuid", str(uuid.uuid4())), uuid.UUID)
        assert await conn.fetchval("SELECT 1.25::numeric") == Decimal("1.25")
    finally:
        await conn.close()


async def test_a_statement_is_prepared_again_after_the_schema_changes_under_it(
    both: tuple[Any, BlockingConnection],
) -> None:
    reference, blocking = both
    await reference.execute("INSERT INTO notes (id) VALUES (1)")
    query = "SELECT * FROM notes"
    assert [list(r.values()) for r in await blocking.fetch(query)] == [[1, None, None]]
    # When another session changes the table the prepared statement reads
    await reference.execute("ALTER TABLE notes ADD COLUMN extra int DEFAULT 7")
    # Then the same query answers with the new shape (asyncpg re-prepares too)
    for conn in (blocking, reference):
        rows = await conn.fetch(query)
        assert [r["extra"] for r in rows] == [7]
    # And a statement the session lost (DEALLOCATE ALL, a pooler's reset) is prepared again
    await blocking.execute("DEALLOCATE ALL")
    assert await blocking.fetchval("SELECT count(*) FROM notes") == 1


async def test_naive_datetimes_are_utc_as_asyncpg_takes_them(
    both: tuple[Any, BlockingConnection],
) -> None:
    reference, blocking = both
    naive = dt.datetime(2026, 11, 27, 12, 0, 0)
    for conn in (reference, blocking):
        await conn.execute("SET TIME ZONE 'America/New_York'")
        got = await conn.fetchval("SELECT $1::timestamptz", naive)
        assert got == naive.replace(tzinfo=dt.UTC)
