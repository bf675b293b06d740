"""Engine behaviour the conformance corpus does not cover: tables of script → value."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from picloud.rhai import Engine, EngineOptions, Scope
from picloud.rhai.errors import ErrorParsing, RhaiError
from picloud.rhai.values import Char


def run(src: str, **opts: Any) -> Any:
    """Evaluate ``src`` on a fresh engine with output discarded."""
    e = Engine(EngineOptions(**opts))
    e.on_print(lambda s: None).on_debug(lambda s: None)
    return e.eval(src)


VALUES = [
    # Rust integer division and remainder (Python's // and % differ for negatives)
    ("-7 / 2", -3),
    ("-7 % 2", -1),
    ("7 % -2", 1),
    ("-7 / -2", 3),
    ("let x = -9; x / 4", -2),
    ("let x = -9; x % 4", -1),
    # float display follows Rhai, not Python's repr
    ("to_string(1.0)", "1.0"),
    ("to_string(0.0)", "0.0"),
    ("to_string(1e13)", "1e13"),
    ("to_string(123456789012.5)", "123456789012.5"),
    ("to_string(1.5e-14)", "1.5e-14"),
    ("`${0.1 + 0.2}`", "0.30000000000000004"),
    ("0.1 + 0.2 == 0.3", True),
    # do … until and do … while with continue
    ("let x = 0; do { x += 1 } until x >= 5; x", 5),
    ("let x = 0; do { x += 1; if x < 3 { continue } } while x < 5; x", 5),
    ("let n = 0; do { n += 1 } while false; n", 1),
    # sorting
    ("let a = [3, 1, 2]; a.sort(); a", [1, 2, 3]),
    ("let a = [3, 1, 2]; a.sort(|x, y| y - x); a", [3, 2, 1]),
    ("let a = [3, 1, 2]; a.sort(|x, y| x - y); a", [1, 2, 3]),
    ('let a = ["b", "c", "a"]; a.sort(); a', ["a", "b", "c"]),
    ("let a = [[2], [1, 1]]; a.sort(|x, y| x.len() - y.len()); a", [[2], [1, 1]]),
    (
        "let a = [5, 3, 9]; a.sort(|x, y| if x < y { -1 } else if x > y { 1 } else { 0 }); a",
        [3, 5, 9],
    ),
    # private functions are callable inside their own script
    ("private fn f() { 41 } f() + 1", 42),
    # method-call style binds `this` and writes back
    ("fn inc() { this += 1 } let a = 1; a.inc(); a", 2),
    ("fn f(x) { this + x } let a = 1; a.f(2)", 3),
    ("fn push2() { this.push(2) } let a = [1]; a.push2(); a", [1, 2]),
    # value semantics
    ("let a = [1, 2]; let b = a; b.push(3); a.len()", 2),
    ("let m = #{x: [1]}; let n = m; n.x.push(2); m.x.len()", 1),
    ("fn f(a) { a.push(9); a.len() } let a = [1]; f(a) + a.len()", 3),
    # closures share captured variables
    ("let x = 5; let f = |y| x + y; x = 10; f.call(1)", 11),
    ("let c = 0; let inc = || c += 1; inc.call(); inc.call(); c", 2),
    ("let fs = []; for i in 0..3 { let j = i; fs.push(|| j) } fs.map(|f| f.call())", [0, 1, 2]),
    # loops and switch as expressions
    ("let x = loop { break 42 }; x", 42),
    ("let v = while false {}; v", None),
    ('switch 5 { 1..3 => "a", 4..=6 => "b", _ => "c" }', "b"),
    ("switch 'x' { 'x' => 1, _ => 2 }", 1),
    ("switch \"x\" { 'x' => 1, _ => 2 }", 2),
    ('switch 1.0 { 1 => "int", _ => "other" }', "other"),
    # strings and chars
    ("let s = \"hello\"; s[1] = 'a'; s", "hallo"),
    ('"abc"[1]', Char("b")),
    ("`x = ${1 + 1}`", "x = 2"),
    # global constants from functions
    ("const X = 5; fn f() { global::X } f()", 5),
    # typed methods
    ("fn int.double() { this * 2 } 5.double()", 10),
    ('fn string.shout() { this + "!" } "a".shout()', "a!"),
    # integer limits
    ("1 << 64", 0),
    ("-2 ** 2", 4),
]


@pytest.mark.parametrize(("src", "expected"), VALUES)
def test_script_evaluates_to_the_rhai_value(src: str, expected: Any) -> None:
    # Given a script, when it runs on a default engine
    result = run(src)
    # Then the value and its exact type match Rhai's
    assert result == expected
    assert type(result) is type(expected)


ERRORS = [
    ("9223372036854775807 + 1", "ErrorArithmetic"),
    ("abs(-9223372036854775808)", "ErrorArithmetic"),
    ("2 ** -1", "ErrorArithmetic"),
    ("1 / 0", "ErrorArithmetic"),
    ("1 % 0", "ErrorArithmetic"),
    ("let a = [1]; a[5]", "ErrorArrayBounds"),
    ("undefined_fn(1)", "ErrorFunctionNotFound"),
    ("xyz", "ErrorVariableNotFound"),
    ("fn f() { this } f()", "ErrorInFunctionCall"),
    ("let c = 1; if c { 2 }", "ErrorMismatchDataType"),
    ("fn f() { xyz } f()", "ErrorInFunctionCall"),
    ("fn f(n) { f(n + 1) } f(0)", "ErrorStackOverflow"),
    ("throw 42", "ErrorRuntime"),
    ("let n = 42; for x in n {}", "ErrorFor"),
    ('fn int.double() { this * 2 } "x".double()', "ErrorFunctionNotFound"),
    ("let a = 20; let f = |x| { this += a + x }; a.call(f, 1); a", "ErrorDataRace"),
]


@pytest.mark.parametrize(("src", "kind"), ERRORS)
def test_failing_script_raises_its_rhai_error_kind(src: str, kind: str) -> None:
    # Given a failing script, when it runs, then the Rhai error kind is reported
    with pytest.raises(RhaiError) as info:
        run(src)
    assert info.value.kind == kind


def test_parse_errors_carry_their_parse_error_kind_and_position() -> None:
    # Given a script with a syntax error, when it is compiled
    with pytest.raises(ErrorParsing) as info:
        Engine().compile("let x = ;")
    # Then the error names Rhai's parse-error kind and where it is
    assert info.value.parse_error
    assert info.value.pos.line == 1


def test_scope_variables_are_visible_and_top_level_lets_persist() -> None:
    # Given a scope with a variable and a constant
    e = Engine()
    scope = Scope().push("x", 40).push_constant("K", 2)
    # When two scripts run against it
    assert e.eval("let y = x + K; y", scope) == 42
    # Then the second sees the first's top-level let, and constants stay constant
    assert e.eval("y * 2", scope) == 84
    assert scope.get("y") == 42
    with pytest.raises(RhaiError) as info:
        e.eval("K = 3", scope)
    assert info.value.kind in ("ErrorAssignmentToConstant", "ErrorParsing")


def test_scope_writes_reach_the_host() -> None:
    # Given a scope variable, when a script assigns it, then the host sees the new value
    e = Engine()
    scope = Scope().push("counter", 1)
    e.run("counter += 41;", scope)
    assert scope.get("counter") == 42


def test_compiled_ast_runs_many_times_and_from_many_threads() -> None:
    # Given one compiled script
    e = Engine()
    ast = e.compile("fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } } fib(x)")
    results: list[int] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            results.append(e.eval_ast(ast, Scope().push("x", n)))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    # When several threads run it with different scopes at once
    threads = [threading.Thread(target=worker, args=(n,)) for n in (10, 15, 20, 10, 15, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every run gets its own correct answer
    assert not errors
    assert sorted(results) == sorted([55, 610, 6765, 55, 610, 6765])


def test_print_and_debug_go_to_the_host_callbacks() -> None:
    # Given an engine with print/debug callbacks
    printed: list[str] = []
    debugged: list[str] = []
    e = Engine().on_print(printed.append).on_debug(debugged.append)
    # When a script prints
    assert e.eval('print("a"); print(1.0); debug("b"); debug(\'c\'); 7') == 7
    # Then print gets the display text and debug the debug text
    assert printed == ["a", "1.0"]
    assert debugged == ['"b"', "c"]


def test_eval_sees_and_changes_the_callers_variables() -> None:
    # Given a variable, when eval changes it and defines another, then both are visible
    assert run('let x = 1; eval("x += 1; let y = 40;"); x + y') == 42


def test_eval_errors_are_wrapped_in_function_call_errors() -> None:
    # Given eval of a failing text, then the error comes wrapped
    with pytest.raises(RhaiError) as info:
        run('eval("1 / 0")')
    assert info.value.kind == "ErrorInFunctionCall"
    assert info.value.fields["inner"].kind == "ErrorArithmetic"


def test_requested_output_type_mismatch_is_detectable() -> None:
    # Given a script returning an int, the harness-level check finds its type name
    from picloud.rhai.values import type_name

    assert type_name(run("42")) == "i64"
    assert type_name(run("42.0")) == "f64"
    assert type_name(run("()")) == "()"


def test_a_300_line_script_compiles_and_runs() -> None:
    # Given a 300-line script of handler-style functions and top-level code
    lines = []
    for i in range(25):
        lines += [
            f"fn handler_{i}(req) {{",
            "    let items = req.items ?? [];",
            "    let total = 0;",
            "    for item in items {",
            f"        if item.qty > 0 {{ total += item.qty * item.price + {i}; }}",
            "    }",
            '    let status = if total > 100 { "big" } else { "small" };',
            "    let tags = items.filter(|it| it.qty > 1).map(|it| it.name);",
            f"    #{{ id: req.id, total: total, status: status, tags: tags, tag: `h{i}-${{total}}` }}",
            "}",
        ]
    for i in range(25):
        lines.append(
            f'let r{i} = handler_{i}(#{{ id: {i}, items: [#{{ qty: {i % 3}, price: 7, name: "n{i}" }}] }});'
        )
    for i in range(25):
        lines.append(f"if r{i}.total > 10 {{ print(`${{r{i}.id}}: ${{r{i}.status}}`); }}")
    src = "\n".join(lines)
    assert len(src.splitlines()) == 300
    printed: list[str] = []
    e = Engine().on_print(printed.append)
    # When it is parsed and compiled to Python code (its speed is measured in
    # bench/rhai_bench.py, not here), then it runs and prints what it should
    ast = e.compile(src)
    ast.unit(e.options, False)
    e.run_ast(ast)
    totals = {i: (i % 3) * 7 + i if i % 3 else 0 for i in range(25)}
    assert printed == [
        f"{i}: {'big' if t > 100 else 'small'}" for i, t in totals.items() if t > 10
    ]


def test_deadline_stops_an_infinite_loop_with_error_terminated() -> None:
    # Given an engine with a wall-clock budget, when a script never ends
    e = Engine(EngineOptions(max_run_seconds=0.2))
    t0 = time.perf_counter()
    with pytest.raises(RhaiError) as info:
        e.run("loop { }")
    # Then it is stopped soon after the deadline with ErrorTerminated
    assert info.value.kind == "ErrorTerminated"
    assert time.perf_counter() - t0 < 5


def test_per_call_timeout_overrides_the_engine_budget() -> None:
    # Given an engine without limits, when one call passes a timeout, then that call stops
    e = Engine()
    ast = e.compile("let x = 0; while true { x += 1 }")
    with pytest.raises(RhaiError) as info:
        e.eval_ast(ast, timeout=0.1)
    assert info.value.kind == "ErrorTerminated"


def test_call_fn_calls_a_script_function_without_running_the_top_level() -> None:
    # Given a script with a function and a failing top level
    e = Engine()
    ast = e.compile("fn double(x) { x * 2 } throw 1;")
    # When the host calls the function, then it runs alone
    assert e.call_fn(ast, "double", 21) == 42


def test_script_functions_see_scope_constants_but_not_scope_variables() -> None:
    # Given a scope with a variable and a constant
    e = Engine()

    def scope() -> Scope:
        return Scope().push("n", 1).push_constant("K", 2)

    # Then a function reads the constant by name, but the variable is not found
    assert e.eval("fn f() { K + 1 } f()", scope()) == 3
    with pytest.raises(RhaiError) as info:
        e.eval("fn f() { n } f()", scope())
    assert info.value.kind == "ErrorInFunctionCall"
    assert info.value.fields["inner"].kind == "ErrorVariableNotFound"


def test_capture_calls_and_eval_share_the_callers_variables() -> None:
    # Given caller variables, f!() and eval read and change them; a function's own lets stay local
    assert run("fn inc(n) { x += n; let y = 5; } let x = 1; inc!(10); inc!(5); x") == 16
    assert run('fn inc() { x += 1 } let x = 1; let fp = Fn("inc"); call!(fp); x') == 2
    assert run('let x = 1; { eval("let x = 5;"); } x') == 1
    assert run('let s = 0; for i in 0..3 { eval("s += i"); } s') == 3


RUST_FACTS = [
    ("0.1 + 0.2 == 0.3", True),
    ("1e-20 > 0.0", False),
    ("3 > 2.9999999999999996", False),
    ("1 + 2 << 1", 5),
    ("1 << 3 + 1", 9),
    ("9223372036854775808", 9223372036854775808.0),
    ("0xFFFFFFFFFFFFFFFF", -1),
    ("1 << -1", 0),
    ("1 < 2 < 3", False),
    ('"a" < 1', False),
    ("[1, 2] == [1, 2.0]", True),
    ("if true { 1 } else { 2 } + 10", 10),
    ("let v = if true { 1 } else { 2 } + 10; v", 11),
    ('let a = [3, 1, 2]; a.sort(|x, y| throw "x"); a.len()', 3),
    ('let s = "aXb"; let r = s.replace("X", "--"); r', None),
    ("let s = \"7\"; s.pad(4, '0'); s", "7000"),
    ("let fs = []; for i in 0..3 { fs.push(|| i) } fs.map(|f| f.call())", [2, 2, 2]),
    ("let a = [1, 2]; a.for_each(|i| this *= 10 + i); a", [10, 22]),
    ("5[0]", True),
    ("fn abs(x) { 99 } abs(-3)", 99),
    ("fn abs(x) { 99 } (-3).abs()", 3),
]


@pytest.mark.parametrize(("src", "expected"), RUST_FACTS)
def test_behaviour_observed_in_the_rust_engine(src: str, expected: Any) -> None:
    # Given a fact LANGUAGE.md records from running Rhai itself, then PiCloud agrees
    result = run(src)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "src",
    [
        "6 & 3 == 2",
        "let add = |a, b| a + b; add(1, 2)",
        "let b = blob(2, 1); let s = 0; for x in b { s += x } s",
    ],
)
def test_failures_observed_in_the_rust_engine(src: str) -> None:
    # Given a script Rhai itself rejects at run time, then PiCloud raises a Rhai error too
    with pytest.raises(RhaiError):
        run(src)
