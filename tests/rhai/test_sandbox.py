"""Sandbox: escape attempts and resource bombs, each with its exact Rhai error kind.

Every test also checks the interpreter is unharmed afterwards: a normal script
still runs, on the same engine, with the same result.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from picloud.rhai import Engine, EngineOptions, SandboxPolicy
from picloud.rhai.errors import ErrorParsing, RhaiError

HEALTHY = "fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } } let m = #{a: [1, 2]}; fib(15) + m.a[1]"


class Secret:
    """A host object exposing nothing but a registered ``label`` getter."""

    def __init__(self) -> None:
        self.password = "hunter2"

    def leak(self) -> str:
        return self.password


def sandbox_engine(**overrides: Any) -> Engine:
    """A platform-style engine: the sandbox policy's limits plus a host type."""
    e = Engine(SandboxPolicy().options(**overrides))
    e.on_print(lambda s: None).on_debug(lambda s: None)
    e.register_type(Secret, "Secret", getters={"label": lambda s: "secret"})
    e.register_fn("secret", Secret)
    return e


def assert_unharmed(e: Engine) -> None:
    """The engine and the process still work normally."""
    assert e.eval(HEALTHY) == 612
    assert sys.getrecursionlimit() >= 1000


def expect_kind(e: Engine, src: str, kind: str, parse_error: str | None = None) -> RhaiError:
    """Run ``src`` and check it fails with ``kind`` (and the parse-error kind)."""
    with pytest.raises(RhaiError) as info:
        e.eval(src)
    err = info.value
    assert err.kind == kind, f"{src!r}: {err.kind}: {err}"
    if parse_error is not None:
        assert isinstance(err, ErrorParsing) and err.parse_error == parse_error
    assert_unharmed(e)
    return err


ESCAPES = [
    # dunder attribute walks are not even syntax
    ("let x = 1; x.__class__", "ErrorParsing", "PropertyExpected"),
    ('"".__len__()', "ErrorParsing", "PropertyExpected"),
    ("let a = [1]; a.sort.__self__", "ErrorParsing", "PropertyExpected"),
    ("secret().__dict__", "ErrorParsing", "PropertyExpected"),
    ('__import__("os")', "ErrorParsing", "BadInput"),
    ("let __builtins__ = 1;", "ErrorParsing", "BadInput"),
    # host objects expose only what was registered
    ("secret().password", "ErrorPropertyNotFound", None),
    ("secret().leak()", "ErrorFunctionNotFound", None),
    ('secret()["password"]', "ErrorIndexingType", None),
    # Python builtins and modules are not functions
    ('open("/etc/passwd")', "ErrorFunctionNotFound", None),
    ('getattr(1, "real")', "ErrorFunctionNotFound", None),
    ('Fn("__import__").call("os")', "ErrorFunctionNotFound", None),
    ('call(Fn("exec"), "1")', "ErrorFunctionNotFound", None),
    ('import "os" as os; os::system("ls")', "ErrorModuleNotFound", None),
    ('eval("import \\"subprocess\\" as s;")', "ErrorInFunctionCall", None),
    # Python attributes of values are not properties
    ("let x = 1; x.real", "ErrorPropertyNotFound", None),
    ('"abc".encode()', "ErrorFunctionNotFound", None),
    ('"{}".format(1)', "ErrorFunctionNotFound", None),
]


@pytest.mark.parametrize(("src", "kind", "parse_error"), ESCAPES)
def test_escape_attempt_is_a_rhai_error(src: str, kind: str, parse_error: str | None) -> None:
    # Given a sandboxed engine, when a script reaches for Python, then it gets only a Rhai error
    expect_kind(sandbox_engine(), src, kind, parse_error)


def test_map_keys_named_like_dunders_are_just_keys() -> None:
    # Given a map, when a script indexes it with dunder names, then they are plain keys
    e = sandbox_engine()
    assert e.eval('let m = #{}; m["__class__"] = 1; m["__class__"] + (m["__dict__"] ?? 0)') == 1
    assert_unharmed(e)


def test_closure_names_do_not_leak_addresses() -> None:
    # Given a closure, when a script asks its name, then no memory address is revealed
    name = sandbox_engine().eval("let f = |x| x; f.name")
    assert (
        isinstance(name, str)
        and "0x" not in name
        and not any(len(p) > 10 and p.isalnum() for p in name.split("$"))
    )


