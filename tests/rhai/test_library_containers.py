"""Object map and BLOB functions, ``to_json``, and the registry contract."""

from __future__ import annotations

import time
from typing import Any

import pytest

from picloud.rhai.builtins import CORE, NO_THIS, STANDARD, Library
from picloud.rhai.errors import ErrorArithmetic, ErrorDataTooLarge
from picloud.rhai.options import EngineOptions
from picloud.rhai.values import Char, FnPtr, RhaiRange, Timestamp


class Ctx:
    def __init__(self, **opts: Any) -> None:
        self.options = EngineOptions(**opts)

    def call(self, fp: FnPtr, args: list[Any], this: Any = NO_THIS) -> Any:
        return fp.fn.f(*[*fp.curry, *args])


class Fn:
    def __init__(self, f: Any, arity: int) -> None:
        self.f = f
        self.arity = arity


def call(name: str, *args: Any, ctx: Any = None) -> Any:
    nf = STANDARD.resolve(name, tuple(type(a) for a in args))
    assert nf is not None, f"no overload {name}{tuple(type(a).__name__ for a in args)}"
    return nf.fn(ctx or Ctx(), *args) if nf.needs_ctx else nf.fn(*args)


def test_map_functions() -> None:
    m = {"b": 2, "a": 1}
    assert call("len", m) == 2
    assert call("contains", m, "a") is True
    assert call("get", m, "z") is None
    assert call("keys", m) == ["a", "b"]
    assert call("values", m) == [1, 2]
    assert call("set", m, "c", 3) == (m, None)
    assert call("remove", m, "a") == (m, 1)
    assert call("remove", m, "zz") == (m, None)
    assert m == {"b": 2, "c": 3}
    assert call("+", {"a": 1, "b": 1}, {"b": 2}) == {"a": 1, "b": 2}
    assert call("mixin", m, {"c": 9, "d": 4}) == (m, None)
    assert m == {"b": 2, "c": 9, "d": 4}
    assert call("fill_with", m, {"b": 0, "e": 5}) == (m, None)
    assert m == {"b": 2, "c": 9, "d": 4, "e": 5}
    assert call("==", {"a": 1}, {"a": 1.0}) is True
    assert call("!=", {"a": 1}, {"a": 2}) is True
    assert call("clear", m) == ({}, None)


def test_map_callbacks_take_key_then_value() -> None:
    m = {"b": 2, "a": 1}
    add_key = FnPtr("f", (), Fn(lambda k, v: k + str(v), 2))
    assert call("map", m, add_key) == {"a": "a1", "b": "b2"}
    big = FnPtr("f", (), Fn(lambda k, v: v > 1, 2))
    assert call("filter", m, big) == {"b": 2}
    kept, drained = call("retain", dict(m), big)
    assert (kept, drained) == ({"b": 2}, {"a": 1})
    rest, out = call("drain", dict(m), big)
    assert (rest, out) == ({"a": 1}, {"b": 2})


@pytest.mark.parametrize(
    ("m", "json"),
    [
        ({"a": [{"b": 42}]}, '{"a":[{"b":42}]}'),
        ({"a": [FnPtr("abc")]}, '{"a":["abc"]}'),
        ({"a": [FnPtr("abc", (42, 123))]}, '{"a":[["abc",42,123]]}'),
        (
            {"z": None, "y": True, "x": 1.0, "w": 'q"', "v": bytearray([1, 2])},
            '{"v":[1,2],"w":"q\\"","x":1.0,"y":true,"z":null}',
        ),
        ({"c": Char("c"), "r": RhaiRange(1, 3)}, '{"c":\'c\',"r":1..3}'),
        ({}, "{}"),
    ],
)
def test_to_json(m: dict[str, Any], json: str) -> None:
    assert call("to_json", m) == json


def test_blob_functions() -> None:
    b = call("blob", 3, 999)
    assert b == bytearray([231, 231, 231])
    assert call("blob") == bytearray()
    assert call("blob", -1) == bytearray()
    assert call("len", b) == 3
    assert call("get", b, -1) == 231
    assert call("get", b, 9) == 0
    assert call("contains", b, 231 + 256) is True
    assert call("push", b, 258) == (b, None)
    assert b[-1] == 2
    assert call("append", b, "hé") == (b, None)
    assert call("append", b, Char("x")) == (b, None)
    assert bytes(b[4:]) == "héx".encode()
    assert call("pop", b) == (b, ord("x"))
    assert call("pop", bytearray()) == (bytearray(), 0)
    assert call("as_string", bytearray("hé".encode())) == "hé"
    assert call("to_array", bytearray([1, 2])) == [1, 2]
    assert call("extract", bytearray([1, 2, 3]), 1, 5) == bytearray([2, 3])
    assert call("insert", bytearray([1, 2]), 1, 9) == (bytearray([1, 9, 2]), None)
    assert call("+", bytearray([1]), bytearray([2])) == bytearray([1, 2])
    with pytest.raises(ErrorDataTooLarge):
        call("blob", 100, ctx=Ctx(max_array_size=10))


