"""``time::`` through real scripts: RFC 3339 in and out, formats, arithmetic."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picloud.rhai import Engine
from picloud.sdk.time import MAX_MS, MIN_MS, format_ms, parse_rfc3339


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('time::parse("1970-01-01T00:00:00Z")', 0),
        ('time::parse("2024-02-29T12:00:00.5+01:00")', 1_709_204_400_500),
        ('time::parse("2024-02-29t11:00:00.500z")', 1_709_204_400_500),
        ('time::parse("2024-02-29 11:00:00.500999999Z")', 1_709_204_400_500),
        ('time::parse("1969-12-31T23:59:59.999Z")', -1),
        ('time::parse("2016-12-31T23:59:60Z")', 1_483_228_800_000),
        ('time::parse("2000-01-01T00:00:00-05:30")', 946_704_600_000),
        ("time::format(0)", "1970-01-01T00:00:00.000Z"),
        ("time::format(1709204400500)", "2024-02-29T11:00:00.500Z"),
        ("time::format(-1)", "1969-12-31T23:59:59.999Z"),
        ('time::format(1709204400500, "%Y/%m/%d %H:%M:%S.%L")', "2024/02/29 11:00:00.500"),
        ('time::format(1709204400500, "%F %T %z %Z")', "2024-02-29 11:00:00 +0000 UTC"),
        (
            'time::format(1709204400500, "%a %A %b %B %j %y %I %p %s %%")',
            "Thu Thursday Feb February 060 24 11 AM 1709204400 %",
        ),
        ('time::format(0, "%I %p")', "12 AM"),
        ("time::format(0, ())", "1970-01-01T00:00:00.000Z"),
        ("time::add(1000, 2)", 3000),
        ("time::add(1000, -1.5)", -500),
        ("time::add(0, 0.0004)", 0),
        ("time::diff(5000, 1500)", 3500),
        ("time::diff(0, 1)", -1),
        ("time::parse(time::format(1234567890123))", 1_234_567_890_123),
        ("type_of(time::now_ms())", "i64"),
    ],
)
def test_time_functions(engine: Engine, src: str, expected: Any) -> None:
    # Given the standard library, when a script uses time::, then it gets these values
    assert engine.eval(src) == expected


def test_now_is_the_current_utc_instant(engine: Engine) -> None:
    # Given the wall clock, when a script asks for now, then both forms are close to it
    before = time.time_ns() // 1_000_000
    ms, text = engine.eval("[time::now_ms(), time::now()]")
    after = time.time_ns() // 1_000_000
    assert before <= ms <= after
    assert text.endswith("Z")
    assert before - 1000 <= parse_rfc3339(text) <= after


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('time::parse("2024-02-30T00:00:00Z")', "time: parse: no such date or time"),
        ('time::parse("2024-02-01")', "time: parse: not an RFC 3339 date-time"),
        ('time::parse("2024-02-01T00:00:00")', "time: parse: not an RFC 3339 date-time"),
        ('time::parse("2024-02-01T24:00:00Z")', "time: parse: no such date or time"),
        ('time::parse("2024-02-01T00:00:00+25:00")', "time: parse: bad UTC offset"),
        ("time::parse(1)", "time: parse expects a string, got i64"),
        ('time::format("0")', "time: format expects epoch milliseconds (an integer), got string"),
        (f"time::format({MAX_MS + 1})", "time: format: 253402300800000 is outside years 1..9999"),
        (f"time::format({MIN_MS - 1})", "time: format: -62135596800001 is outside years 1..9999"),
        ('time::format(0, "%Q")', "time: format: unsupported directive %Q"),
        ('time::format(0, "50%")', "time: format: a lone % ends the format"),
        ("time::format(0, 5)", "time: format expects a format string, got i64"),
        ('time::add(0, "1")', "time: add expects seconds as a number, got string"),
        ("time::add(9223372036854775807, 1)", "time: add: result is out of range"),
        ("time::diff(0, 1.5)", "time: diff expects epoch milliseconds (an integer), got f64"),
        (
            "time::diff(-9223372036854775807, 9223372036854775807)",
            "time: diff: result is out of range",
        ),
    ],
)
def test_time_errors_are_catchable_with_the_time_prefix(
    caught: Callable[[str], Any], expr: str, message: str
) -> None:
    # Given a failing time:: call inside try/catch, then the handler gets the prefixed text
    got = caught(expr)
    assert isinstance(got, str) and got.startswith(message), got


@settings(max_examples=200, deadline=None)
@given(st.integers(MIN_MS, MAX_MS))
def test_format_then_parse_round_trips_and_matches_datetime(ms: int) -> None:
    # Given any instant in range, then formatting agrees with datetime and parses back
    text = format_ms(ms)
    dt = datetime.fromtimestamp(ms // 1000, UTC) if ms >= 0 else None
    if dt is not None:
        assert text.startswith(dt.strftime("%Y-%m-%dT%H:%M:%S"))
    assert parse_rfc3339(text) == ms
