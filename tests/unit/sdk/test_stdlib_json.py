"""``json::parse`` / ``json::stringify`` through real scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picloud.rhai import Engine, Scope
from picloud.sdk import install_stdlib

# Hypothesis tests cannot take function-scoped fixtures; they share this engine.
_ENGINE = Engine()
install_stdlib(_ENGINE)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (r'json::parse("{\"a\": [1, 2.5, null]}")', {"a": [1, 2.5, None]}),
        (r'json::parse("{\"b\": 1, \"a\": 2}").keys()', ["a", "b"]),
        (r'type_of(json::parse("3"))', "i64"),
        (r'type_of(json::parse("3.0"))', "f64"),
        (r'type_of(json::parse("null"))', "()"),
        (r'json::parse("[true, false, \"x\"]")', [True, False, "x"]),
        (r'json::parse("\"\\u00e9\"")', "é"),
        (r'type_of(json::parse("123456789012345678901234567890"))', "f64"),
        (r'json::parse("  {\"nested\": {\"deep\": [[]]}} ").nested.deep', [[]]),
        (r'json::parse("{\"a\": 1, \"a\": 2}").a', 2),
        ("json::stringify(#{b: [1, 2.5, ()], a: true})", '{"a":true,"b":[1,2.5,null]}'),
        ('json::stringify("é\\n")', '"é\\n"'),
        ("json::stringify('c')", '"c"'),
        ("json::stringify(())", "null"),
        ("json::stringify(-7)", "-7"),
        ("let b = blob(3, 0x41); json::stringify(#{data: b})", '{"data":"QUFB"}'),
        ("json::stringify([1, #{x: []}], true)", '[\n  1,\n  {\n    "x": []\n  }\n]'),
        ("json::stringify(#{}, false)", "{}"),
        ('let v = #{a: [1, "x", ()], b: #{c: 2.5}}; json::parse(json::stringify(v)) == v', True),
    ],
)
def test_json_functions_give_rhai_values(engine: Engine, src: str, expected: Any) -> None:
    # Given the standard library, when a script runs json::, then it gets these values
    assert engine.eval(src) == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (
            'json::parse("{")',
            "json: parse: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        ('json::parse("[1,]")', "json: parse:"),
        ('json::parse("")', "json: parse: Expecting value"),
        ('json::parse("NaN")', "json: parse: NaN is not valid JSON"),
        ('json::parse("Infinity")', "json: parse: Infinity is not valid JSON"),
        (
            'let s = "1"; for i in 0..5000 { s += "0"; } json::parse(s)',
            "json: parse: number too large",
        ),
        (
            'let s = ""; for i in 0..300 { s = "[" + s + "]"; } json::parse(s)',
            "json: parse: nesting too deep",
        ),
        (
            'let s = ""; for i in 0..100000 { s += "["; } json::parse(s)',
            "json: parse: nesting too deep",
        ),
        ("json::parse(42)", "json: parse expects a string, got i64"),
        ('json::stringify(Fn("x"))', "json: stringify: a Fn cannot be represented in JSON"),
        ("json::stringify(|x| x)", "json: stringify: a Fn cannot be represented in JSON"),
        ("json::stringify(1..3)", "json: stringify: a range cannot be represented in JSON"),
        (
            "json::stringify(timestamp())",
            "json: stringify: a timestamp cannot be represented in JSON",
        ),
        ("json::stringify(1.0 / 0.0)", "json: stringify: inf cannot be represented in JSON"),
        ('json::stringify(#{f: [Fn("x")]})', "json: stringify: a Fn cannot"),
        ('json::stringify(1, "yes")', "json: stringify expects a bool for pretty, got string"),
    ],
)
def test_json_errors_are_catchable_with_the_json_prefix(
    caught: Callable[[str], Any], expr: str, message: str
) -> None:
    # Given a failing json:: call inside try/catch, then the handler gets the prefixed text
    got = caught(expr)
    assert isinstance(got, str)
    assert got.startswith(message)


def test_wrong_arity_is_function_not_found(caught: Callable[[str], Any]) -> None:
    # Given json::parse with no argument, then Rhai reports a missing function, catchably
    got = caught("json::parse()")
    assert got["error"] == "ErrorFunctionNotFound"
    assert "json::parse" in got["message"]


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(_json_values)
def test_stringify_then_parse_round_trips(value: Any) -> None:
    # Given any JSON-shaped Rhai value, when stringified and parsed back, then it is unchanged
    out = _ENGINE.eval("json::parse(json::stringify(v))", Scope().push("v", value))
    assert out == value