def _counting() -> bytearray:
    return bytearray(range(16))


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("parse_le_int", (2, 0), 0),
        ("parse_le_int", (2, 9), 650777868590383874),
        ("parse_le_int", (RhaiRange(2, 11, True),), 650777868590383874),
        ("parse_le_int", (RhaiRange(2, 11),), 650777868590383874),
        ("parse_be_int", (2, 10), 144964032628459529),
        ("parse_be_int", (RhaiRange(2, 12),), 144964032628459529),
        ("parse_le_int", (-5, 99), 64660245515),
        ("parse_le_int", (-5, 2), 3083),
        ("parse_le_int", (-99, 99), 506097522914230528),
    ],
)
def test_blob_parse_int(name: str, args: tuple[Any, ...], expected: int) -> None:
    assert call(name, _counting(), *args) == expected


def test_blob_write_then_parse() -> None:
    b = _counting()
    call("write_be", b, 3, 3, -98765432)
    assert call("parse_be_int", b, 3, 3) == -1099511627776
    b = _counting()
    call("write_be", b, RhaiRange(3, 5, True), -98765432)
    assert call("parse_be_int", b, RhaiRange(3, 6)) == -1099511627776
    b = _counting()
    call("write_le", b, 3, 3, -98765432)
    assert call("parse_le_int", b, 3, 3) == 1897864
    b = bytearray(16)
    call("write_be", b, 0, 8, 0x1234567890ABCDEF)
    call("write_be", b, 8, 8, -6066930261531658096)
    assert list(b) == [18, 52, 86, 120, 144, 171, 205, 239, 171, 205, 239, 18, 52, 86, 120, 144]
    f = bytearray(8)
    call("write_le", f, 0, 8, 1.5)
    assert call("parse_le_float", f, 0, 8) == 1.5


@pytest.mark.parametrize(
    ("size", "name", "args", "expected"),
    [
        (
            16,
            "write_ascii",
            (0, 14, "hello, world!"),
            [104, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100, 33, 0, 0, 0],
        ),
        (
            10,
            "write_ascii",
            (RhaiRange(3, 8), "hello, world!"),
            [0, 0, 0, 104, 101, 108, 108, 111, 0, 0],
        ),
        (
            10,
            "write_ascii",
            (RhaiRange(0, 9), "\u2764 hello, \u2764 world! \u2764\u2764\u2764"),
            [32, 104, 101, 108, 108, 111, 44, 32, 32, 0],
        ),
        (
            10,
            "write_utf8",
            (RhaiRange(3, 9), "\u2764\u2764\u2764\u2764"),
            [0, 0, 0, 226, 157, 164, 226, 157, 164, 0],
        ),
        (
            10,
            "write_utf8",
            (RhaiRange(3, 7), "\u2764\u2764\u2764\u2764"),
            [0, 0, 0, 226, 157, 164, 226, 0, 0, 0],
        ),
    ],
)
def test_blob_write_strings(
    size: int, name: str, args: tuple[Any, ...], expected: list[int]
) -> None:
    b = bytearray(size)
    call(name, b, *args)
    assert list(b) == expected


def test_library_merge_and_overrides() -> None:
    lib = Library()
    lib.register("f", (int,), lambda x: "int")
    lib.register("f", (None,), lambda x: "any")
    other = Library()
    other.register("f", (int,), lambda x: "override")
    merged = lib.merge(other)
    nf = merged.resolve("f", (int,))
    assert nf is not None and nf.fn(1) == "override"
    nf = merged.resolve("f", (str,))
    assert nf is not None and nf.fn("x") == "any"
    assert lib.resolve("f", (int,)).fn(1) == "int"  # type: ignore[union-attr]
    assert merged.has_name("f", 1) and not merged.has_name("f", 2)
    assert CORE.resolve("len", (list,)) is None
    assert STANDARD.resolve("len", (list,)) is not None


def test_timestamps() -> None:
    t = Timestamp(100.0)
    assert call("+", t, 1).t == 101.0
    assert call("+", t, 0.0015).t == pytest.approx(100.001)  # whole milliseconds
    assert call("-", t, 2.5).t == 97.5
    assert call("-", Timestamp(5.0), Timestamp(2.0)) == 3.0
    assert call("<", Timestamp(1.0), Timestamp(2.0)) is True
    new, r = call("+=", t, 1)
    assert (new.t, r) == (101.0, None)
    future = Timestamp(time.monotonic() + 100)
    with pytest.raises(ErrorArithmetic):
        call("elapsed", future)
    assert call("elapsed", Timestamp(time.monotonic() - 1)) >= 1.0
