"""Scripts through HTTP: deploy, read, update, delete; compile and module rules; access."""

from __future__ import annotations

from typing import Any

import pytest
from _scripts_api import MODULE_SOURCE, ScriptsApi, bearer, error_code

SCRIPT_KEYS = {
    "id",
    "app_id",
    "name",
    "kind",
    "source",
    "version",
    "imports",
    "used_by",
    "created_at",
    "updated_at",
}
RESERVED = [
    "log", "regex", "random", "time", "json", "base64", "hex", "url", "kv", "docs",
    "dead_letters", "http", "files", "pubsub", "secrets", "email", "users", "queue",
]  # fmt: skip


async def refused(seed: Any, call: Any, status: int) -> Any:
    """Run ``call``; assert ``status`` and that no event was written."""
    before = await seed.event_count()
    r = await call
    assert r.status_code == status, r.text
    assert await seed.event_count() == before, "a refused request wrote an event"
    return r


async def test_endpoint_lifecycle_create_get_list_update_delete(api: ScriptsApi, shop: Any) -> None:
    # Given an app, when an endpoint is deployed (by slug)
    r = await api.create(shop.slug, "hello", "let x = 1;\nx + 1")
    assert r.status_code == 201, r.text
    body = r.json()
    # Then it comes back whole, at version 1, without imports or users
    assert set(body) == SCRIPT_KEYS
    assert body["app_id"] == shop.id and body["name"] == "hello" and body["kind"] == "endpoint"
    assert (body["version"], body["imports"], body["used_by"]) == (1, [], [])
    assert body["created_at"] == body["updated_at"]
    sid = body["id"]
    # and reads back by id and in the app's list (by id or slug)
    assert (await api.get(sid)).json() == body
    assert [s["id"] for s in (await api.list(shop.id)).json()] == [sid]
    # When its source is replaced, the version goes up and updated_at moves
    r = await api.update(sid, "42")
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["version"], updated["source"]) == (2, "42")
    assert updated["updated_at"] > updated["created_at"] == body["created_at"]
    # The same source again changes nothing (no new version)
    assert (await api.update(sid, "42")).json()["version"] == 2
    # When deleted, it is gone
    assert (await api.delete(sid)).status_code == 204
    assert error_code(await api.get(sid)) == "not_found"
    assert (await api.list(shop.slug)).json() == []
    assert (await api.delete(sid)).status_code == 404


async def test_kind_defaults_to_endpoint_and_list_filters_by_kind(
    api: ScriptsApi, shop: Any, seed: Any
) -> None:
    r = await api.client.post(
        f"/api/v1/admin/apps/{shop.id}/scripts",
        json={"name": "plain", "source": "1"},
        headers=api.headers,
    )
    assert r.status_code == 201 and r.json()["kind"] == "endpoint"
    await api.created(shop.id, "util", MODULE_SOURCE, "module")
    assert [s["name"] for s in (await api.list(shop.id, kind="module")).json()] == ["util"]
    assert [s["name"] for s in (await api.list(shop.id, kind="endpoint")).json()] == ["plain"]
    assert [s["name"] for s in (await api.list(shop.id)).json()] == ["plain", "util"]
    r = await api.list(shop.id, kind="library")
    assert r.status_code == 400 and r.json()["error"]["details"]["field"] == "kind"
    await refused(seed, api.create(shop.id, "x", "1", "library"), 400)


async def test_every_mutation_is_an_event_with_the_actor_in_the_app_audit_log(
    api: ScriptsApi, shop: Any, client: Any, seed: Any
) -> None:
    # Given a key with script:write and events:read on the app
    key = await seed.key(["script:write", "script:read", "events:read"], app_id=shop.id)
    keyed = ScriptsApi(client, bearer(key.key))
    s = await keyed.created(shop.id, "audit", "1")
    await keyed.update(s["id"], "2")
    route = (await keyed.route(s["id"], "GET", "/audit")).json()
    await keyed.delete(s["id"])
    r = await client.get(f"/api/v1/admin/apps/{shop.id}/events", headers=bearer(key.key))
    events = [e for e in r.json()["events"] if e["type"].startswith(("script.", "route."))]
    assert [e["type"] for e in events] == [
        "script.created",
        "script.updated",
        "route.created",
        "route.deleted",
        "script.deleted",
    ]
    assert {e["meta"]["actor"] for e in events} == {f"key:{key.id}"}
    assert events[0]["stream"] == f"script-{s['id']}"
    assert events[2]["stream"] == events[3]["stream"] == f"route-{route['id']}"
    assert events[0]["data"]["source"] == "1" and events[1]["data"]["source"] == "2"


