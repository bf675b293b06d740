"""Every KV write is an event with its previous value; concurrent writes lose nothing; replay matches."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
import pytest

from picloud.cli import main as cli_main
from picloud.events.kv import kv_stream
from picloud.settings import get_settings
from tests.integration.kv.conftest import Deployer, kv_app, kv_events


async def test_set_and_delete_events_carry_value_and_previous_value(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given an app whose script sets a key twice, deletes it, and deletes it again
    kv = await kv_app(deploy, client)
    await kv.ok("set", collection="users", key="u:1", value={"name": "ada"})
    await kv.ok("set", collection="users", key="u:1", value={"name": "grace"})
    assert await kv.ok("delete", collection="users", key="u:1") is True
    assert await kv.ok("delete", collection="users", key="u:1") is False
    assert await kv.ok("delete", collection="users", key="never") is False
    # Then the key's stream holds exactly three events, each with the value it replaced
    events = await kv_events(pool, kv.id)
    stream = kv_stream(kv.id, "users", "u:1")
    assert stream == f"kv-{kv.id}-users:u:1"
    assert [(e["type"], e["stream"], e["version"]) for e in events] == [
        ("kv.set", stream, 1),
        ("kv.set", stream, 2),
        ("kv.deleted", stream, 3),
    ]
    first, second, gone = (e["data"] for e in events)
    common = {"app_id": kv.id, "collection": "users", "key": "u:1"}
    assert first == {
        **common,
        "type": "kv.set",
        "value": {"name": "ada"},
        "prev_value": None,
        "created": True,
    }
    assert second == {
        **common,
        "type": "kv.set",
        "value": {"name": "grace"},
        "prev_value": {"name": "ada"},
        "created": False,
    }
    assert gone == {**common, "type": "kv.deleted", "prev_value": {"name": "grace"}}
    # And the events name the script as actor and the request as correlation
    rows = await pool.fetch(
        "SELECT actor, meta->>'request_id' AS rid FROM events WHERE stream = $1", stream
    )
    script_id = await pool.fetchval(
        "SELECT id::text FROM scripts WHERE app_id = $1::uuid AND name = 'kv_ops'", kv.id
    )
    assert {r["actor"] for r in rows} == {f"script:{script_id}"}
    assert all(r["rid"] for r in rows)


async def test_a_key_set_again_after_delete_continues_its_stream(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given a key set, deleted and set again
    kv = await kv_app(deploy, client)
    await kv.ok("set", key="k", value=1)
    await kv.ok("delete", key="k")
    await kv.ok("set", key="k", value=2)
    # Then the third event is version 3, a creation again
    events = await kv_events(pool, kv.id)
    assert [e["version"] for e in events] == [1, 2, 3]
    assert events[2]["data"]["created"] is True
    assert events[2]["data"]["prev_value"] is None
    row = await pool.fetchrow(
        "SELECT value::text AS v, version FROM kv_entries WHERE app_id = $1::uuid", kv.id
    )
    assert (row["v"], row["version"]) == ("2", 3)


async def test_concurrent_sets_of_one_key_all_land_in_order_with_the_right_prev_value(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given many requests setting the same key at once, each to its own value
    kv = await kv_app(deploy, client)
    writers = 16
    results = await asyncio.gather(
        *(kv.call("set", key="hot", value={"writer": i}) for i in range(writers))
    )
    assert all(r == {"r": True} for r in results), results
    # Then the log holds every write, versions 1..n, each replacing the one before it
    events = await kv_events(pool, kv.id)
    assert [e["version"] for e in events] == list(range(1, writers + 1))
    assert sorted(e["data"]["value"]["writer"] for e in events) == list(range(writers))
    assert events[0]["data"]["created"] is True
    for before, after in itertools.pairwise(events):
        assert after["data"]["prev_value"] == before["data"]["value"]
        assert after["data"]["created"] is False
    # And the stored value is the last event's
    assert await kv.ok("get", key="hot") == events[-1]["data"]["value"]


async def test_concurrent_deletes_report_one_winner(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    # Given one present key deleted by many requests at once
    kv = await kv_app(deploy, client)
    await kv.ok("set", key="k", value="v")
    results = await asyncio.gather(*(kv.call("delete", key="k") for _ in range(8)))
    # Then exactly one saw it present, and the log has one deletion
    assert sorted(r["r"] for r in results) == [False] * 7 + [True]
    assert [e["type"] for e in await kv_events(pool, kv.id)] == ["kv.set", "kv.deleted"]


async def test_rebuild_verify_matches_and_catches_tampering(
    client: Any,
    deploy: Deployer,
    pool: asyncpg.Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given KV writes in two apps, Blobs and deletions included
    kv_a = await kv_app(deploy, client)
    kv_b = await kv_app(deploy, client)
    for kv in (kv_a, kv_b):
        for i in range(5):
            await kv.ok("set", collection="c", key=f"k{i}", value={"i": i, "f": 1e17})
        await kv.ok("delete", collection="c", key="k2")
        await kv.ok("set", collection="c", key="k3", value=[None, True, "x"])
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        # Then `picloud projections rebuild --verify` finds kv_entries identical
        assert await asyncio.to_thread(cli_main, ["projections", "rebuild", "--verify"]) == 0
        out = capsys.readouterr().out
        assert "kv_entries: 8 live / 8 rebuilt" in out and "identical" in out
        # And a value changed behind the log's back is reported
        await pool.execute("UPDATE kv_entries SET value = '\"tampered\"' WHERE key = 'k1'")
        assert await asyncio.to_thread(cli_main, ["projections", "rebuild", "--verify"]) == 1
        assert "kv_entries" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


async def test_deleting_the_app_drops_its_entries_and_replay_agrees(
    client: Any, deploy: Deployer, admin_headers: dict[str, str], pool: asyncpg.Pool
) -> None:
    # Given two apps with KV entries
    kv_a = await kv_app(deploy, client)
    kv_b = await kv_app(deploy, client)
    await kv_a.ok("set", key="a", value=1)
    await kv_b.ok("set", key="b", value=2)
    # When app A is deleted
    r = await client.delete(f"/api/v1/admin/apps/{kv_a.id}", headers=admin_headers)
    assert r.status_code == 204, r.text
    # Then only B's entry remains, and a replay says the same
    keys = [r["key"] for r in await pool.fetch("SELECT key FROM kv_entries")]
    assert keys == ["b"]
    from picloud.projections.kv import PROJECTION
    from picloud.projections.rebuild import rebuild

    async with pool.acquire() as conn:
        report = await rebuild(conn, verify=True, projections=[PROJECTION])
    assert report.identical, report.tables


def test_minimal_kv_payloads_decode_with_defaults() -> None:
    # Given kv.* payloads carrying only the required fields (a future writer may omit defaults)
    from picloud.events.kv import KvDeleted, KvSet
    from picloud.events.types import decode_event

    app_id = "00000000-0000-0000-0000-000000000001"
    base = f'"app_id":"{app_id}","collection":"c","key":"k"'
    # Then they decode to the typed events, prev_value () and created false
    got = decode_event('{"type":"kv.set",' + base + ',"value":{"a":[1]}}')
    assert got == KvSet(app_id=app_id, collection="c", key="k", value={"a": [1]})
    assert (got.prev_value, got.created) == (None, False)
    gone = decode_event('{"type":"kv.deleted",' + base + "}")
    assert gone == KvDeleted(app_id=app_id, collection="c", key="k")
