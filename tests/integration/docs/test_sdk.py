"""``docs::collection(name)`` methods through real scripts behind real routes."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import asyncpg

from tests.integration.docs.conftest import (
    MAX_DOC_BYTES,
    MAX_PAGE,
    Deployer,
    doc_events,
    docs_app,
)

_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_create_get_update_delete_round_trip(
    client: Any, deploy: Deployer, database_url: str
) -> None:
    # Given an app with the docs endpoint
    d = await docs_app(deploy, client)
    # When a document is created, Then the envelope has the id, data, version 1 and timestamps
    made = await d.ok("create", data={"name": "ann", "n": 1, "tags": ["x"], "f": 1.5})
    assert set(made) == {"id", "data", "created_at", "updated_at", "version"}
    uuid.UUID(made["id"])
    assert made["data"] == {"f": 1.5, "n": 1, "name": "ann", "tags": ["x"]}
    assert made["version"] == 1
    assert _STAMP.match(made["created_at"]) and made["created_at"] == made["updated_at"]
    # And get returns the same envelope
    assert await d.ok("get", id=made["id"]) == made
    # When it is replaced, Then version goes up, created_at stays, the data is the new data
    new = await d.ok("update", id=made["id"], data={"name": "bob"})
    assert new["data"] == {"name": "bob"} and new["version"] == 2
    assert new["created_at"] == made["created_at"] and new["updated_at"] >= made["updated_at"]
    assert await d.ok("get", id=made["id"]) == new
    # When deleted, delete reports it was present exactly once
    assert await d.ok("delete", id=made["id"]) is True
    assert await d.ok("delete", id=made["id"]) is False
    assert await d.ok("get", id=made["id"]) is None


async def test_missing_ids_are_unit_not_errors(client: Any, deploy: Deployer) -> None:
    d = await docs_app(deploy, client)
    for missing in (str(uuid.uuid4()), "not-a-uuid", 42, None):
        assert await d.ok("get", id=missing) is None
        assert await d.ok("update", id=missing, data={"a": 1}) is None
        assert await d.ok("delete", id=missing) is False
    assert await d.ok("find_one", filter={"a": 1}) is None


async def test_empty_collection(client: Any, deploy: Deployer) -> None:
    d = await docs_app(deploy, client)
    assert await d.ok("find") == []
    assert await d.ok("find", filter={"a": {"$gt": 1}}) == []
    assert await d.ok("find_one") is None
    assert await d.ok("list") == {"items": [], "cursor": None}
    assert await d.ok("list", opts={"limit": 5}) == {"items": [], "cursor": None}


async def test_find_and_find_one_with_the_dsl(client: Any, deploy: Deployer) -> None:
    d = await docs_app(deploy, client)
    for i, tier in enumerate(["gold", "silver", "gold", "gold"]):
        await d.ok("create", data={"i": i, "tier": tier, "age": [9, 10, "10", 30][i]})
    # implicit equality, typed comparisons, sort and limit
    got = await d.ok("find", filter={"tier": "gold", "$sort": "-i"})
    assert [e["data"]["i"] for e in got] == [3, 2, 0]
    got = await d.ok("find", filter={"age": {"$gt": 9}})
    assert [e["data"]["i"] for e in got] == [1, 3]
    got = await d.ok("find", filter={"$or": [{"i": 0}, {"age": "10"}], "$limit": 1})
    assert [e["data"]["i"] for e in got] == [0]
    one = await d.ok("find_one", filter={"tier": "gold", "$sort": {"i": -1}})
    assert one["data"]["i"] == 3
    # a refused filter is a catchable error naming operator and path
    err = await d.error("find", filter={"name": {"$regex": "^a"}})
    assert err.startswith("docs: find: ") and "'$regex'" in err and "'name'" in err
    assert err.endswith("[invalid_query]")
    err = await d.error("find", filter={"a.b.c.d.e.f": 1})
    assert "'a.b.c.d.e.f'" in err and err.endswith("[invalid_query]")
    err = await d.error("find", filter={"$limit": MAX_PAGE + 1})
    assert "'$limit'" in err and err.endswith("[invalid_query]")
    err = await d.error("find", filter=[1])
    assert err.endswith("[invalid_query]")


async def test_list_pages_with_cursors_while_documents_come_and_go(
    client: Any, deploy: Deployer
) -> None:
    # Given five documents
    d = await docs_app(deploy, client)
    ids = [(await d.ok("create", data={"i": i}))["id"] for i in range(5)]
    # When listing two at a time
    page = await d.ok("list", opts={"limit": 2})
    seen = [e["id"] for e in page["items"]]
    assert seen == ids[:2] and isinstance(page["cursor"], str)
    # And meanwhile a seen document is deleted and two are added concurrently
    assert await d.ok("delete", id=ids[0]) is True
    added = await asyncio.gather(*(d.ok("create", data={"i": 10 + k}) for k in range(2)))
    added_ids = sorted((e["id"] for e in added), key=lambda x: [a["id"] for a in added].index(x))
    cursor = page["cursor"]
    while cursor is not None:
        page = await d.ok("list", opts={"limit": 2, "cursor": cursor})
        seen += [e["id"] for e in page["items"]]
        cursor = page["cursor"]
    # Then every document is seen exactly once, in creation order, new ones at the end
    assert seen[:5] == ids
    assert sorted(seen[5:]) == sorted(added_ids) and len(seen) == 7
    # And the default page size applies without a limit
    for i in range(12):
        await d.ok("create", data={"j": i})
    assert len((await d.ok("list"))["items"]) == 10


async def test_list_refuses_bad_options(client: Any, deploy: Deployer) -> None:
    d = await docs_app(deploy, client)
    assert (await d.error("list", opts={"limit": 0})).endswith("[invalid_limit]")
    assert (await d.error("list", opts={"limit": MAX_PAGE + 1})).endswith("[invalid_limit]")
    assert (await d.error("list", opts={"cursor": "bogus"})).endswith("[invalid_cursor]")
    assert (await d.error("list", opts={"prefix": "a"})).endswith("[docs_invalid_options]")


BLOB_SOURCE = r"""
let c = docs::collection("bin");
let b = blob(3, 0x41);
b.push(0);
let made = c.create(#{bin: b, nested: #{more: [b]}});
let got = c.get(made.id);
let found = c.find(#{bin: b});
#{
    type: type_of(got.data.bin),
    same: got.data.bin == b && got.data.nested.more[0] == b,
    len: got.data.bin.len(),
    found: found.len(),
}
"""


async def test_blob_round_trip(client: Any, deploy: Deployer) -> None:
    # Given a script that stores a Blob in a document and reads it back
    made = await deploy.app()
    await deploy.endpoint(made["slug"], "GET", "/bin", BLOB_SOURCE)
    r = await client.get(f"/a/{made['slug']}/bin")
    # Then it comes back as an equal Blob, and equality filters find it
    assert r.status_code == 200, r.text
    assert r.json() == {"type": "blob", "same": True, "len": 4, "found": 1}


async def test_limits_are_documented_errors_and_write_nothing(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    d = await docs_app(deploy, client)
    kept = await d.ok("create", data={"k": 1})
    big = {"s": "x" * MAX_DOC_BYTES}
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(70):
        cur["d"] = {}
        cur = cur["d"]
    cases = [
        ("create", {"data": big}, "[doc_too_large]"),
        ("update", {"id": kept["id"], "data": big}, "[doc_too_large]"),
        ("create", {"data": [1, 2]}, "[invalid_document]"),
        ("create", {"data": "text"}, "[invalid_document]"),
        ("create", {"data": deep}, "[unsupported_value]"),
        ("create", {"data": {"a": 1}, "collection": "bad name!"}, "[invalid_collection]"),
        ("find", {"filter": {"a.b.c.d.e.f": 1}}, "[invalid_query]"),
    ]
    for op, kwargs, code in cases:
        err = await d.error(op, **kwargs)
        assert err.startswith((f"docs: {op}: ", "docs: collection: ")), err
        assert err.endswith(code), err
    # Nothing was written by any refused call
    events = await doc_events(pool, d.id)
    assert [e["type"] for e in events] == ["doc.created"]
    assert await d.ok("get", id=kept["id"]) == kept


async def test_events_carry_prev_data(client: Any, deploy: Deployer, pool: asyncpg.Pool) -> None:
    d = await docs_app(deploy, client)
    made = await d.ok("create", data={"v": 1})
    await d.ok("update", id=made["id"], data={"v": 2})
    await d.ok("delete", id=made["id"])
    events = await doc_events(pool, d.id)
    assert [(e["type"], e["version"]) for e in events] == [
        ("doc.created", 1),
        ("doc.updated", 2),
        ("doc.deleted", 3),
    ]
    assert {e["stream"] for e in events} == {f"doc-{made['id']}"}
    assert events[1]["data"]["prev_data"] == {"v": 1} and events[1]["data"]["data"] == {"v": 2}
    assert events[2]["data"]["prev_data"] == {"v": 2}


async def test_concurrent_updates_never_lose_an_event(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given one document
    d = await docs_app(deploy, client)
    made = await d.ok("create", data={"n": -1})
    # When many scripts replace it at the same time
    n = 8
    results = await asyncio.gather(
        *(d.ok("update", id=made["id"], data={"n": i}) for i in range(n))
    )
    # Then every update got its own version
    assert sorted(r["version"] for r in results) == list(range(2, n + 2))
    # And the log holds all of them in order, each prev_data the data just before it
    events = await doc_events(pool, d.id)
    updates = [e for e in events if e["type"] == "doc.updated"]
    assert [e["version"] for e in updates] == list(range(2, n + 2))
    prev = {"n": -1}
    for e in updates:
        assert e["data"]["prev_data"] == prev
        prev = e["data"]["data"]
    assert sorted(e["data"]["data"]["n"] for e in updates) == list(range(n))
    assert (await d.ok("get", id=made["id"]))["data"] == prev


async def test_apps_never_see_each_others_documents(client: Any, deploy: Deployer) -> None:
    # Given two apps using the same collection name
    a = await docs_app(deploy, client)
    b = await docs_app(deploy, client)
    doc = await a.ok("create", data={"secret": 1})
    # Then the other app can neither read nor change it, even knowing its id
    assert await b.ok("get", id=doc["id"]) is None
    assert await b.ok("find", filter={"secret": 1}) == []
    assert await b.ok("list") == {"items": [], "cursor": None}
    assert await b.ok("update", id=doc["id"], data={"secret": 2}) is None
    assert await b.ok("delete", id=doc["id"]) is False
    assert await a.ok("get", id=doc["id"]) == doc


async def _key(client: Any, admin: dict[str, str], scopes: list[str]) -> dict[str, str]:
    r = await client.post(
        "/api/v1/admin/api-keys", json={"name": f"k{uuid.uuid4().hex[:6]}", "scopes": scopes},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def test_callers_need_the_docs_capabilities(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given an app with a document, and keys with and without script:write
    d = await docs_app(deploy, client)
    doc = await d.ok("create", data={"a": 1})
    reader = await _key(client, admin_headers, ["script:read"])
    writer = await _key(client, admin_headers, ["script:read", "script:write"])
    nobody = await _key(client, admin_headers, ["app:read"])
    # Then reads need AppDocsRead and writes AppDocsWrite
    assert (await d.ok("get", id=doc["id"], headers=reader))["data"] == {"a": 1}
    err = await d.error("create", data={"b": 1}, headers=reader)
    assert "AppDocsWrite" in err and err.endswith("[docs_permission_denied]")
    err = await d.error("delete", id=doc["id"], headers=reader)
    assert err.endswith("[docs_permission_denied]")
    err = await d.error("find", headers=nobody)
    assert "AppDocsRead" in err and err.endswith("[docs_permission_denied]")
    assert (await d.ok("create", data={"b": 1}, headers=writer))["data"] == {"b": 1}
    # And an anonymous call is gated by the script alone
    assert await d.ok("delete", id=doc["id"]) is True


RYW_SOURCE = r"""
let c = docs::collection("ryw");
let a = c.create(#{n: 1});
let seen = c.get(a.id).data.n;
c.update(a.id, #{n: 2});
let found = c.find(#{n: 2}).len();
let listed = c.list().items.len();
c.delete(a.id);
#{seen: seen, found: found, listed: listed, after: c.get(a.id), kind: type_of(c)}
"""


async def test_a_run_reads_its_own_writes(client: Any, deploy: Deployer) -> None:
    # Given one script that writes and reads back within the same run
    made = await deploy.app()
    await deploy.endpoint(made["slug"], "GET", "/ryw", RYW_SOURCE)
    r = await client.get(f"/a/{made['slug']}/ryw")
    # Then every read sees the writes before it
    assert r.status_code == 200, r.text
    assert r.json() == {
        "seen": 1,
        "found": 1,
        "listed": 1,
        "after": None,
        "kind": "DocsCollection",
    }


async def test_sql_lookalikes_are_stored_and_queried_verbatim(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given documents whose keys, nested keys and values look like SQL
    d = await docs_app(deploy, client)
    key = "'; DROP TABLE docs; --"
    value = "x' OR '1'='1"
    data = {key: value, "n": {'a"b': "$1::jsonb", "c') OR TRUE --": [value]}}
    made = await d.ok("create", collection="c.x-1_", data=data)
    other = await d.ok("create", collection="c.x-1_", data={key: "plain"})
    # Then they come back exactly as stored
    assert (await d.ok("get", collection="c.x-1_", id=made["id"]))["data"] == data
    # And filters on those keys, paths and values match only the exact document
    for flt in (
        {key: value},
        {'n.a"b': "$1::jsonb"},
        {"n.c') OR TRUE --": [value]},
        {key: {"$in": [value, "' OR 1=1"]}},
        {key: {"$gt": "x'"}, "$sort": f"-{key}"},
    ):
        got = await d.ok("find", collection="c.x-1_", filter=flt)
        assert [e["id"] for e in got] == [made["id"]], flt
    assert [e["id"] for e in await d.ok("find", collection="c.x-1_", filter={key: "plain"})] == [
        other["id"]
    ]
    # And the table is intact
    assert await pool.fetchval("SELECT count(*) FROM docs WHERE app_id = $1::uuid", d.id) == 2