async def test_compile_error_is_422_with_line_and_column_and_writes_nothing(
    api: ScriptsApi, shop: Any, seed: Any
) -> None:
    r = await refused(seed, api.create(shop.id, "broken", "let a = 1;\nlet b = ;\n"), 422)
    assert error_code(r) == "script_compile_error"
    details = r.json()["error"]["details"]
    assert (details["line"], details["column"]) == (2, 9)
    # An update to a broken source is refused the same way and keeps the old version
    s = await api.created(shop.id, "fine", "1")
    r = await refused(seed, api.update(s["id"], "fn f( {"), 422)
    assert r.json()["error"]["details"]["line"] == 1
    assert (await api.get(s["id"])).json()["version"] == 1


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("let x = 1;", 1, 1),
        ('const A = 1;\nprint("side effect");', 2, 1),
        ("fn f() { 1 }\n\nwhile true {}", 3, 1),
        ("const A = 1;\n  print(A)", 2, 3),
        ("const A = foo();", 1, 11),
    ],
)
async def test_module_shape_only_fn_const_import_at_top_level(
    api: ScriptsApi, shop: Any, seed: Any, source: str, line: int, column: int
) -> None:
    r = await refused(seed, api.create(shop.id, "lib", source, "module"), 422)
    details = r.json()["error"]["details"]
    assert (details["line"], details["column"]) == (line, column)


async def test_module_shape_accepts_fn_const_import_and_an_endpoint_may_run_code(
    api: ScriptsApi, shop: Any
) -> None:
    source = 'import "base" as b;\nconst X = 1;\nexport const Y = 2;\nprivate fn g() { 1 }\nfn f(a) { a }\n'
    assert (await api.create(shop.id, "lib", source, "module")).status_code == 201
    assert (await api.create(shop.id, "ep", "let x = 1; x", "endpoint")).status_code == 201


@pytest.mark.parametrize("name", RESERVED)
async def test_reserved_module_names_are_refused(
    api: ScriptsApi, shop: Any, seed: Any, name: str
) -> None:
    r = await refused(seed, api.create(shop.id, name, MODULE_SOURCE, "module"), 400)
    assert r.json()["error"]["details"]["field"] == "name"


@pytest.mark.parametrize(
    ("kind", "name", "ok"),
    [
        ("module", "my_mod", True),
        ("module", "_private", True),
        ("module", "Mod2", True),
        ("module", "a" * 64, True),
        ("module", "a" * 65, False),
        ("module", "my-mod", False),
        ("module", "2fast", False),
        ("module", "", False),
        ("module", "a.b", False),
        ("endpoint", "get-user.v2", True),
        ("endpoint", "", False),
        ("endpoint", "has space", False),
        ("endpoint", "../etc", False),
    ],
)
async def test_script_name_patterns(
    api: ScriptsApi, shop: Any, seed: Any, kind: str, name: str, ok: bool
) -> None:
    source = MODULE_SOURCE if kind == "module" else "1"
    if ok:
        assert (await api.create(shop.id, name, source, kind)).status_code == 201
    else:
        r = await refused(seed, api.create(shop.id, name, source, kind), 400)
        assert r.json()["error"]["details"]["field"] == "name"


