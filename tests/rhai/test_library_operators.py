"""Built-in operators: checked INT arithmetic, Rust division, float rules, comparisons."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from picloud.rhai import builtins as b
from picloud.rhai.builtins import CORE, NOT_BUILTIN, STANDARD
from picloud.rhai.errors import ErrorArithmetic
from picloud.rhai.values import Char, RhaiRange

MAX = 9223372036854775807
MIN = -9223372036854775808
i64 = st.integers(MIN, MAX)

ARITH = [
    # (op, a, b, expected)
    ("+", 1, 2, 3),
    ("-", 1, 2, -1),
    ("*", 6, 7, 42),
    ("/", 7, 2, 3),
    ("/", -7, 2, -3),
    ("/", 7, -2, -3),
    ("/", -7, -2, 3),
    ("%", -7, 2, -1),
    ("%", 7, -2, 1),
    ("%", -7, -2, -1),
    ("%", 7, 2, 1),
    ("**", 2, 10, 1024),
    ("**", 2, 0, 1),
    ("**", -2, 3, -8),
    ("**", 0, 0, 1),
    ("**", -1, 4294967295, -1),
    ("**", 1, 4294967295, 1),
    ("/", 10, 4.0, 2.5),
    ("%", 10.0, 4, 2.0),
    ("+", 1, 0.5, 1.5),
    ("*", 2.0, 3, 6.0),
    ("**", 2, 0.5, math.sqrt(2)),
    ("**", 4.0, 2, 16.0),
    ("%", -7.5, 2.0, -1.5),
    ("<<", 1, 3, 8),
    ("<<", 1, 63, MIN),
    ("<<", 1, 64, 0),
    ("<<", 1, -1, 0),
    ("<<", 8, -2, 2),
    (">>", -8, 1, -4),
    (">>", -1, 100, -1),
    (">>", 5, 64, 0),
    (">>", 1, -3, 8),
    ("&", 6, 3, 2),
    ("|", 6, 3, 7),
    ("^", 6, 3, 5),
    ("&", True, False, False),
    ("|", True, False, True),
    ("^", True, True, False),
]


@pytest.mark.parametrize(("op", "a", "x", "expected"), ARITH)
def test_binary_operator_gives_rhai_result(op: str, a: Any, x: Any, expected: Any) -> None:
    # Given two operands / When the operator runs / Then the result and its type match Rhai
    got = b.BINARY_OPS[op](a, x)
    assert got == expected
    assert type(got) is type(expected)


OVERFLOW = [
    ("+", MAX, 1, "Addition overflow: 9223372036854775807 + 1"),
    ("-", MIN, 1, "Subtraction overflow: -9223372036854775808 - 1"),
    ("*", MAX, 2, "Multiplication overflow: 9223372036854775807 * 2"),
    ("/", 1, 0, "Division by zero: 1 / 0"),
    ("/", MIN, -1, "Division overflow: -9223372036854775808 / -1"),
    ("%", 1, 0, "Modulo division by zero or overflow: 1 % 0"),
    ("%", MIN, -1, "Modulo division by zero or overflow: -9223372036854775808 % -1"),
    ("**", 2, -1, "Integer raised to a negative power: 2 ** -1"),
    ("**", 2, 64, "Exponential overflow: 2 ** 64"),
    ("**", 10, 19, "Exponential overflow: 10 ** 19"),
    ("**", 2, 4294967296, "Exponential overflow: 2 ** 4294967296"),
]


@pytest.mark.parametrize(("op", "a", "x", "message"), OVERFLOW)
def test_int_overflow_raises_arithmetic_error(op: str, a: int, x: int, message: str) -> None:
    with pytest.raises(ErrorArithmetic) as e:
        b.BINARY_OPS[op](a, x)
    assert e.value.message == message


def test_negation_is_checked() -> None:
    assert b.neg(5) == -5
    assert b.neg(-2.5) == 2.5
    with pytest.raises(ErrorArithmetic, match="Negation overflow"):
        b.neg(MIN)


def test_float_division_and_modulo_are_ieee() -> None:
    assert b.div(1.0, 0.0) == math.inf
    assert b.div(-1, 0.0) == -math.inf
    assert math.isnan(b.div(0.0, 0.0))
    assert math.isnan(b.mod(1.0, 0.0))
    assert b.pow(0.0, -1.0) == math.inf
    assert math.isnan(b.pow(-8.0, 1.0 / 3))
    assert b.pow(10.0, 400.0) == math.inf
    assert b.pow(-2.0, -2.0) == 0.25


@given(i64, i64.filter(lambda v: v != 0))
def test_int_division_truncates_like_rust(a: int, x: int) -> None:
    if a == MIN and x == -1:
        return
    q, r = b.div(a, x), b.mod(a, x)
    assert q * x + r == a
    assert abs(r) < abs(x)
    assert r == 0 or (r < 0) == (a < 0)
    assert q == int(a / x) if abs(a) < 2**52 else True


@given(i64, i64)
def test_checked_add_matches_unbounded_sum(a: int, x: int) -> None:
    s = a + x
    if MIN <= s <= MAX:
        assert b.add(a, x) == s
    else:
        with pytest.raises(ErrorArithmetic):
            b.add(a, x)


COMPARE = [
    # (op, a, b, expected)
    ("==", 0.1 + 0.2, 0.3, True),
    ("<", 0, 1e-16, False),
    ("<", 0, 1e-15, True),
    (">", 1e-20, 0.0, False),
    (">", 3, 2.9999999999999996, False),
    ("==", 1, 1.0, True),
    ("!=", 1, 1.0, False),
    ("==", "42", 42, False),
    ("!=", "42", 42, True),
    (">", True, 42, False),
    ("<", "a", 1, False),
    ("<", True, 3, False),
    ("==", [1, 2], [1, 2.0], True),
    ("==", [1, 2], [1, 2, 3], False),
    ("==", {"a": 1}, {"a": 1.0}, True),
    ("==", {"a": 1}, {"b": 1}, False),
    (">", Char("x"), "hello", True),
    ("<", "", Char("c"), True),
    ("==", Char("x"), "x", True),
    ("==", Char("a"), "ab", False),
    ("<", "abc", "abd", True),
    ("==", None, None, True),
    ("!=", None, None, False),
    ("<", None, None, False),
    ("==", None, 0, False),
    ("<", False, True, True),
    ("==", RhaiRange(1, 3), RhaiRange(1, 3), True),
    ("==", RhaiRange(1, 3), RhaiRange(1, 3, True), False),
    ("==", bytearray(b"ab"), bytearray(b"ab"), True),
    ("<", Char("a"), Char("b"), True),
    ("==", math.nan, math.nan, False),
    ("!=", math.nan, math.nan, False),
    ("<=", math.nan, 1.0, False),
]


@pytest.mark.parametrize(("op", "a", "x", "expected"), COMPARE)
def test_comparison_follows_rhai(op: str, a: Any, x: Any, expected: bool) -> None:
    assert b.BINARY_OPS[op](a, x) is expected


STRINGS = [
    ("+", "foo", 123, "foo123"),
    ("+", "x", 1.5, "x1.5"),
    ("+", "x", 1.0, "x1.0"),
    ("+", "hello", None, "hello"),
    ("+", None, "hello", "hello"),
    ("+", "hello", Char("!"), "hello!"),
    ("+", Char("a"), Char("b"), "ab"),
    ("+", 42, "x", "42x"),
    ("+", "a", [1, "b"], 'a[1, "b"]'),
    ("+", "a", True, "atrue"),
    ("-", "hello", "el", "hlo"),
    ("-", "hello", Char("l"), "heo"),
]


@pytest.mark.parametrize(("op", "a", "x", "expected"), STRINGS)
def test_string_operators(op: str, a: Any, x: Any, expected: str) -> None:
    got = b.BINARY_OPS[op](a, x)
    assert got == expected
    assert type(got) is str


def test_container_addition_makes_new_values() -> None:
    a, c = [1, [2]], [3]
    out = b.add(a, c)
    assert out == [1, [2], 3]
    out[1].append(9)
    assert a == [1, [2]]
    assert b.add({"a": 1, "b": 2}, {"b": 3}) == {"a": 1, "b": 3}
    assert b.add(bytearray(b"a"), bytearray(b"b")) == bytearray(b"ab")
    assert b.add(bytearray(b"a"), Char("é")) == bytearray("aé".encode())


def test_add_assign_appends_in_place() -> None:
    a: list[Any] = [1]
    assert b.add_assign(a, 2) is a
    assert b.add_assign(a, [3, 4]) is a
    assert a == [1, 2, 3, 4]
    blob = bytearray()
    b.add_assign(blob, 999)
    assert blob == bytearray([231])
    m = {"a": 1}
    assert b.add_assign(m, {"b": 2}) == {"a": 1, "b": 2}
    assert b.add_assign("ab", Char("c")) == "abc"
    assert b.add_assign(3, 4) == 7


@pytest.mark.parametrize(
    ("container", "item", "expected"),
    [
        ([1, 2, 3], 2, True),
        ([1, 2, 3], 2.0, True),
        ([1, 2, 3], "2", False),
        (["a"], Char("a"), True),
        ({"a": 1}, "a", True),
        ({"a": 1}, "b", False),
        ("hello", "ell", True),
        ("hello, world!", Char("w"), True),
        (RhaiRange(1, 5), 5, False),
        (RhaiRange(1, 5, True), 5, True),
        (bytearray([1, 2]), 2, True),
    ],
)
def test_in_operator(container: Any, item: Any, expected: bool) -> None:
    assert b.contains(container, item) is expected


def test_no_builtin_gives_sentinel() -> None:
    # When the operand types have no built-in operator, the compiler falls back.
    assert b.add(1, True) is NOT_BUILTIN
    assert b.mul("a", 2) is NOT_BUILTIN
    assert b.bit_and(6, True) is NOT_BUILTIN
    assert b.lt([1], [2]) is NOT_BUILTIN
    assert b.neg("x") is NOT_BUILTIN
    assert b.not_(1) is NOT_BUILTIN
    assert b.not_(False) is True
    assert b.add(Char("a"), 1) is NOT_BUILTIN  # only strings take any value by display
    assert b.add(Char("a"), None) is NOT_BUILTIN
    assert b.add(1, Char("a")) is NOT_BUILTIN


def test_registry_resolves_exact_types() -> None:
    assert CORE.resolve("+", (int, int)) is not None
    assert CORE.resolve("+", (int, bool)) is None
    assert CORE.resolve("==", (str, Char)) is not None
    assert CORE.resolve("+", (str, int)) is None  # string + value is a standard-package function
    assert STANDARD.resolve("+", (str, int)) is not None
    assert STANDARD.resolve("-", (int,)) is not None
    assert STANDARD.has_name("!", 1)
    f = STANDARD.resolve("+", (str, str))
    assert f is not None and f.params == (str, str)
