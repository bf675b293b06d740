"""Property: random docs operations from scripts leave the state a Python model predicts.

Each example runs a random sequence of create / update / delete / find calls
through the docs endpoint of a fresh app. Updates and deletes of distinct
documents run concurrently in batches (they commute), so several scripts
write at once. Every ``find`` must return what the model of the DSL returns;
at the end the ``docs`` rows must equal the model and ``rebuild --verify``
must report the table identical to its replay.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picloud.db import connect
from picloud.projections.docs import PROJECTION as DOCS
from picloud.projections.rebuild import rebuild
from tests.integration.docs._model import model_find
from tests.integration.docs.conftest import Deployer, docs_app

# Scalars sort and compare under the documented rules; "o" and "t" add nesting.
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([1.5, -2.25, 3.0]),
    st.sampled_from(["", "a", "b", "10", "9", "'; --"]),
)
doc_data = st.fixed_dictionaries(
    {},
    optional={
        "n": scalar,
        "s": st.sampled_from(["a", "b", "c"]),
        "o": st.fixed_dictionaries({}, optional={"x": st.integers(0, 3), "y": scalar}),
        "t": st.lists(st.integers(0, 2), max_size=2),
    },
)
path = st.sampled_from(["n", "s", "o.x", "o.y", "t", "zz"])
leaf = st.one_of(
    st.builds(lambda p, v: {p: v}, path, scalar),
    st.builds(lambda p, op, v: {p: {op: v}}, path, st.sampled_from(["$eq", "$ne"]), scalar),
    st.builds(
        lambda p, op, v: {p: {op: v}},
        path,
        st.sampled_from(["$gt", "$gte", "$lt", "$lte"]),
        st.one_of(st.integers(-3, 3), st.sampled_from(["a", "10", "9"])),
    ),
    st.builds(lambda p, v: {p: {"$in": v}}, path, st.lists(scalar, max_size=3)),
    st.builds(lambda p, b: {p: {"$exists": b}}, path, st.booleans()),
    st.builds(lambda v: {"t": v}, st.lists(st.integers(0, 2), max_size=2)),
)
flt = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda fs: {"$and": fs}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda fs: {"$or": fs}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda f: {"$not": f}, inner),
    ),
    max_leaves=4,
)
sort = st.lists(
    st.sampled_from(["n", "-n", "s", "-s", "o.x", "-o.x"]), min_size=1, max_size=2, unique=True
)
query = st.builds(
    lambda f, s, lim: {**f, **({"$sort": s} if s else {}), **({"$limit": lim} if lim else {})},
    flt,
    st.one_of(st.none(), sort),
    st.one_of(st.none(), st.integers(1, 4)),
)
op = st.one_of(
    st.tuples(st.just("create"), doc_data),
    st.tuples(st.just("batch"), st.lists(st.tuples(st.integers(0, 20), doc_data), max_size=3)),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("find"), query),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=14))
async def test_random_operations_match_the_model_and_rebuild(
    client: Any, deploy: Deployer, database_url: str, ops: list[tuple[str, Any]]
) -> None:
    d = await docs_app(deploy, client)
    model: list[tuple[str, dict[str, Any]]] = []  # (id, data) in creation order
    for kind, arg in ops:
        if kind == "create":
            made = await d.ok("create", data=arg)
            model.append((made["id"], arg))
        elif kind == "delete":
            if model:
                doc_id = model.pop(arg % len(model))[0]
                assert await d.ok("delete", id=doc_id) is True
                assert await d.ok("get", id=doc_id) is None
        elif kind == "batch":
            # Distinct documents: concurrent replaces commute.
            picks = {model[i % len(model)][0]: data for i, data in arg} if model else {}
            got = await asyncio.gather(
                *(d.ok("update", id=doc_id, data=data) for doc_id, data in picks.items())
            )
            assert [g["data"] for g in got] == list(picks.values())
            model = [(i, picks.get(i, data)) for i, data in model]
        else:
            found = await d.ok("find", filter=arg)
            assert [e["id"] for e in found] == model_find(model, arg), arg
    # The table holds exactly the model's documents
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id::text AS id, data FROM docs WHERE app_id = $1::uuid ORDER BY seq", d.id
        )
        assert [(r["id"], r["data"]) for r in rows] == model
        report = await rebuild(conn, verify=True, projections=[DOCS])
    finally:
        await conn.close()
    assert [t.table for t in report.tables] == ["docs"] and report.identical, report.tables
