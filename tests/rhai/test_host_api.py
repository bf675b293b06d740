"""The host API the platform uses: functions, types, namespaces, modules, callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from picloud.rhai import Engine, EngineOptions, Scope, StaticResolver
from picloud.rhai.errors import RhaiError


class Collection:
    """A stand-in for the platform's key-value collection handle."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.data: dict[str, Any] = {}
        self.limit = 10

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value

    def secret(self) -> str:  # never registered: scripts must not reach it
        return "secret"


def kv_engine() -> tuple[Engine, dict[str, Collection]]:
    """An engine with a ``kv`` namespace returning ``Collection`` host objects."""
    made: dict[str, Collection] = {}

    def collection(name: str) -> Collection:
        return made.setdefault(name, Collection(name))

    e = Engine()
    e.register_type(
        Collection,
        "Collection",
        methods={"get": Collection.get, "put": Collection.put},
        getters={"name": lambda c: c.name, "limit": lambda c: c.limit},
        setters={"limit": lambda c, v: setattr(c, "limit", v)},
    )
    e.register_static_module("kv", {"collection": collection, "VERSION": 3})
    return e, made


def test_namespace_function_returns_a_host_object_whose_methods_scripts_call() -> None:
    # Given an engine with kv::collection
    e, made = kv_engine()
    # When a script stores and reads through the host object
    out = e.eval('let c = kv::collection("users"); c.put("a", #{n: 1}); c.get("a").n + kv::VERSION')
    # Then the host sees the write and the script the value
    assert out == 4
    assert made["users"].data == {"a": {"n": 1}}


def test_host_type_has_its_name_properties_and_setters() -> None:
    # Given a registered host type
    e, made = kv_engine()
    # When a script reads and writes its properties
    out = e.eval('let c = kv::collection("x"); c.limit = 25; [type_of(c), c.name, c.limit]')
    # Then the registered name, getter and setter are used
    assert out == ["Collection", "x", 25]
    assert made["x"].limit == 25


def test_unregistered_host_attributes_are_unreachable() -> None:
    # Given a host object with an unregistered method and Python attributes
    e, _ = kv_engine()
    for src in (
        'kv::collection("x").secret()',
        'kv::collection("x").data',
        'kv::collection("x").__dict__',
    ):
        # When a script tries to reach them, then it gets a Rhai error, never the attribute
        with pytest.raises(RhaiError) as info:
            e.eval(src)
        assert info.value.kind in ("ErrorFunctionNotFound", "ErrorPropertyNotFound", "ErrorParsing")


def test_register_fn_with_any_types_and_with_exact_types() -> None:
    # Given host functions, one untyped and one overloaded by exact type
    e = Engine()
    e.register_fn("twice", lambda x: x * 2)
    e.register_fn("describe", lambda x: f"int {x}", (int,))
    e.register_fn("describe", lambda x: f"str {x}", (str,))
    # When scripts call them, then the right overload runs
    assert e.eval("twice(21)") == 42
    assert e.eval('describe(1) + "/" + describe("a")') == "int 1/str a"
    # And a call with no matching overload is a Rhai error
    with pytest.raises(RhaiError) as info:
        e.eval("describe(1.5)")
    assert info.value.kind == "ErrorFunctionNotFound"


def test_register_fn_with_context_can_call_back_into_the_script() -> None:
    # Given a host function that calls a script closure through the call context
    e = Engine()
    e.register_fn("apply_twice", lambda ctx, f, x: ctx.call(f, [ctx.call(f, [x])]), needs_ctx=True)
    # When a script passes a closure, then the host calls it
    assert e.eval("let k = 3; apply_twice(|v| v * k, 2)") == 18


def test_script_functions_win_over_host_functions() -> None:
    # Given a host function and a script function of the same name and arity
    e = Engine()
    e.register_fn("f", lambda x: "host")
    # Then the script's own function is called
    assert e.eval('fn f(x) { "script" } f(1)') == "script"


