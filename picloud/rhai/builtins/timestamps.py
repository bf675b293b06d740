"""Timestamp functions (Rhai's ``BasicTimePackage``): monotonic instants in seconds."""

from __future__ import annotations

import time

from picloud.rhai.builtins.registry import Library
from picloud.rhai.values import Timestamp

__all__ = ["register"]

T = Timestamp


def _elapsed(t: Timestamp) -> float:
    return time.monotonic() - t.t


def _shift(t: Timestamp, secs: float) -> Timestamp:
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
