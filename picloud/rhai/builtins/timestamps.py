"""Timestamp functions (Rhai's ``BasicTimePackage``): monotonic instants in seconds."""

from __future__ import annotations

import math
import time

from picloud.rhai.builtins._util import arith
from picloud.rhai.builtins.registry import Library
from picloud.rhai.values import Timestamp

__all__ = ["register"]

T = Timestamp


def _elapsed(t: Timestamp) -> float:
    d = time.monotonic() - t.t
    if d < 0:
        raise arith("Time-stamp is later than now")
    return d


def _shift(t: Timestamp, secs: float) -> Timestamp:
    if type(secs) is float:
        # Rhai moves a timestamp by whole milliseconds when given float seconds.
        if math.isinf(secs):
            raise arith(f"Timestamp overflow when adding {secs} second(s)")
        ms = 0 if math.isnan(secs) else int(abs(secs) * 1000.0)
        secs = math.copysign(ms / 1000.0, secs)
    return Timestamp(t.t + secs)


def register(lib: Library) -> None:
    """Register the timestamp functions."""
    r = lib.register
    r("timestamp", (), Timestamp)
    r("elapsed", (T,), _elapsed)
    r("-", (T, T), lambda a, b: a.t - b.t)
    for n in (int, float):
        r("+", (T, n), _shift)
        r("-", (T, n), lambda t, s: _shift(t, -s))
        r("+=", (T, n), lambda t, s: (_shift(t, s), None), mutating=True)
        r("-=", (T, n), lambda t, s: (_shift(t, -s), None), mutating=True)
    r("==", (T, T), lambda a, b: a.t == b.t)
    r("!=", (T, T), lambda a, b: a.t != b.t)
    r("<", (T, T), lambda a, b: a.t < b.t)
    r("<=", (T, T), lambda a, b: a.t <= b.t)
    r(">", (T, T), lambda a, b: a.t > b.t)
    r(">=", (T, T), lambda a, b: a.t >= b.t)