def test_python_errors_in_host_functions_become_rhai_errors() -> None:
    # Given host functions that fail with Python exceptions
    e = Engine()

    def boom(x: Any) -> Any:
        raise RuntimeError("database exploded at /secret/path")

    e.register_fn("div", lambda a, b: a // b)
    e.register_fn("boom", boom)
    # When scripts call them, then a Rhai error comes out, with no Python detail
    with pytest.raises(RhaiError) as info:
        e.eval("div(1, 0)")
    assert info.value.kind == "ErrorRuntime"
    with pytest.raises(RhaiError) as info:
        e.eval("boom(1)")
    assert info.value.kind == "ErrorSystem"
    assert "secret" not in str(info.value)


def test_print_and_debug_callbacks_receive_text() -> None:
    # Given callbacks, when a script prints, then the host gets the text
    seen: list[tuple[str, str]] = []
    e = (
        Engine()
        .on_print(lambda s: seen.append(("print", s)))
        .on_debug(lambda s: seen.append(("debug", s)))
    )
    e.run('print(`n=${1 + 1}`); debug([1, "x"]);')
    assert seen == [("print", "n=2"), ("debug", '[1, "x"]')]


MODULES = {
    "math": """
        export const ANSWER = 42;
        const HIDDEN = 1;
        fn double(x) { x * 2 }
        private fn secret() { 0 }
        fn answer() { global::ANSWER }
        fn fail() { 1 / 0 }
        fn thrower() { throw "bad" }
    """,
    "outer": """
        import "math" as inner;
        fn quad(x) { inner::double(inner::double(x)) }
    """,
    "cycle_a": 'import "cycle_b" as b;',
    "cycle_b": 'import "cycle_a" as a;',
    "broken": "fn f() {} fn f() {}",
    "needs_missing": 'import "nowhere" as x;',
    "calls_back": "fn go() { helper() + 1 } fn local() { 1 } fn twice() { local() * 2 }",
    "aliases": "export const A = 1; export const A = 2;",
    "closure_maker": "const K = 10; fn make() { |x| x + global::K + hidden() } private fn hidden() { 100 }",
    "nested_outer": 'import "math" as inner;',
}


def module_engine() -> Engine:
    """An engine resolving the ``MODULES`` sources from memory."""
    e = Engine()
    e.set_module_resolver(StaticResolver(MODULES))
    return e


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('import "math" as m; m::double(21)', 42),
        ('import "math" as m; m::ANSWER', 42),
        ('import "math" as m; m::answer()', 42),
        ('import "outer" as o; o::quad(2)', 8),
        ('fn f() { import "math" as m; m::double(1) } f()', 2),
        ('import "math" as m; let r = 0; try { m::thrower() } catch (e) { r = e } r', "bad"),
        ('fn helper() { 41 } import "calls_back" as c; c::go()', 42),
        ('fn local() { 100 } import "calls_back" as c; c::twice()', 2),
        ('import "aliases" as a; a::A', 2),
        ('import "math" as m; import "outer" as m; m::ANSWER', 42),
        ('import "closure_maker" as c; let f = c::make(); f.call(1)', 111),
        ('import "nested_outer" as o; o::inner::double(4)', 8),
        ('import "math"; 1', 1),
    ],
)
def test_import_and_export_through_the_resolver(src: str, expected: Any) -> None:
    # Given in-memory modules, when a script imports them, then exports are reachable
    assert module_engine().eval(src) == expected


@pytest.mark.parametrize(
    ("src", "kind"),
    [
        ('import "math" as m; m::secret()', "ErrorFunctionNotFound"),
        ('import "math" as m; m::HIDDEN', "ErrorVariableNotFound"),
        ('import "nope" as m;', "ErrorModuleNotFound"),
        ('import "math" as m; m::fail()', "ErrorInFunctionCall"),
        ('import "cycle_a" as a;', "ErrorInModule"),
        ('import "broken" as b;', "ErrorInModule"),
        ('import "needs_missing" as b;', "ErrorInModule"),
        ('import "math" as m; m::double(1).double()', "ErrorFunctionNotFound"),
    ],
)
def test_module_errors_have_their_rhai_kinds(src: str, kind: str) -> None:
    # Given in-memory modules, when a script misuses them, then the Rhai error kind is reported
    with pytest.raises(RhaiError) as info:
        module_engine().eval(src)
    assert info.value.kind == kind


def test_max_modules_limits_imports() -> None:
    # Given an engine allowing one import, when a script imports twice, then it is stopped
    e = Engine(EngineOptions(max_modules=1))
    e.set_module_resolver(StaticResolver(MODULES))
    with pytest.raises(RhaiError) as info:
        e.eval('import "math" as a; import "math" as b; 1')
    assert info.value.kind == "ErrorTooManyModules"


def test_scope_is_reusable_between_runs_with_host_values() -> None:
    # Given a scope holding a host map, when scripts update it across runs
    e = Engine()
    scope = Scope().push("state", {"count": 0})
    for _ in range(3):
        e.run("state.count += 1;", scope)
    # Then the host sees the accumulated value
    assert scope.get("state") == {"count": 3}


def test_operator_overloads_on_builtin_types_need_fast_operators_off() -> None:
    # Given a host overload of `+` on two ints
    def weird_add(a: int, b: int) -> int:
        return a * 100 + b

    fast = Engine()
    fast.register_fn("+", weird_add, (int, int))
    slow = Engine(EngineOptions(fast_operators=False))
    slow.register_fn("+", weird_add, (int, int))
    # Then the default engine keeps the built-in, and fast_operators=False uses the overload
    assert fast.eval("1 + 2") == 3
    assert slow.eval("1 + 2") == 102
    assert slow.eval("let x = 1; x += 2; x") == 102
    assert slow.eval("let a = [1]; a += 2; a") == [1, 2]
