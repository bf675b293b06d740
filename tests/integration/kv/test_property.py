"""Property: random KV programs run by concurrent scripts agree with a Python model and the log.

Each example deploys a fresh app and runs several workers at once, each a
random sequence of ``set/get/has/delete/list`` requests. A worker owns its
keys (prefix ``w<n>:``), so every answer it gets is predictable from its own
history, however the workers interleave; all of them also write one shared
``hot`` key, whose log must be a gap-free ``prev_value`` chain. Afterwards the
app's whole KV, listed through a script, equals the model, and
``projections rebuild --verify`` finds the live tables identical to a replay.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picloud.projections.rebuild import rebuild
from tests.integration.kv.conftest import Deployer, KvApp, kv_events

#: The generic endpoint with one extra step: ``{"__blob_hex__": h}`` in a value becomes a Blob.
BLOB_SOURCE = r"""
fn conv(v) {
    if type_of(v) == "map" {
        if v.len() == 1 && v.contains("__blob_hex__") { return hex::decode(v["__blob_hex__"]); }
        let out = #{};
        for k in v.keys() { out[k] = conv(v[k]); }
        return out;
    }
    if type_of(v) == "array" {
        let out = [];
        for x in v { out.push(conv(x)); }
        return out;
    }
    v
}
let b = ctx.request.body;
let out = ();
try {
    let c = kv::collection(b.collection);
    out = switch b.op {
        "get" => #{r: c.get(b.key)},
        "has" => #{r: c.has(b.key)},
        "set" => { c.set(b.key, conv(b.value)); #{r: true} },
        "delete" => #{r: c.delete(b.key)},
        "list" => #{r: c.list(b.opts)},
        _ => #{error: "unknown op"}
    };
} catch (e) {
    out = #{error: e};
}
out
"""

COLLECTIONS = ("c1", "c2")
NAMES = ("a", "b", "a/b", "é", "a b")

_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
_map_key = st.sampled_from(["$picloud", "base64", "value", "x"]) | st.text("xyz_", max_size=4)
_blob = st.binary(max_size=12).map(lambda b: {"__blob_hex__": b.hex()})
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
    | _blob
)
VALUES = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_map_key, inner, max_size=3),
    max_leaves=8,
)
OP = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(COLLECTIONS), st.sampled_from(NAMES), VALUES),
    st.tuples(st.just("get"), st.sampled_from(COLLECTIONS), st.sampled_from(NAMES), st.none()),
    st.tuples(st.just("has"), st.sampled_from(COLLECTIONS), st.sampled_from(NAMES), st.none()),
    st.tuples(st.just("delete"), st.sampled_from(COLLECTIONS), st.sampled_from(NAMES), st.none()),
    st.tuples(st.just("list"), st.sampled_from(COLLECTIONS), st.integers(1, 3), st.none()),
    st.tuples(st.just("hot"), st.just("c1"), st.just("hot"), VALUES),
)
PROGRAMS = st.lists(st.lists(OP, min_size=1, max_size=12), min_size=2, max_size=3)


def as_read(value: Any) -> Any:
    """What a stored value looks like in a JSON response (Blobs as base64 text)."""
    if isinstance(value, dict):
        if set(value) == {"__blob_hex__"}:
            return base64.b64encode(bytes.fromhex(value["__blob_hex__"])).decode()
        return {k: as_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_read(v) for v in value]
    return value


async def _list_all(kv: KvApp, collection: str, prefix: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        opts: dict[str, Any] = {"prefix": prefix, "limit": limit}
        if cursor is not None:
            opts["cursor"] = cursor
        page = await kv.ok("list", collection=collection, opts=opts)
        items += page["items"]
        cursor = page["cursor"]
        if cursor is None:
            return items


async def _worker(
    kv: KvApp, n: int, ops: list[Any], model: dict[tuple[str, str], Any]
) -> list[Any]:
    """Run one worker's ops, checking every answer against its model; its hot writes."""
    hot: list[Any] = []
    for op, collection, name, value in ops:
        key = f"w{n}:{name}"
        if op == "set":
            assert await kv.ok("set", collection=collection, key=key, value=value) is True
            model[(collection, key)] = value
        elif op == "hot":
            assert await kv.ok("set", collection="c1", key="hot", value=value) is True
            hot.append(value)
        elif op == "get":
            got = await kv.ok("get", collection=collection, key=key)
            assert got == as_read(model.get((collection, key))), (key, got)
        elif op == "has":
            assert await kv.ok("has", collection=collection, key=key) is (
                (collection, key) in model
            )
        elif op == "delete":
            was = (collection, key) in model
            assert await kv.ok("delete", collection=collection, key=key) is was
            model.pop((collection, key), None)
        else:  # list this worker's keys, `name` at a time
            items = await _list_all(kv, collection, f"w{n}:", name)
            expected = sorted(
                ((k, as_read(v)) for (c, k), v in model.items() if c == collection),
                key=lambda item: item[0].encode(),
            )
            assert [(i["key"], i["value"]) for i in items] == expected
    return hot


async def _check_example(kv: KvApp, programs: list[list[Any]], pool: asyncpg.Pool) -> None:
    models: list[dict[tuple[str, str], Any]] = [{} for _ in programs]
    hots = await asyncio.gather(*(_worker(kv, n, ops, models[n]) for n, ops in enumerate(programs)))
    expected = {k: as_read(v) for k, v in itertools.chain(*(m.items() for m in models))}
    # Every hot write is in the log, versions 1..n, each replacing the previous one.
    hot_events = [e for e in await kv_events(pool, kv.id) if e["data"]["key"] == "hot"]
    assert [e["version"] for e in hot_events] == list(range(1, sum(map(len, hots)) + 1))
    for before, after in itertools.pairwise(hot_events):
        assert after["data"]["prev_value"] == before["data"]["value"]
    if hot_events:
        # Whoever wrote last, the final value is some worker's last hot write.
        final = await kv.ok("get", collection="c1", key="hot")
        assert final in [as_read(h[-1]) for h in hots if h]
        expected[("c1", "hot")] = final
    # The app's whole KV, listed through the script, equals the model.
    actual = {
        (c, item["key"]): item["value"]
        for c in COLLECTIONS
        for item in await _list_all(kv, c, "", 1000)
    }
    assert actual == expected
    async with pool.acquire() as conn:
        report = await rebuild(conn, verify=True)
    assert report.identical, [t for t in report.tables if not t.identical]


async def test_random_concurrent_programs_match_the_model_and_the_replay(
    client: Any, deploy: Deployer, pool: asyncpg.Pool
) -> None:
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(programs=PROGRAMS)
    def check(programs: list[list[Any]]) -> None:
        async def one() -> None:
            made = await deploy.app()
            await deploy.endpoint(made["slug"], "POST", "/kv", BLOB_SOURCE, name="kv_ops")
            await _check_example(KvApp(client, made["slug"], made["id"]), programs, pool)

        # Hypothesis drives examples synchronously; each runs on the test's loop.
        asyncio.run_coroutine_threadsafe(one(), loop).result(timeout=240)

    await asyncio.to_thread(check)