async def test_names_are_unique_per_app_across_kinds(api: ScriptsApi, shop: Any, seed: Any) -> None:
    await api.created(shop.id, "util", MODULE_SOURCE, "module")
    r = await refused(seed, api.create(shop.id, "util", "1", "endpoint"), 409)
    assert error_code(r) == "duplicate_script_name"
    # Another app may use the same name
    other = await seed.app("other")
    assert (await api.create(other.id, "util", MODULE_SOURCE, "module")).status_code == 201


async def test_imports_and_used_by_follow_the_import_graph(api: ScriptsApi, shop: Any) -> None:
    # Given two modules and an endpoint importing one of them (and one not deployed yet)
    base = await api.created(shop.id, "base", "fn one() { 1 }", "module")
    util = await api.created(
        shop.id, "util", 'import "base" as b;\nfn two() { b::one() + 1 }', "module"
    )
    main = await api.created(
        shop.id,
        "main",
        'import "util" as u;\nimport "later" as l;\nfn f() { import "util" as again; 1 }\nu::two()',
    )
    # Then imports are the literal paths, each once, in source order
    assert util["imports"] == ["base"]
    assert main["imports"] == ["util", "later"]
    # and used_by names the importers (by module name, same app only)
    assert (await api.get(base["id"])).json()["used_by"] == [{"id": util["id"], "name": "util"}]
    assert (await api.get(util["id"])).json()["used_by"] == [{"id": main["id"], "name": "main"}]
    assert (await api.get(main["id"])).json()["used_by"] == []
    # A module created later is used by whoever already imports its name
    later = await api.created(shop.id, "later", "const Z = 0;", "module")
    assert later["used_by"] == [{"id": main["id"], "name": "main"}]
    listed = {s["name"]: s["used_by"] for s in (await api.list(shop.id)).json()}
    assert listed["base"] == [{"id": util["id"], "name": "util"}]
    # When the endpoint stops importing util, the edge goes away
    await api.update(main["id"], 'import "later" as l;\n1')
    assert (await api.get(util["id"])).json()["used_by"] == []
    # The same module name in another app is not used by this app's scripts
    other = await api.client.post(
        "/api/v1/admin/apps", json={"slug": "other", "name": "Other"}, headers=api.headers
    )
    foreign = await api.created(other.json()["id"], "later", "const Z = 1;", "module")
    assert foreign["used_by"] == []


async def test_deleting_an_imported_module_is_refused_until_no_script_imports_it(
    api: ScriptsApi, shop: Any, seed: Any
) -> None:
    util = await api.created(shop.id, "util", MODULE_SOURCE, "module")
    main = await api.created(shop.id, "main", 'import "util" as u; u::greet("x")')
    r = await refused(seed, api.delete(util["id"]), 409)
    assert error_code(r) == "module_in_use"
    assert r.json()["error"]["details"]["used_by"] == [{"id": main["id"], "name": "main"}]
    assert (await api.delete(main["id"])).status_code == 204
    assert (await api.delete(util["id"])).status_code == 204


async def test_a_module_importing_itself_does_not_block_its_own_deletion(
    api: ScriptsApi, shop: Any
) -> None:
    me = await api.created(shop.id, "me", 'import "me" as m;\nfn f() { 1 }', "module")
    assert me["used_by"] == []
    assert (await api.delete(me["id"])).status_code == 204


async def test_update_with_a_stale_version_is_a_409(api: ScriptsApi, shop: Any, seed: Any) -> None:
    s = await api.created(shop.id, "v", "1")
    assert (await api.update(s["id"], "2", version=1)).json()["version"] == 2
    r = await refused(seed, api.update(s["id"], "3", version=1), 409)
    assert error_code(r) == "version_conflict"


async def test_bad_bodies_are_400_naming_the_field(api: ScriptsApi, shop: Any, seed: Any) -> None:
    url = f"/api/v1/admin/apps/{shop.id}/scripts"
    for body, field in [
        ({"kind": "endpoint", "source": "1"}, "name"),
        ({"name": "a", "kind": "endpoint"}, "source"),
        ({"name": "a", "source": 5}, "source"),
        ({"name": "a", "source": "1", "extra": 1}, "extra"),
    ]:
        r = await refused(seed, api.client.post(url, json=body, headers=api.headers), 400)
        assert r.json()["error"]["details"]["field"] == field, r.text


