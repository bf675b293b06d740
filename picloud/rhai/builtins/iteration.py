"""Iterator functions: ``range``, ``chars``, ``bits`` and the range value methods."""

from __future__ import annotations

from collections.abc import Iterator

from picloud.rhai.builtins._util import bit_index, range_start_len
from picloud.rhai.builtins.registry import Library
from picloud.rhai.errors import ErrorArithmetic, ErrorInFunctionCall, RhaiError
from picloud.rhai.values import INT_MAX, Char, RhaiIter, RhaiRange

__all__ = ["bits_iter", "chars_iter", "float_range", "register", "step_range"]

I, F, S, R = int, float, str, RhaiRange


def _zero_step() -> RhaiError:
    inner = ErrorArithmetic("step value cannot be zero")
    return ErrorInFunctionCall(
        "Error in call to function 'range': step value cannot be zero",
        inner=inner,
        function="range",
    )


def step_range(start: int, end: int, step: int) -> RhaiIter:
    """``range(from, to, step)`` over ints: empty when the step points away from ``to``."""
    if step == 0:
        raise _zero_step()
    return RhaiIter(range(start, end, step))


class _FloatRange:
    """A re-iterable float range with Rhai's stepping (plain addition, no rounding fix-ups)."""

    __slots__ = ("dir", "end", "start", "step")

    def __init__(self, start: float, end: float, step: float) -> None:
        n = start + step
        if n == start:
            raise _zero_step()
        self.start, self.end, self.step = start, end, step
        self.dir = 1 if start < end and n > start else (-1 if start > end and n < start else 0)

    def __iter__(self) -> Iterator[float]:
        if self.dir == 0:
            return
        v, end, step = self.start, self.end, self.step
        if self.dir > 0:
            while True:
                yield v
                v += step
                if v >= end:
                    return
        else:
            while True:
                yield v
                v += step
                if v <= end:
                    return


def float_range(start: float, end: float, step: float) -> RhaiIter:
    """``range(from, to, step)`` over floats."""
    return RhaiIter(_FloatRange(float(start), float(end), float(step)))


class _Chars:
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s

    def __iter__(self) -> Iterator[Char]:
        return map(Char, self.s)


def chars_iter(s: str, start: int = 0, n: int = INT_MAX) -> RhaiIter:
    """The chars of ``s`` from ``start`` (negative from the end), at most ``n``."""
    if n <= 0:
        return RhaiIter(())
    if start < 0:
        start = max(len(s) + start, 0)
    return RhaiIter(_Chars(s[start : start + n] if start or n < len(s) else s))


def _chars_range(s: str, r: RhaiRange) -> RhaiIter:
    a, n = range_start_len(r)
    return chars_iter(s, a, n)


class _Bits:
    __slots__ = ("n", "v")

    def __init__(self, v: int, n: int) -> None:
        self.v, self.n = v, n

    def __iter__(self) -> Iterator[bool]:
        v = self.v
        for i in range(self.n):
            yield bool((v >> i) & 1)


def bits_iter(value: int, start: int = 0, n: int = INT_MAX) -> RhaiIter:
    """The bits of ``value`` from bit ``start`` upwards, at most ``n`` (as bools)."""
    b = bit_index(start)
    n = 0 if n < 0 else min(n, 64 - b)
    return RhaiIter(_Bits(value >> b, n))


def _bits_range(value: int, r: RhaiRange) -> RhaiIter:
    a, n = range_start_len(r)
    return bits_iter(value, a, n)


def _range_is_empty(r: RhaiRange) -> bool:
    return r.start > r.end if r.inclusive else r.start >= r.end


def register(lib: Library) -> None:
    """Register the iterator and range functions."""
    reg = lib.register
    reg("range", (I, I), lambda a, b: RhaiRange(a, b))
    reg("range", (I, I, I), step_range)
    reg("range", (F, F, F), float_range)
    reg("range", (R, I), lambda r, s: step_range(r.start, r.stop if r.inclusive else r.end, s))
    reg("chars", (S,), chars_iter)
    reg("chars", (S, I), chars_iter)
    reg("chars", (S, I, I), chars_iter)
    reg("chars", (S, R), _chars_range)
    reg("bits", (I,), bits_iter)
    reg("bits", (I, I), bits_iter)
    reg("bits", (I, I, I), bits_iter)
    reg("bits", (I, R), _bits_range)
    reg("start", (R,), lambda r: r.start)
    reg("end", (R,), lambda r: r.end)
    reg("is_inclusive", (R,), lambda r: r.inclusive)
    reg("is_exclusive", (R,), lambda r: not r.inclusive)
    reg("is_empty", (R,), _range_is_empty)
    reg("contains", (R, I), lambda r, v: r.start <= v < r.stop)
