"""``kv::collection(name)`` methods through real scripts behind real routes."""

from __future__ import annotations

from typing import Any

from tests.integration.kv.conftest import Deployer, kv_app


async def test_set_get_has_delete_round_trip(client: Any, deploy: Deployer) -> None:
    # Given an app with the KV endpoint
    kv = await kv_app(deploy, client)
    # When a key is set, then get and has see it
    assert await kv.ok("set", key="a", value={"n": 1, "tags": ["x", "y"], "f": 1.5}) is True
    assert await kv.ok("get", key="a") == {"f": 1.5, "n": 1, "tags": ["x", "y"]}
    assert await kv.ok("has", key="a") is True
    # And a missing key is () and not present
    assert await kv.ok("get", key="missing") is None
    assert await kv.ok("has", key="missing") is False
    # When deleted, delete reports it was present exactly once
    assert await kv.ok("delete", key="a") is True
    assert await kv.ok("delete", key="a") is False
    assert await kv.ok("get", key="a") is None
    assert await kv.ok("has", key="a") is False


async def test_values_of_every_json_type_come_back_equal(client: Any, deploy: Deployer) -> None:
    # Given values of every JSON-representable kind, including ones jsonb would bend
    kv = await kv_app(deploy, client)
    values: dict[str, Any] = {
        "int": -9223372036854775808,
        "float": 0.1,
        "huge_float": 1e20,
        "whole_float": 3.0,
        "tiny": 1e-300,
        "bool": False,
        "text": 'héllo \u2603 "quoted" \\ back',
        "empty_text": "",
        "array": [1, [2, [3, []]], {}],
        "map": {"b": 1, "a": {"c": None}},
        "marker_lookalike": {"$picloud": "blob", "base64": "AAAA"},
    }
    for key, value in values.items():
        assert await kv.ok("set", key=key, value=value) is True
    # When each is read back, then it equals what was stored, types included
    for key, value in values.items():
        got = await kv.ok("get", key=key)
        assert got == value, key
        assert type(got) is type(value), key


async def test_unit_value_is_stored_and_present(client: Any, deploy: Deployer) -> None:
    # Given a key set to ()
    kv = await kv_app(deploy, client)
    await kv.ok("set", key="nothing", value=None)
    # Then get gives () but has and delete know it is there
    assert await kv.ok("get", key="nothing") is None
    assert await kv.ok("has", key="nothing") is True
    assert await kv.ok("delete", key="nothing") is True


async def test_blob_round_trip_at_any_depth(client: Any, deploy: Deployer) -> None:
    # Given a script storing Blobs at the top level and nested in maps and arrays
    made = await deploy.app()
    source = """
        let c = kv::collection("blobs");
        c.set("top", blob(3, 7));
        c.set("nested", #{a: [1, #{b: base64::decode("AAEC/w==")}], empty: blob()});
        let top = c.get("top");
        let n = c.get("nested");
        #{
            top_type: type_of(top), top_eq: top == blob(3, 7),
            inner_type: type_of(n.a[1].b), inner_hex: hex::encode(n.a[1].b),
            empty_type: type_of(n.empty), empty_len: n.empty.len(),
            listed: type_of(c.list(#{prefix: "top"}).items[0].value)
        }
    """
    await deploy.endpoint(made["slug"], "GET", "/blobs", source)
    # When it runs
    r = await client.get(f"/a/{made['slug']}/blobs")
    # Then every Blob comes back as a Blob with its bytes
    assert r.status_code == 200, r.text
    assert r.json() == {
        "top_type": "blob",
        "top_eq": True,
        "inner_type": "blob",
        "inner_hex": "000102ff",
        "empty_type": "blob",
        "empty_len": 0,
        "listed": "blob",
    }


async def test_empty_collection_lists_nothing(client: Any, deploy: Deployer) -> None:
    # Given a collection nobody wrote to
    kv = await kv_app(deploy, client)
    # Then list gives no items and no cursor, with or without options
    assert await kv.ok("list", collection="empty") == {"items": [], "cursor": None}
    assert await kv.ok("list", collection="empty", opts={"prefix": "x", "limit": 5}) == {
        "items": [],
        "cursor": None,
    }


