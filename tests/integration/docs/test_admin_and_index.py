"""Admin browsing of documents, the GIN index under equality filters, and rebuild --verify."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from typing import Any

import asyncpg

from picloud.db import connect
from picloud.projections.docs import PROJECTION as DOCS
from picloud.projections.rebuild import rebuild
from picloud.services.docs import DocsLimits, find_sql
from tests.integration.docs.conftest import MAX_PAGE, Deployer, docs_app

BASE = "/api/v1/admin/apps"


async def test_admin_lists_documents_with_cursors(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    # Given three documents made by a script
    d = await docs_app(deploy, client)
    made = [await d.ok("create", data={"i": i, "bin": None}) for i in range(3)]
    # When the dashboard pages through the collection two at a time
    r = await client.get(f"{BASE}/{d.slug}/docs/c?limit=2", headers=admin_headers)
    assert r.status_code == 200, r.text
    first = r.json()
    r = await client.get(
        f"{BASE}/{d.id}/docs/c?limit=2&cursor={first['cursor']}", headers=admin_headers
    )
    second = r.json()
    # Then it sees every document once, in creation order, with its envelope fields
    items = first["items"] + second["items"]
    assert [i["id"] for i in items] == [m["id"] for m in made]
    assert second["cursor"] is None
    assert items[0]["data"] == {"i": 0, "bin": None} and items[0]["version"] == 1
    assert {"id", "collection", "data", "version", "created_at", "updated_at"} <= set(items[0])


async def test_admin_browse_refuses_bad_input_and_unauthorised_callers(
    client: Any, deploy: Deployer, admin_headers: dict[str, str]
) -> None:
    d = await docs_app(deploy, client)
    cases = [
        (f"{BASE}/{d.slug}/docs/bad%20name", 400, "invalid_collection"),
        (f"{BASE}/{d.slug}/docs/c?cursor=zzz", 400, "invalid_cursor"),
        (f"{BASE}/{d.slug}/docs/c?limit={MAX_PAGE + 1}", 400, "invalid_limit"),
        (f"{BASE}/{d.slug}/docs/c?limit=0", 400, None),
        (f"{BASE}/no-such-app/docs/c", 404, "not_found"),
    ]
    for url, status, code in cases:
        r = await client.get(url, headers=admin_headers)
        assert r.status_code == status, (url, r.text)
        if code:
            assert r.json()["error"]["code"] == code
    assert (await client.get(f"{BASE}/{d.slug}/docs/c")).status_code == 401
    r = await client.post(
        "/api/v1/admin/api-keys",
        json={"name": "ro", "scopes": ["app:read"]},
        headers=admin_headers,
    )
    key = {"Authorization": f"Bearer {r.json()['key']}"}
    r = await client.get(f"{BASE}/{d.slug}/docs/c", headers=key)
    assert r.status_code == 403 and "AppDocsRead" in r.text


async def test_equality_filters_use_the_gin_index(conn: asyncpg.Connection) -> None:
    # Given a large collection of one app (and a little of another): the
    # (app, collection) btree narrows nothing, so only the GIN index can answer
    # the equality cheaply — with a small collection the planner may rightly
    # prefer the btree, which made an earlier version of this test flaky
    app_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO docs (app_id, collection, id, data, version, created_at, updated_at, seq,"
        " last_position)"
        " SELECT CASE WHEN g % 10 = 0 THEN gen_random_uuid() ELSE $1::uuid END,"
        " 'c', gen_random_uuid(),"
        " jsonb_build_object('tier', 't' || (g % 50), 'user', jsonb_build_object('n', g)),"
        " 1, now(), now(), g, g FROM generate_series(1, 5000) AS g",
        app_id,
    )
    await conn.execute("ANALYZE docs")
    sql, params = find_sql(app_id, "c", {"tier": "t21", "user.n": 71}, DocsLimits())
    # When the planner may not scan the table sequentially
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *params))
    # Then the equality is answered by the jsonb_path_ops GIN index
    assert "docs_data_gin_idx" in plan, plan
    assert "@>" in plan
    # And the query itself returns the one matching document (g = 71 is this app's)
    assert len(await conn.fetch(sql, *params)) == 1


async def test_rebuild_verifies_identical_after_sdk_writes(
    client: Any, deploy: Deployer, database_url: str, admin_headers: dict[str, str]
) -> None:
    # Given documents created, replaced and deleted in two apps, and one app deleted
    a = await docs_app(deploy, client)
    b = await docs_app(deploy, client)
    for d in (a, b):
        x = await d.ok("create", data={"v": 1, "nested": {"k": [1, "2", None]}})
        y = await d.ok("create", collection="other", data={"v": 2})
        await d.ok("update", id=x["id"], data={"v": 3})
        await d.ok("delete", id=y["id"], collection="other")
        await d.ok("create", data={"v": 4})
    r = await client.delete(f"{BASE}/{b.id}", headers=admin_headers)
    assert r.status_code in (200, 204), r.text
    # When the docs projection is rebuilt from the log and compared
    conn = await connect(database_url)
    try:
        report = await rebuild(conn, verify=True, projections=[DOCS])
        rows = await conn.fetch("SELECT app_id::text AS app FROM docs")
    finally:
        await conn.close()
    # Then the docs table is identical to its replay, and only app a's documents remain
    assert [t.table for t in report.tables] == ["docs"]
    assert report.identical, report.tables
    assert report.tables[0].live_rows == 2
    assert {r["app"] for r in rows} == {a.id}
    # And the CLI says so too
    env = {**os.environ, "DATABASE_URL": database_url}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "picloud", "projections", "rebuild", "--verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert re.search(r"^  docs: 2 live / 2 rebuilt — identical$", done.stdout, re.MULTILINE), (
        done.stdout + done.stderr
    )