async def test_oversized_source_is_413(api: ScriptsApi, shop: Any, seed: Any, client: Any) -> None:
    # The API's body limit (16 KiB in these tests) answers before the script's own cap.
    r = await refused(seed, api.create(shop.id, "big", "1 + " * 10_000 + "1"), 413)
    assert error_code(r) == "payload_too_large"


async def test_unknown_ids_and_apps_are_404(api: ScriptsApi, seed: Any) -> None:
    for sid in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"]:
        assert error_code(await api.get(sid)) == "not_found"
        assert (await refused(seed, api.update(sid, "1"), 404)).status_code == 404
        assert (await refused(seed, api.delete(sid), 404)).status_code == 404
    assert (await refused(seed, api.create("nope", "x", "1"), 404)).status_code == 404
    assert (await api.list("nope")).status_code == 404


async def test_key_for_app_a_cannot_see_or_touch_app_b_scripts(
    client: Any, seed: Any, api: ScriptsApi
) -> None:
    # Given apps A and B, a script in B, and a full script key restricted to A
    a, b = await seed.app("app-a"), await seed.app("app-b")
    theirs = await api.created(b.id, "secret", "1")
    key = await seed.key(["script:read", "script:write"], app_id=a.id)
    keyed = ScriptsApi(client, bearer(key.key))
    # Then B and its script do not exist for that key
    assert (await refused(seed, keyed.create(b.id, "mine", "1"), 404)).status_code == 404
    assert (await refused(seed, keyed.create(b.slug, "mine", "1"), 404)).status_code == 404
    assert error_code(await keyed.list(b.id)) == "not_found"
    r = await keyed.get(theirs["id"])
    assert r.status_code == 404 and r.json()["error"]["details"]["resource"] == "script"
    await refused(seed, keyed.update(theirs["id"], "2"), 404)
    await refused(seed, keyed.delete(theirs["id"]), 404)
    # while A works
    assert (await keyed.create(a.id, "mine", "1")).status_code == 201


async def test_scopes_and_roles_read_versus_write(client: Any, seed: Any, api: ScriptsApi) -> None:
    app = await seed.app("roles")
    s = await api.created(app.id, "s", "1")
    # A script:read key reads but cannot write (403: the app is visible to it)
    reader = ScriptsApi(client, bearer((await seed.key(["script:read"], app_id=app.id)).key))
    assert (await reader.get(s["id"])).status_code == 200
    assert (await reader.list(app.id)).status_code == 200
    assert error_code(await refused(seed, reader.create(app.id, "n", "1"), 403)) == "forbidden"
    await refused(seed, reader.update(s["id"], "2"), 403)
    await refused(seed, reader.delete(s["id"]), 403)
    # An app:write key without script scopes can do neither
    other = ScriptsApi(client, bearer((await seed.key(["app:write"], app_id=app.id)).key))
    assert (await other.get(s["id"])).status_code == 403
    # A viewer member reads, an editor writes, a non-member sees nothing
    viewer, editor, stranger = await seed.user(), await seed.user(), await seed.user()
    await seed.member(app.id, viewer.id, "viewer")
    await seed.member(app.id, editor.id, "editor")
    as_viewer = ScriptsApi(client, bearer(await seed.login(viewer.email)))
    as_editor = ScriptsApi(client, bearer(await seed.login(editor.email)))
    as_stranger = ScriptsApi(client, bearer(await seed.login(stranger.email)))
    assert (await as_viewer.get(s["id"])).status_code == 200
    await refused(seed, as_viewer.update(s["id"], "2"), 403)
    assert (await as_editor.update(s["id"], "2")).status_code == 200
    assert (await as_stranger.get(s["id"])).status_code == 404
    await refused(seed, as_stranger.create(app.id, "n", "1"), 404)
    # No credentials at all
    assert (await client.get(f"/api/v1/admin/scripts/{s['id']}")).status_code == 401