async def test_list_pages_in_key_order_with_prefix(client: Any, deploy: Deployer) -> None:
    # Given keys under two prefixes, plus keys sorting right around the prefix
    kv = await kv_app(deploy, client)
    keys = [f"user:{i:02d}" for i in range(7)] + ["user;", "user", "usex", "order:1"]
    for k in keys:
        await kv.ok("set", key=k, value=k.upper())
    # When listing prefix "user:" three at a time
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        opts: dict[str, Any] = {"prefix": "user:", "limit": 3}
        if cursor is not None:
            opts["cursor"] = cursor
        page = await kv.ok("list", opts=opts)
        pages += 1
        seen += [item["key"] for item in page["items"]]
        assert all(item["value"] == item["key"].upper() for item in page["items"])
        cursor = page["cursor"]
        if cursor is None:
            break
    # Then exactly those keys come back, in order, over three pages
    assert seen == [f"user:{i:02d}" for i in range(7)]
    assert pages == 3
    # And without a prefix everything comes back in byte order
    everything = await kv.ok("list", opts={"limit": 100})
    assert [i["key"] for i in everything["items"]] == sorted(keys, key=lambda s: s.encode())
    assert everything["cursor"] is None


async def test_cursor_stays_correct_while_keys_are_added_and_removed(
    client: Any, deploy: Deployer
) -> None:
    # Given keys k02, k04 … k20 and a first page of three
    kv = await kv_app(deploy, client)
    for i in range(2, 21, 2):
        await kv.ok("set", key=f"k{i:02d}", value=i)
    first = await kv.ok("list", opts={"limit": 3})
    assert [i["key"] for i in first["items"]] == ["k02", "k04", "k06"]
    # When keys are inserted before and after the cursor and one ahead is deleted
    for k in ("k01", "k05", "k07", "k21"):
        await kv.ok("set", key=k, value=0)
    assert await kv.ok("delete", key="k10") is True
    rest: list[str] = []
    cursor = first["cursor"]
    while cursor is not None:
        page = await kv.ok("list", opts={"limit": 3, "cursor": cursor})
        rest += [i["key"] for i in page["items"]]
        cursor = page["cursor"]
        # Keys keep arriving between pages, ahead of and behind the cursor
        await kv.ok("set", key=f"k{len(rest):02d}x", value=0)
    # Then the remaining pages hold every key after the cursor exactly once, in order
    assert rest == sorted(set(rest))
    assert "k10" not in rest
    assert {"k07", "k08", "k12", "k20", "k21"} <= set(rest)
    assert not {"k01", "k02", "k04", "k05", "k06"} & set(rest)


async def test_collections_are_separate(client: Any, deploy: Deployer) -> None:
    # Given the same key in two collections
    kv = await kv_app(deploy, client)
    await kv.ok("set", collection="one", key="k", value=1)
    await kv.ok("set", collection="two", key="k", value=2)
    # Then each collection has its own value, and deleting one leaves the other
    assert await kv.ok("get", collection="one", key="k") == 1
    assert await kv.ok("delete", collection="two", key="k") is True
    assert await kv.ok("get", collection="one", key="k") == 1
    assert await kv.ok("list", collection="two") == {"items": [], "cursor": None}


async def test_read_your_writes_within_one_run(client: Any, deploy: Deployer) -> None:
    # Given a script that writes, reads, overwrites and deletes in one run
    made = await deploy.app()
    source = """
        let c = kv::collection("counter");
        let seen = [];
        for i in 0..5 {
            let n = c.get("n") ?? 0;
            c.set("n", n + 1);
            seen.push(c.get("n"));
        }
        let gone = c.delete("n");
        #{seen: seen, gone: gone, after: c.get("n"), has: c.has("n")}
    """
    await deploy.endpoint(made["slug"], "GET", "/count", source)
    # When it runs, then every read sees the write just before it
    r = await client.get(f"/a/{made['slug']}/count")
    assert r.status_code == 200, r.text
    assert r.json() == {"seen": [1, 2, 3, 4, 5], "gone": True, "after": None, "has": False}


async def test_uncaught_kv_error_fails_the_request_with_its_message(
    client: Any, deploy: Deployer
) -> None:
    # Given a script whose KV call fails and is not caught
    made = await deploy.app()
    await deploy.endpoint(made["slug"], "GET", "/bad", 'kv::collection("has space")')
    # When it runs, then the response is a script error carrying the kv: message
    r = await client.get(f"/a/{made['slug']}/bad")
    assert r.status_code == 500, r.text
    assert r.json()["error"]["code"] == "script_error"
    assert "kv: collection:" in r.json()["error"]["message"]