BOMBS = [
    ('let s = "x"; loop { s += s }', {"max_string_size": 10_000}, "ErrorDataTooLarge"),
    ('let s = "ab"; loop { s = s + s }', {"max_string_size": 10_000}, "ErrorDataTooLarge"),
    (
        "let s = \"\"; s.pad(100000000, 'x'); s.len()",
        {"max_string_size": 10_000},
        "ErrorDataTooLarge",
    ),
    ('`${"x".pad(20000, "y")}`', {"max_string_size": 10_000}, "ErrorDataTooLarge"),
    ("let a = []; loop { a.push(1) }", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    ("let a = [1]; loop { a += a }", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    ("let a = [1]; loop { a.append(a) }", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    ("let a = [[1]]; loop { a = [a, a] }", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    ("let a = [1]; loop { a.push(a) }", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    ("let a = []; a.pad(100000000, 0)", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    (
        "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1 }",
        {"max_map_size": 1_000},
        "ErrorDataTooLarge",
    ),
    ("let m = #{a: 1}; loop { m = #{a: m, b: m} }", {"max_map_size": 1_000}, "ErrorDataTooLarge"),
    ("let b = blob(); loop { b.push(1) }", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    ("blob(100000000)", {"max_array_size": 10_000}, "ErrorDataTooLarge"),
    ("loop {}", {"max_operations": 100_000}, "ErrorTooManyOperations"),
    ("let x = 0; while true { x += 1 }", {"max_operations": 100_000}, "ErrorTooManyOperations"),
    ("for i in 0..9223372036854775807 {}", {"max_operations": 100_000}, "ErrorTooManyOperations"),
    ("fn f() { loop {} } f()", {"max_operations": 100_000}, "ErrorTooManyOperations"),
    ("[1, 2, 3].map(|x| { loop {} })", {"max_operations": 100_000}, "ErrorTooManyOperations"),
    ("fn f(x) { f(x + 1) } f(0)", {}, "ErrorStackOverflow"),
    ("fn f(x) { 1 + f(x) } f(0)", {"max_call_levels": 500}, "ErrorStackOverflow"),
    ("let f = |g| g.call(g); f.call(f)", {}, "ErrorStackOverflow"),
    ("fn a(n) { b(n) } fn b(n) { a(n) } a(1)", {}, "ErrorStackOverflow"),
    ("fn f(n) { [1].map(|x| f(n)) } f(1)", {}, "ErrorStackOverflow"),
    (
        "let x = 0; for a in 0..100 { for b in 0..100 { for c in 0..100 { for d in 0..100 { x += 1 } } } }",
        {"max_operations": 200_000},
        "ErrorTooManyOperations",
    ),
    (
        "let vars = 0; " + " ".join(f"let v{i} = {i};" for i in range(50)),
        {"max_variables": 20},
        "ErrorTooManyVariables",
    ),
]


@pytest.mark.parametrize(("src", "limits", "kind"), BOMBS)
def test_resource_bomb_is_stopped_by_its_limit(src: str, limits: dict[str, Any], kind: str) -> None:
    # Given an engine with the limit set, when a script tries to exhaust a resource
    e = sandbox_engine(**limits)
    t0 = time.perf_counter()
    expect_kind(e, src, kind)
    # Then it is stopped promptly with the limit's error kind
    assert time.perf_counter() - t0 < 20


@pytest.mark.parametrize(
    "src",
    [
        "loop {}",
        "let x = 0; loop { x += 1; if x < 0 { break } }",
        "fn f() { loop {} } f()",
        "[1, 2].map(|x| { let i = 0; while true { i += 1 } })",
        'let s = ""; loop { s = "" }',
    ],
)
def test_infinite_loop_is_stopped_by_the_deadline(src: str) -> None:
    # Given an engine with only a wall-clock budget
    e = sandbox_engine(max_operations=0, max_run_seconds=0.3)
    t0 = time.perf_counter()
    # When a script never ends, then ErrorTerminated arrives soon after the deadline
    expect_kind(e, src, "ErrorTerminated")
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize(
    ("src", "parse_error"),
    [
        ("(" * 5000 + "1" + ")" * 5000, "ExprTooDeep"),
        ("[" * 5000 + "]" * 5000, "ExprTooDeep"),
        ("{" * 3000 + "}" * 3000, "ExprTooDeep"),
        ("#{a: " * 2000 + "1" + "}" * 2000, "ExprTooDeep"),
        ("if true { " * 2000 + "1" + " }" * 2000, "ExprTooDeep"),
        ("fn f() { " + "(" * 100 + "1" + ")" * 100 + " }", "ExprTooDeep"),
        ("1" + " + 1" * 20000, None),
    ],
)
def test_deeply_nested_source_is_a_parse_error_not_a_crash(
    src: str, parse_error: str | None
) -> None:
    # Given source nested far deeper than the expression limit
    e = sandbox_engine()
    # When it is compiled, then it is rejected with ExprTooDeep (or, if flat, it runs)
    if parse_error is None:
        try:
            assert e.eval(src) == 20001
        except ErrorParsing as err:
            assert err.parse_error == "ExprTooDeep"
        assert_unharmed(e)
        return
    expect_kind(e, src, "ErrorParsing", parse_error)


def test_deep_recursion_with_unlimited_depth_is_still_a_rhai_error() -> None:
    # Given an engine allowing a very deep call stack
    e = sandbox_engine(max_call_levels=100_000)
    # When a script recurses without end, then Python's own limit surfaces as ErrorStackOverflow
    expect_kind(e, "fn f(x) { f(x + 1) } f(0)", "ErrorStackOverflow")


def test_limits_are_not_catchable_by_scripts() -> None:
    # Given limits, when a script wraps a bomb in try/catch, then the limit still ends the run
    e = sandbox_engine(max_operations=1_000_000, max_string_size=1_000)
    expect_kind(e, "try { loop {} } catch { 42 }", "ErrorTooManyOperations")
    expect_kind(e, 'try { let s = "x"; loop { s += s } } catch { 42 }', "ErrorDataTooLarge")
    expect_kind(e, "fn f() { f() } try { f() } catch { 42 }", "ErrorStackOverflow")


def test_default_engine_keeps_rhai_defaults_and_sandbox_options_set_limits() -> None:
    # Given the two ways to build options, then only the policy's has limits on
    assert EngineOptions().max_operations == 0
    opts = SandboxPolicy().options()
    assert opts.max_operations and opts.max_string_size and opts.max_run_seconds
