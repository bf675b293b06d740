"""Number functions, bit fields and iterator constructors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from picloud.rhai.builtins import STANDARD
from picloud.rhai.errors import ErrorArithmetic, ErrorBitFieldBounds, ErrorInFunctionCall
from picloud.rhai.values import Char, RhaiRange, iterate

MAX = 9223372036854775807
MIN = -9223372036854775808


def call(name: str, *args: Any) -> Any:
    nf = STANDARD.resolve(name, tuple(type(a) for a in args))
    assert nf is not None, f"no overload {name}{tuple(type(a).__name__ for a in args)}"
    assert not nf.needs_ctx
    return nf.fn(*args)


FUNCS = [
    ("abs", (-5,), 5),
    ("abs", (-2.5,), 2.5),
    ("sign", (-7,), -1),
    ("sign", (0,), 0),
    ("sign", (2.5,), 1),
    ("sign", (-0.0,), 0),
    ("is_odd", (7,), True),
    ("is_odd", (-7,), True),
    ("is_even", (-4,), True),
    ("is_zero", (0,), True),
    ("is_zero", (0.0,), True),
    ("max", (1, 2), 2),
    ("min", (1, 2.5), 1.0),
    ("max", (1.5, 2), 2.0),
    ("to_float", (3,), 3.0),
    ("to_int", (3.9,), 3),
    ("to_int", (-3.9,), -3),
    ("to_int", (Char("A"),), 65),
    ("to_hex", (255,), "ff"),
    ("to_hex", (-1,), "ffffffffffffffff"),
    ("to_octal", (8,), "10"),
    ("to_binary", (5,), "101"),
    ("parse_int", ("42",), 42),
    ("parse_int", (" -42 ",), -42),
    ("parse_int", ("+7",), 7),
    ("parse_int", ("42", 16), 66),
    ("parse_int", ("abcdef", 16), 11259375),
    ("parse_int", ("ZZ", 36), 1295),
    ("parse_int", ("9223372036854775807",), MAX),
    ("parse_int", ("-9223372036854775808",), MIN),
    ("parse_float", ("9.9999",), 9.9999),
    ("parse_float", (" 1e3 ",), 1000.0),
    ("parse_float", (".5",), 0.5),
    ("parse_float", ("5.",), 5.0),
    ("parse_float", ("-inf",), -math.inf),
    ("floor", (-1.5,), -2.0),
    ("ceiling", (1.2,), 2.0),
    ("round", (2.5,), 3.0),
    ("round", (-2.5,), -3.0),
    ("round", (0.49999999999999994,), 0.0),
    ("int", (-2.7,), -2.0),
    ("fraction", (2.75,), 0.75),
    ("sqrt", (16.0,), 4.0),
    ("exp", (0.0,), 1.0),
    ("ln", (1.0,), 0.0),
    ("log", (100.0,), 2.0),
    ("log", (8.0, 2.0), 3.0),
    ("is_nan", (math.nan,), True),
    ("is_finite", (math.inf,), False),
    ("is_infinite", (-math.inf,), True),
    ("to_degrees", (math.pi,), 180.0),
    ("atan", (1.0, 1.0), math.pi / 4),
    ("hypot", (3.0, 4.0), 5.0),
    ("get_bit", (5, 0), True),
    ("get_bit", (5, -64), True),
    ("get_bits", (10, 1, 3), 5),
    ("get_bits", (255, -60, 2), 3),
    ("get_bits", (-1, 0, 64), -1),
    ("get_bits", (-1, 60, 99), 15),
    ("get_bits", (10, RhaiRange(1, 4)), 5),
    ("get_bits", (10, RhaiRange(1, 3, True)), 5),
    ("get_bits", (10, 1, 0), 0),
]


@pytest.mark.parametrize(("name", "args", "expected"), FUNCS)
def test_number_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    got = call(name, *args)
    if isinstance(expected, float):
        assert got == pytest.approx(expected)
    else:
        assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("abs", (MIN,), "Negation overflow: --9223372036854775808"),  # Rhai formats "-{x}"
        ("sign", (math.nan,), "Sign of NaN is undefined"),
        ("to_int", (1e19,), "Integer overflow: to_int(10000000000000000000)"),
        (
            "parse_int",
            ("abc",),
            "Error parsing integer number 'abc': invalid digit found in string",
        ),
        (
            "parse_int",
            ("",),
            "Error parsing integer number '': cannot parse integer from empty string",
        ),
        (
            "parse_int",
            ("1_000",),
            "Error parsing integer number '1_000': invalid digit found in string",
        ),
        (
            "parse_int",
            ("9223372036854775808",),
            "Error parsing integer number '9223372036854775808': number too large to fit in target type",
        ),
        ("parse_int", ("1", 37), "Invalid radix: '37'"),
        (
            "parse_float",
            ("abc",),
            "Error parsing floating-point number 'abc': invalid float literal",
        ),
        (
            "parse_float",
            ("1_0",),
            "Error parsing floating-point number '1_0': invalid float literal",
        ),
    ],
)
def test_number_function_errors(name: str, args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ErrorArithmetic) as e:
        call(name, *args)
    assert e.value.message == message


MUTATING = [
    ("set_bit", (0, 3, True), 8),
    ("set_bit", (15, 0, False), 14),
    ("set_bit", (0, -1, True), MIN),
    ("set_bits", (10, 1, 3, 7), 14),
    ("set_bits", (0, -64, 1, 15), 1),
    ("set_bits", (0, -60, 2, 15), 48),
    ("set_bits", (0, 0, 64, -5), -5),
    ("set_bits", (0, 60, 10, -1), -(1 << 63) - 0 + (7 << 60)),
    ("set_bits", (10, RhaiRange(1, 4), 0), 0),
    ("set_bits", (10, 1, 0, 99), 10),
]


@pytest.mark.parametrize(("name", "args", "expected"), MUTATING)
def test_bit_setters_return_new_int(name: str, args: tuple[Any, ...], expected: int) -> None:
    new, r = call(name, *args)
    assert (new, r) == (expected, None)
    assert MIN <= new <= MAX


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_bit", (1, 64)),
        ("get_bits", (1, 64, 1)),
        ("set_bit", (1, -65, True)),
        ("get_bits", (1, RhaiRange(0, 64, True))),
    ],
)
def test_bit_index_out_of_bounds(name: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(ErrorBitFieldBounds):
        call(name, *args)


ITER = [
    ("range", (1, 6), [1, 2, 3, 4, 5]),
    ("range", (1, 6, 3), [1, 4]),
    ("range", (10, 1, 2), []),
    ("range", (1, 10, -2), []),
    ("range", (10, 1, -2), [10, 8, 6, 4, 2]),
    ("range", (MAX, 0, MAX), []),
    ("range", (MAX - 2, MAX, 5), [MAX - 2]),
    ("range", (1.0, 10.0, 2.0), [1.0, 3.0, 5.0, 7.0, 9.0]),
    ("range", (10.0, 1.0, -2.0), [10.0, 8.0, 6.0, 4.0, 2.0]),
    ("range", (1.0, 10.0, -2.0), []),
    ("range", (RhaiRange(0, 10), 4), [0, 4, 8]),
    ("chars", ("hello",), list("hello")),
    ("chars", ("hello", 2, 2), ["l", "l"]),
    ("chars", ("hello", -2), ["l", "o"]),
    ("chars", ("hello", RhaiRange(2, 3, True)), ["l", "l"]),
    ("bits", (0b1011, 0, 4), [True, True, False, True]),
    (
        "bits",
        (0b001101101010001, 2, 10),
        [False, False, True, False, True, False, True, True, False, True],
    ),
    (
        "bits",
        (0b001101101010001, RhaiRange(2, 11, True)),
        [False, False, True, False, True, False, True, True, False, True],
    ),
    ("bits", (-1, 62), [True, True]),
]


@pytest.mark.parametrize(("name", "args", "expected"), ITER)
def test_iterator_constructors(name: str, args: tuple[Any, ...], expected: list[Any]) -> None:
    v = call(name, *args)
    items = list(iterate(v))
    assert items == expected
    assert list(iterate(v)) == expected  # re-iterable
    if name == "chars":
        assert all(type(c) is Char for c in items)


def test_range_two_ints_is_a_range_value() -> None:
    r = call("range", 1, 5)
    assert r == RhaiRange(1, 5)


@pytest.mark.parametrize("args", [(1, 5, 0), (1.0, 2.0, 0.0), (1e20, 1e21, 1.0)])
def test_zero_step_is_an_error(args: tuple[Any, ...]) -> None:
    with pytest.raises(ErrorInFunctionCall):
        call("range", *args)


RANGE_METHODS = [
    ("start", (RhaiRange(2, 5),), 2),
    ("end", (RhaiRange(2, 5, True),), 5),
    ("is_inclusive", (RhaiRange(2, 5, True),), True),
    ("is_exclusive", (RhaiRange(2, 5, True),), False),
    ("is_empty", (RhaiRange(5, 5),), True),
    ("is_empty", (RhaiRange(5, 5, True),), False),
    ("contains", (RhaiRange(2, 5),), None),
]


@pytest.mark.parametrize(("name", "args", "expected"), RANGE_METHODS[:-1])
def test_range_methods(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, *args) == expected


def test_range_contains() -> None:
    assert call("contains", RhaiRange(2, 5), 4) is True
    assert call("contains", RhaiRange(2, 5), 5) is False
    assert call("contains", RhaiRange(2, 5, True), 5) is True
