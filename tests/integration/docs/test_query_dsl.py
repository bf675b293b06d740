"""The query DSL against real PostgreSQL: a fixed data set, filters, expected ids.

Each filter is compiled with ``compile_filter`` and run on a scratch table of
the test database shaped like ``docs`` (``id``, ``seq``, jsonb ``data``); the
result must equal the expected ids *and* the Python model of the semantics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from picloud.db import connect
from picloud.services.docs_query import QueryError, compile_filter
from tests.conftest import TemplateDatabase, with_database

from ._model import model_find

INJECT_KEY = "'; DROP TABLE dsl; --"
INJECT_VALUE = "x' OR '1'='1"

#: (id, data) in creation order; ``seq`` is the position in this list.
DATA: list[tuple[str, dict[str, Any]]] = [
    ("d01", {"name": "ann", "age": 30, "tier": "gold", "score": 10, "tags": ["a", "b"],
             "addr": {"city": "Oslo", "zip": "0150"}}),
    ("d02", {"name": "bob", "age": 9, "tier": "silver", "score": "10", "addr": {"city": "Bergen"}}),
    ("d03", {"name": "cy", "age": "9", "tier": "gold", "score": 9.5, "active": True}),
    ("d04", {"name": "dee", "age": 10, "tier": None, "score": 100, "active": False}),
    ("d05", {"name": "eve", "age": 10.0, "nested": {"a": {"b": {"c": {"d": 1}}}}}),
    ("d06", {"name": "fay", "score": "9", "tags": ["b"], "addr": {"city": "Oslo", "geo": {"lat": 59.9}}}),
    ("d07", {"name": "gus", "age": None, "active": 1}),
    ("d08", {"name": "Hal", "age": -5, "tier": "Gold", "score": [10]}),
    ("d09", {"name": "ivy", "age": 1000, "note": INJECT_VALUE}),
    ("d10", {"name": "jo", "tags": [], "addr": "Oslo"}),
    ("d11", {"name": "kim", "age": "10", "score": {"v": 10}}),
    ("d12", {"name": "lu", "age": 2, "tier": "gold", "nested": {"a": {"b": {"c": {"d": "1"}}}}}),
    ("d13", {INJECT_KEY: INJECT_VALUE, 'we"ird': {"k\\ey": "$1 ' -- \\"}, "name": "zed"}),
]  # fmt: skip

ALL = [d for d, _ in DATA]


def but(*ids: str) -> list[str]:
    """Every id except ``ids``, in creation order."""
    return [d for d in ALL if d not in ids]


#: filter → expected ids, in result order.
CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ALL),
    # implicit equality follows the JSON type
    ({"tier": "gold"}, ["d01", "d03", "d12"]),
    ({"age": 10}, ["d04", "d05"]),
    ({"age": 10.0}, ["d04", "d05"]),
    ({"age": "10"}, ["d11"]),
    ({"active": True}, ["d03"]),
    ({"active": 1}, ["d07"]),
    ({"name": "ann", "tier": "gold"}, ["d01"]),
    # numbers compare as numbers, strings as strings, never across types
    ({"age": {"$gt": 9}}, ["d01", "d04", "d05", "d09"]),
    ({"age": {"$gte": 9, "$lte": 10}}, ["d02", "d04", "d05"]),
    ({"age": {"$gt": "9"}}, []),
    ({"age": {"$lt": "9"}}, ["d11"]),
    ({"age": {"$lt": 0}}, ["d08"]),
    ({"score": {"$gt": 9}}, ["d01", "d03", "d04"]),
    ({"score": {"$gte": "9"}}, ["d06"]),
    ({"score": {"$lt": "9"}}, ["d02"]),
    ({"name": {"$gt": "kim"}}, ["d12", "d13"]),
    ({"name": {"$lt": "ann"}}, ["d08"]),
    # null is a value; missing is not null
    ({"tier": None}, ["d04"]),
    ({"age": None}, ["d07"]),
    ({"tier": {"$eq": None}}, ["d04"]),
    ({"tier": {"$ne": None}}, but("d04")),
    ({"tier": {"$exists": False}}, ["d05", "d06", "d07", "d09", "d10", "d11", "d13"]),
    ({"tier": {"$exists": True}}, ["d01", "d02", "d03", "d04", "d08", "d12"]),
    ({"tier": {"$ne": "gold"}}, but("d01", "d03", "d12")),
    ({"missing": {"$ne": 1}}, ALL),
    ({"missing": {"$gt": 0}}, []),
    # nested paths walk maps only, up to 5 levels
    ({"addr.city": "Oslo"}, ["d01", "d06"]),
    ({"addr.geo.lat": {"$gt": 59}}, ["d06"]),
    ({"addr.geo": {"lat": 59.9}}, ["d06"]),
    ({"addr": {"city": "Oslo"}}, []),
    ({"nested.a.b.c.d": 1}, ["d05"]),
    ({"nested.a.b.c.d": "1"}, ["d12"]),
    ({"nested.a.b.c": {"$exists": True}}, ["d05", "d12"]),
    ({"tags.0": "a"}, []),
    # maps and arrays compare exactly (not containment)
    ({"tags": ["b"]}, ["d06"]),
    ({"tags": ["a", "b"]}, ["d01"]),
    ({"tags": ["b", "a"]}, []),
    ({"tags": []}, ["d10"]),
    ({"score": [10]}, ["d08"]),
    ({"score": {"$eq": {"v": 10}}}, ["d11"]),
    ({"score": {"v": 10}}, ["d11"]),
    ({"addr": {"$eq": {}}}, []),
    # $in with mixed types
    ({"age": {"$in": [10, "9", None]}}, ["d03", "d04", "d05", "d07"]),
    ({"age": {"$in": []}}, []),
    ({"score": {"$in": ["10", [10]]}}, ["d02", "d08"]),
    # logical operators
    ({"$or": [{"tier": "gold"}, {"age": {"$lt": 0}}]}, ["d01", "d03", "d08", "d12"]),
    ({"$and": [{"tier": "gold"}, {"age": {"$gte": 30}}]}, ["d01"]),
    ({"$not": {"tier": "gold"}}, but("d01", "d03", "d12")),
    ({"age": {"$not": {"$gt": 9}}}, but("d01", "d04", "d05", "d09")),
    ({"$not": {"$or": [{"age": {"$exists": True}}, {"tier": {"$exists": True}}]}},
     ["d06", "d10", "d13"]),
    ({"$or": [{"$and": [{"tier": "gold"}, {"age": {"$lt": 5}}]}, {"name": "bob"}]}, ["d02", "d12"]),
    # injection attempts are plain data
    ({INJECT_KEY: INJECT_VALUE}, ["d13"]),
    ({"note": INJECT_VALUE}, ["d09"]),
    ({"name": INJECT_VALUE}, []),
    ({'we"ird.k\\ey': "$1 ' -- \\"}, ["d13"]),
    ({"name": {"$in": ["'", "') OR TRUE --", "ann"]}}, ["d01"]),
    ({"name": {"$gt": "' OR 1=1 --"}}, but()),
    # sort: missing < null < bool < numbers < strings; ties keep creation order
    ({"$sort": "age"},
     ["d06", "d10", "d13", "d07", "d08", "d12", "d02", "d04", "d05", "d01", "d09", "d11", "d03"]),
    ({"$sort": "-age"},
     ["d03", "d11", "d09", "d01", "d04", "d05", "d02", "d12", "d08", "d07", "d06", "d10", "d13"]),
    ({"$sort": [{"age": -1}], "age": {"$gt": 0}}, ["d09", "d01", "d04", "d05", "d02", "d12"]),
    ({"$sort": ["tier", "-name"]},
     ["d13", "d11", "d10", "d09", "d07", "d06", "d05", "d04", "d08", "d12", "d03", "d01", "d02"]),
    ({"$sort": ["+active", {"name": "desc"}], "active": {"$exists": True}}, ["d04", "d03", "d07"]),
    ({"$sort": "addr.city", "addr.city": {"$exists": True}}, ["d02", "d01", "d06"]),
    ({"$sort": "age", "$limit": 3}, ["d06", "d10", "d13"]),
    ({"tier": "gold", "$sort": {"name": -1}, "$limit": 2}, ["d12", "d03"]),
    ({"$limit": 1}, ["d01"]),
]  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dsl(template_database: TemplateDatabase) -> AsyncIterator[asyncpg.Connection]:
    """The scratch table ``dsl`` holding :data:`DATA`, shared by this module (read-only)."""
    name = await asyncio.to_thread(template_database.clones.take)
    conn = await connect(with_database(template_database.admin_dsn, name))
    try:
        await conn.execute(
            "CREATE TABLE dsl (id text PRIMARY KEY, seq int NOT NULL, data jsonb NOT NULL)"
        )
        await conn.executemany(
            "INSERT INTO dsl (id, seq, data) VALUES ($1, $2, $3::jsonb)",
            [(d, i, data) for i, (d, data) in enumerate(DATA)],
        )
        yield conn
    finally:
        await conn.close()
        template_database.clones.release(name)


async def run(conn: asyncpg.Connection, flt: dict[str, Any]) -> list[str]:
    """Compile ``flt`` and return the matching ids."""
    q = compile_filter(flt, first_param=1, tiebreak="seq")
    limit = "" if q.limit is None else f" LIMIT {q.limit:d}"
    sql = f"SELECT id FROM dsl WHERE {q.where} ORDER BY {q.order_by}{limit}"
    return [r["id"] for r in await conn.fetch(sql, *q.params)]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("flt", "expected"), CASES, ids=[repr(c[0])[:60] for c in CASES])
async def test_filter_returns_the_expected_ids(
    dsl: asyncpg.Connection, flt: dict[str, Any], expected: list[str]
) -> None:
    # Given the fixed data set, When the filter runs as SQL
    got = await run(dsl, flt)
    # Then it returns exactly the expected ids, as the model of the semantics says
    assert got == expected
    assert model_find(DATA, flt) == expected


@pytest.mark.asyncio(loop_scope="module")
async def test_injection_attempts_leave_the_table_intact(dsl: asyncpg.Connection) -> None:
    # Given filters whose keys, paths and values look like SQL
    for flt in ({INJECT_KEY: 1}, {f"a.{INJECT_KEY}": {"$gt": "'"}}, {"$sort": INJECT_KEY}):
        await run(dsl, flt)
    # Then nothing was executed as SQL: every row is still there
    assert await dsl.fetchval("SELECT count(*) FROM dsl") == len(DATA)


REFUSED: list[tuple[Any, str | None, str | None]] = [
    ({"name": {"$regex": "^a"}}, "$regex", "name"),
    ({"$where": "this.a == 1"}, "$where", None),
    ({"$nor": [{"a": 1}]}, "$nor", None),
    ({"$text": {"$search": "x"}}, "$text", None),
    ({"age": {"$nin": [1]}}, "$nin", "age"),
    ({"tags": {"$elemMatch": {"$eq": "a"}}}, "$elemMatch", "tags"),
    ({"a.b": {"$foo": 1}}, "$foo", "a.b"),
    ({"a.b.c.d.e.f": 1}, None, "a.b.c.d.e.f"),
    ({"a..b": 1}, None, "a..b"),
    ({"a.$b": 1}, None, "a.$b"),
    ({"age": {"$gt": True}}, "$gt", "age"),
    ({"age": {"$lt": None}}, "$lt", "age"),
    ({"age": {"$gte": [1]}}, "$gte", "age"),
    ({"age": {"$lte": {"x": 1}}}, "$lte", "age"),
    ({"age": {"$gt": float("nan")}}, "$gt", "age"),
    ({"age": {"$in": 5}}, "$in", "age"),
    ({"age": {"$exists": "yes"}}, "$exists", "age"),
    ({"age": {"$not": 5}}, "$not", "age"),
    ({"age": {"$gt": 1, "b": 2}}, None, "age"),
    ({"$and": 5}, "$and", None),
    ({"$and": []}, "$and", None),
    ({"$or": [5]}, "$or", None),
    ({"$not": [{"a": 1}]}, "$not", None),
    ({"$and": [{"$limit": 1}]}, "$limit", None),
    ({"$or": [{"$sort": "a"}]}, "$sort", None),
    ({"$sort": 5}, "$sort", None),
    ({"$sort": []}, "$sort", None),
    ({"$sort": {"a": 2}}, "$sort", "a"),
    ({"$sort": {"a": 1, "b": 1}}, "$sort", None),
    ({"$sort": "a.b.c.d.e.f"}, None, "a.b.c.d.e.f"),
    ({"$limit": 0}, "$limit", None),
    ({"$limit": "5"}, "$limit", None),
    ({"$limit": True}, "$limit", None),
    ({"name": "a\x00b"}, "$eq", "name"),
    ({"age": {"$eq": object()}}, "$eq", "age"),
    (5, None, None),
    ([{"a": 1}], None, None),
]


@pytest.mark.parametrize(
    ("flt", "operator", "path"), REFUSED, ids=[repr(r[0])[:50] for r in REFUSED]
)
def test_unsupported_forms_are_refused_naming_operator_and_path(
    flt: Any, operator: str | None, path: str | None
) -> None:
    # When a filter uses something outside the DSL
    with pytest.raises(QueryError) as info:
        compile_filter(flt, max_limit=1000)
    # Then the error is invalid_query and names the operator and the path
    err = info.value
    assert err.code == "invalid_query"
    details = err.details or {}
    assert details.get("operator") == operator
    assert details.get("path") == path
    if operator:
        assert repr(operator) in err.message
    if path:
        assert repr(path) in err.message


def test_limit_over_the_maximum_is_refused() -> None:
    with pytest.raises(QueryError, match=r"at most 1000"):
        compile_filter({"$limit": 1001}, max_limit=1000)
