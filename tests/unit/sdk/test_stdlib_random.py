"""``random::`` through real scripts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from picloud.rhai import Engine
from picloud.sdk.random import MAX_BYTES


def test_int_stays_within_both_inclusive_bounds(engine: Engine) -> None:
    # Given many draws from a small range, then every value is in range and both ends occur
    seen = set(engine.eval("let out = []; for i in 0..400 { out.push(random::int(1, 3)); } out"))
    assert seen == {1, 2, 3}


def test_int_with_equal_bounds_and_extreme_bounds(engine: Engine) -> None:
    # Given degenerate and full-width ranges, then values are valid 64-bit integers
    assert engine.eval("random::int(7, 7)") == 7
    v = engine.eval("random::int(-9223372036854775807 - 1, 9223372036854775807)")
    assert -(2**63) <= v < 2**63


def test_float_is_in_the_unit_interval(engine: Engine) -> None:
    # Given many draws, then each is an f64 in [0, 1) and they are not all equal
    values = engine.eval("let out = []; for i in 0..200 { out.push(random::float()); } out")
    assert all(type(v) is float and 0.0 <= v < 1.0 for v in values)
    assert len(set(values)) > 190


def test_uuid_is_a_version_4_uuid_and_unique(engine: Engine) -> None:
    # Given two UUIDs, then both have the v4 shape and differ
    a, b = engine.eval("[random::uuid(), random::uuid()]")
    shape = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert shape.fullmatch(a) and shape.fullmatch(b) and a != b


@pytest.mark.parametrize(("n", "size"), [(0, 0), (1, 1), (32, 32), (MAX_BYTES, MAX_BYTES)])
def test_bytes_returns_a_blob_of_n_bytes(engine: Engine, n: int, size: int) -> None:
    # Given a count, then the result is a Blob of that length
    assert engine.eval(f"let b = random::bytes({n}); [type_of(b), b.len()]") == ["blob", size]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("random::int(3, 1)", "random: int: lo (3) is greater than hi (1)"),
        ("random::int(1.0, 2)", "random: int expects an integer, got f64"),
        ('random::int(1, "2")', "random: int expects an integer, got string"),
        ("random::int(true, 2)", "random: int expects an integer, got bool"),
        ("random::bytes(-1)", "random: bytes: n must be between 0 and 65536, got -1"),
        (
            f"random::bytes({MAX_BYTES + 1})",
            f"random: bytes: n must be between 0 and 65536, got {MAX_BYTES + 1}",
        ),
        ("random::bytes(())", "random: bytes expects an integer, got ()"),
    ],
)
def test_random_errors_are_catchable_with_the_random_prefix(
    caught: Callable[[str], Any], expr: str, message: str
) -> None:
    # Given a failing random:: call inside try/catch, then the handler gets the prefixed text
    assert caught(expr) == message


def test_extra_arguments_are_function_not_found(caught: Callable[[str], Any]) -> None:
    # Given random::float with an argument, then Rhai reports a missing function, catchably
    got = caught("random::float(1)")
    assert got["error"] == "ErrorFunctionNotFound" and "random::float" in got["message"]
