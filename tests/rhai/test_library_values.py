"""Value helpers: display/debug forms, type names, sizes, copies, iteration, indexing."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from picloud.rhai.errors import (
    ErrorArrayBounds,
    ErrorBitFieldBounds,
    ErrorFor,
    ErrorIndexingType,
    ErrorMismatchDataType,
    ErrorPropertyNotFound,
    ErrorStringBounds,
    RhaiError,
)
from picloud.rhai.values import (
    HOST_TO_DEBUG,
    HOST_TO_STRING,
    HOST_TYPE_NAMES,
    U8,
    Char,
    FnPtr,
    RhaiRange,
    Timestamp,
    data_size,
    debug_float,
    deep_copy,
    format_float,
    get_index,
    get_property,
    iterate,
    set_index,
    to_debug,
    to_display,
    type_name,
)

FLOAT_DISPLAY = [
    # (value, display, debug)
    (0.0, "0.0", "0.0"),
    (-0.0, "0.0", "-0.0"),
    (1.0, "1.0", "1.0"),
    (-3.0, "-3.0", "-3.0"),
    (0.1, "0.1", "0.1"),
    (123.4556, "123.4556", "123.4556"),
    (2.5, "2.5", "2.5"),
    (1e-7, "0.0000001", "1e-7"),
    (0.0001, "0.0001", "0.0001"),
    (0.00001, "0.00001", "1e-5"),
    (1e-13, "0.0000000000001", "1e-13"),
    (1.5e-14, "1.5e-14", "1.5e-14"),
    (1e13, "1e13", "10000000000000.0"),
    (123456789012.5, "123456789012.5", "123456789012.5"),
    (9999999999999.0, "9.999999999999e12", "9999999999999.0"),
    (1e14, "1e14", "100000000000000.0"),
    (1e16, "1e16", "1e16"),
    (1.5e300, "1.5e300", "1.5e300"),
    (-2.5e20, "-2.5e20", "-2.5e20"),
    (1 / 3, "0.3333333333333333", "0.3333333333333333"),
    (math.inf, "inf", "inf"),
    (-math.inf, "-inf", "-inf"),
    (math.nan, "NaN", "NaN"),
]


@pytest.mark.parametrize(("x", "display", "debug"), FLOAT_DISPLAY)
def test_float_display_and_debug_follow_rhai(x: float, display: str, debug: str) -> None:
    assert format_float(x) == display
    assert debug_float(x) == debug


DISPLAY = [
    # (value, to_display, to_debug)
    (42, "42", "42"),
    (True, "true", "true"),
    (None, "", "()"),
    ("hi", "hi", '"hi"'),
    ('a"b\n\t\\', 'a"b\n\t\\', '"a\\"b\\n\\t\\\\"'),
    ("\x01", "\x01", '"\\u{1}"'),
    (Char("c"), "c", "c"),
    (
        [1, "a", Char("c"), 1.0, None, 1e20],
        '[1, "a", c, 1.0, (), 1e20]',
        '[1, "a", c, 1.0, (), 1e20]',
    ),
    ({"b": 1, "a": [2]}, '#{"a": [2], "b": 1}', '#{"a": [2], "b": 1}'),
    ({}, "#{}", "#{}"),
    ([], "[]", "[]"),
    (bytearray(range(10)), "[0001020304050607 0809]", "[0001020304050607 0809]"),
    (bytearray(), "[]", "[]"),
    (RhaiRange(1, 3), "1..3", "1..3"),
    (RhaiRange(1, 3, True), "1..=3", "1..=3"),
    (RhaiRange(5, 9223372036854775807), "5..", "5..9223372036854775807"),
    (FnPtr("foo"), "Fn(foo)", "Fn(foo)"),
    (Timestamp(1.0), "<timestamp>", "<timestamp>"),
]


@pytest.mark.parametrize(("v", "display", "debug"), DISPLAY)
def test_display_and_debug_forms(v: Any, display: str, debug: str) -> None:
    assert to_display(v) == display
    assert to_debug(v) == debug


@pytest.mark.parametrize(
    ("v", "name"),
    [
        (1, "i64"),
        (1.0, "f64"),
        (True, "bool"),
        ("s", "string"),
        (Char("c"), "char"),
        (None, "()"),
        ([], "array"),
        ({}, "map"),
        (bytearray(), "blob"),
        (RhaiRange(1, 2), "range"),
        (RhaiRange(1, 2, True), "range="),
        (Timestamp(), "timestamp"),
        (FnPtr("f"), "Fn"),
        (U8(1), "u8"),
    ],
)
def test_type_names(v: Any, name: str) -> None:
    assert type_name(v) == name


def test_host_type_names_come_from_registry() -> None:
    class Point:
        pass

    HOST_TYPE_NAMES[Point] = "Point"
    try:
        assert type_name(Point()) == "Point"
        assert to_display(Point()) == "Point"
        assert to_debug([Point()]) == "[Point]"
        HOST_TO_STRING[Point] = lambda p: "P(1)"
        HOST_TO_DEBUG[Point] = lambda p: "Point { x: 1 }"
        assert to_display(Point()) == "P(1)"
        assert to_display([Point()]) == "[Point { x: 1 }]"
    finally:
        del HOST_TYPE_NAMES[Point]
        HOST_TO_STRING.pop(Point, None)
        HOST_TO_DEBUG.pop(Point, None)


def test_data_size_counts_nested_containers() -> None:
    assert data_size("héllo") == (0, 0, 6)
    assert data_size([1, [2, 3], {"a": "xy"}]) == (5, 1, 2)
    assert data_size({"a": {"b": 1}, "c": [1]}) == (1, 3, 0)
    assert data_size(bytearray(4)) == (4, 0, 0)
    assert data_size([bytearray(2)]) == (4, 0, 0)
    assert data_size(42) == (0, 0, 0)


def test_deep_copy_gives_independent_values() -> None:
    a = [1, [2, {"k": bytearray(b"x")}]]
    c = deep_copy(a)
    c[1][1]["k"].append(0)
    c[1].append(3)
    assert a == [1, [2, {"k": bytearray(b"x")}]]


def test_iterate_over_iterables() -> None:
    assert list(iterate(RhaiRange(1, 4))) == [1, 2, 3]
    assert list(iterate(RhaiRange(1, 3, True))) == [1, 2, 3]
    assert list(iterate("ab")) == ["a", "b"]
    assert all(type(c) is Char for c in iterate("ab"))
    assert list(iterate(bytearray(b"\x01\x02"))) == [1, 2]
    assert all(type(x) is U8 for x in iterate(bytearray(b"\x01")))  # Rhai yields u8, not i64
    assert list(iterate([1, 2])) == [1, 2]
    for bad in ({"a": 1}, 42, None):
        with pytest.raises(ErrorFor):
            iterate(bad)


GET = [
    ([1, 2, 3], 1, 2),
    ([1, 2, 3], -1, 3),
    ([1, 2, 3], -3, 1),
    ("hello", 1, Char("e")),
    ("hello", -1, Char("o")),
    ("héllo", 1, Char("é")),
    ("hello", RhaiRange(1, 3), "el"),
    ("hello", RhaiRange(0, 18), "hello"),
    ("hello", RhaiRange(1, -1, True), "ello"),
    ("hello", RhaiRange(3, 1), ""),
    ("hello", RhaiRange(0, 2), "he"),
    ("hello", RhaiRange(1, -4, True), ""),
    ("hello", RhaiRange(1, 1, True), ""),
    ("hello", RhaiRange(1, 2, True), "el"),
    ("hello", RhaiRange(-3, 9223372036854775807), "llo"),
    ("hello", RhaiRange(0, 9223372036854775807, True), "hello"),
    ("", RhaiRange(0, 2), ""),
    (bytearray([5, 6]), 1, 6),
    ({"a": 1}, "a", 1),
    ({"a": 1}, "b", None),
    (5, 0, True),
    (5, 1, False),
    (-1, -1, True),
    (0b1011_0000, RhaiRange(4, 8), 0b1011),
    (0b1011_0000, RhaiRange(4, 7, True), 0b1011),
    (-1, RhaiRange(0, 64), -1),
]


@pytest.mark.parametrize(("c", "i", "expected"), GET)
def test_get_index(c: Any, i: Any, expected: Any) -> None:
    got = get_index(c, i)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("c", "i", "err"),
    [
        ([], -3, ErrorArrayBounds),
        ([1, 2], 2, ErrorArrayBounds),
        ([1, 2], -3, ErrorArrayBounds),
        ("abc", 3, ErrorStringBounds),
        ("abc", -4, ErrorStringBounds),
        ("abc", RhaiRange(-9, 2), ErrorStringBounds),
        (5, 64, ErrorBitFieldBounds),
        (5, -65, ErrorBitFieldBounds),
        (5, RhaiRange(0, 65), ErrorBitFieldBounds),
        (10, RhaiRange(-1, 3), ErrorBitFieldBounds),
        (10, RhaiRange(0, -1, True), ErrorBitFieldBounds),
        ([1], "a", ErrorMismatchDataType),
        ({"a": 1}, 1, ErrorMismatchDataType),
        (1.5, 0, ErrorIndexingType),
        (True, 0, ErrorIndexingType),
    ],
)
def test_get_index_errors(c: Any, i: Any, err: type) -> None:
    with pytest.raises(err):
        get_index(c, i)


def test_array_bounds_error_carries_fields() -> None:
    with pytest.raises(ErrorArrayBounds) as e:
        get_index([1, 2], 5)
    assert e.value.fields == {"length": 2, "index": 5}


def test_missing_map_property_can_fail() -> None:
    assert get_property({"a": 1}, "b") is None
    with pytest.raises(ErrorPropertyNotFound):
        get_property({"a": 1}, "b", fail_on_invalid_map_property=True)
    with pytest.raises(ErrorPropertyNotFound):
        get_index({"a": 1}, "b", fail_on_invalid_map_property=True)


SET = [
    ([1, 2, 3], 1, 9, [1, 9, 3]),
    ([1, 2, 3], -1, 9, [1, 2, 9]),
    ({"a": 1}, "b", 2, {"a": 1, "b": 2}),
    (bytearray([0, 0]), 0, 999, bytearray([231, 0])),
    ("hello", 2, Char("$"), "he$lo"),
    ("hello", 0, Char("H"), "Hello"),
    ("hello", RhaiRange(1, 3), "iii", "hiiilo"),
    ("hello", RhaiRange(1, 3, True), "X", "hXo"),
    ("hello", RhaiRange(0, 99), "X", "X"),
    ("hello", RhaiRange(1, 2, True), "y", "hylo"),
    ("hello", RhaiRange(3, 1), "X", "helXello"),
    ("", RhaiRange(0, 2), "X", "X"),
    (0, 3, True, 8),
    (15, 0, False, 14),
    (0, 63, True, -9223372036854775808),
    (0, RhaiRange(4, 8), 0xFF, 0xF0),
    (-1, RhaiRange(0, 4), 0, -16),
]


@pytest.mark.parametrize(("c", "i", "v", "expected"), SET)
def test_set_index(c: Any, i: Any, v: Any, expected: Any) -> None:
    out = set_index(c, i, v)
    assert out == expected
    if isinstance(c, (list, dict, bytearray)):
        assert out is c


@pytest.mark.parametrize(
    ("c", "i", "v", "err"),
    [
        ([1], 1, 0, ErrorArrayBounds),
        ("ab", 2, Char("x"), ErrorStringBounds),
        ("ab", 0, "x", ErrorMismatchDataType),
        (5, 0, 1, ErrorMismatchDataType),
        (5, 70, True, ErrorBitFieldBounds),
        (bytearray(1), 0, "x", ErrorMismatchDataType),
        (1.0, 0, 1, ErrorIndexingType),
    ],
)
def test_set_index_errors(c: Any, i: Any, v: Any, err: type) -> None:
    with pytest.raises(err):
        set_index(c, i, v)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_display_round_trips(x: float) -> None:
    # Given any finite float / When displayed / Then the text parses back to the same value
    text = format_float(x)
    assert float(text) == x or (x == 0.0 and text == "0.0")
    natural = x == 0.0 or 9999999827968.0 >= abs(x) >= 9.9999998245167e-14
    assert ("e" not in text) == natural
    if natural and x == int(x):
        assert text.endswith(".0")
    assert float(debug_float(x)) == x


@pytest.mark.parametrize(
    ("c", "i", "message", "fields"),
    [
        ([], 0, "Array index 0 out of bounds: array is empty", {"length": 0, "index": 0}),
        ([1], 5, "Array index 5 out of bounds: only 1 element in array", {"length": 1, "index": 5}),
        (
            [1, 2],
            -3,
            "Array index -3 out of bounds: only 2 elements in array",
            {"length": 2, "index": -3},
        ),
        (
            "ab",
            2,
            "String index 2 out of bounds: only 2 characters in string",
            {"length": 2, "index": 2},
        ),
        ("", 0, "String index 0 out of bounds: string is empty", {"length": 0, "index": 0}),
        (
            1,
            64,
            "Bit-field index 64 out of bounds: only 64 bits in bit-field",
            {"length": 64, "index": 64},
        ),
        (1.0, 0, "Indexer unavailable: f64 [i64]", {"type": "f64 [i64]"}),
    ],
)
def test_index_errors_carry_rhai_text_and_fields(
    c: Any, i: Any, message: str, fields: dict[str, Any]
) -> None:
    # The fields become the keys of the map a `catch (e)` block receives.
    with pytest.raises(RhaiError) as e:
        get_index(c, i)
    assert e.value.message == message
    assert e.value.fields == fields
