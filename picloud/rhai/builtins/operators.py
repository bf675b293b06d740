"""Built-in operators on built-in types: checked INT arithmetic, float maths, comparisons.

The module-level functions (``add``, ``sub`` … ``eq``, ``lt`` … ``neg``) are the
compiler's hot path. Each returns ``NOT_BUILTIN`` when no built-in applies to
the operand types, so the caller can try script/host overloads and then report
``ErrorFunctionNotFound``. Comparisons between values of different built-in
types never return ``NOT_BUILTIN``: they give false (``!=`` true), as Rhai does.
"""

from __future__ import annotations

import math
from typing import Any

from picloud.rhai.builtins.registry import NOT_BUILTIN, Library
from picloud.rhai.errors import ErrorArithmetic, RhaiError
from picloud.rhai.values import U8, Char, FnPtr, RhaiRange, Timestamp, deep_copy, to_display

__all__ = [
    "add",
    "add_assign",
    "bit_and",
    "bit_or",
    "bit_xor",
    "compare",
    "contains",
    "div",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "mod",
    "mul",
    "ne",
    "neg",
    "not_",
    "plus",
    "pow",
    "register",
    "shl",
    "shr",
    "sub",
    "sub_assign",
]

_MIN = -(1 << 63)
_MAX = (1 << 63) - 1
_EPS = 2.220446049250313e-16
_NON_NUMERIC = frozenset(
    (bool, str, Char, type(None), list, dict, bytearray, Timestamp, RhaiRange, FnPtr)
)
_BUILTIN_TYPES = frozenset(
    (int, float, bool, str, Char, type(None), list, dict, bytearray, Timestamp, RhaiRange, FnPtr)
)


def _overflow(what: str, a: Any, op: str, b: Any) -> RhaiError:
    return ErrorArithmetic(f"{what}: {a} {op} {b}")


def _wrap(n: int) -> int:
    """Two's-complement wrap of an unbounded int into i64."""
    n &= 0xFFFFFFFFFFFFFFFF
    return n - 0x10000000000000000 if n > _MAX else n


# --------------------------------------------------------------------------- float helpers


def _fdiv(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if math.isnan(a) or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _fmod(a: float, b: float) -> float:
    try:
        return math.fmod(a, b)
    except (ValueError, ZeroDivisionError):
        return math.nan


def _fpow(a: float, b: float) -> float:
    """IEEE ``powf``: infinities and NaN instead of Python exceptions."""
    try:
        r = a**b
    except ZeroDivisionError:  # 0.0 ** negative
        odd = b == int(b) and int(b) % 2 == 1
        return math.copysign(math.inf, a) if odd else math.inf
    except OverflowError:
        odd = b == int(b) and int(b) % 2 == 1
        return -math.inf if a < 0 and odd else math.inf
    if type(r) is complex:
        return math.nan
    return float(r)


def _fcmp(x: float, y: float) -> float:
    """Rhai's relative difference ``(x - y) / max(|x|, |y|)`` (absolute near zero); NaN-safe."""
    if x * y == 0.0:
        return x - y
    m = max(abs(x), abs(y))
    return (x - y) / m


# --------------------------------------------------------------------------- arithmetic


def add(a: Any, b: Any) -> Any:
    """``a + b`` with Rhai semantics; ``NOT_BUILTIN`` when no built-in applies."""
    ta = type(a)
    if ta is int and type(b) is int:
        r = a + b
        if _MIN <= r <= _MAX:
            return r
        raise _overflow("Addition overflow", a, "+", b)
    tb = type(b)
    if ta is float:
        if tb is float or tb is int:
            return a + b
    elif ta is str or ta is Char:
        if tb is str or tb is Char:
            return str.__add__(a, b)
        if ta is Char:
            return NOT_BUILTIN  # a char only joins strings and chars
        if b is None:
            return a
        if tb in _BUILTIN_TYPES:
            return a + to_display(b)
        return NOT_BUILTIN
    if ta is int and tb is float:
        return a + b
    if tb is str:
        if a is None:
            return b
        if ta in _BUILTIN_TYPES and ta is not bytearray:
            return to_display(a) + b
    if ta is list and tb is list:
        return deep_copy(a) + deep_copy(b)
    if ta is dict and tb is dict:
        out = deep_copy(a)
        out.update(deep_copy(b))
        return out
    if ta is bytearray:
        if tb is bytearray:
            return a + b
        if tb is Char:
            return a + b.encode("utf-8")
        if tb is str:
            return a.decode("utf-8", "replace") + b
    if ta is Timestamp and (tb is float or tb is int):
        return Timestamp(a.t + b)
    return NOT_BUILTIN


def sub(a: Any, b: Any) -> Any:
    """``a - b``: numbers, string minus substring/char, timestamp arithmetic."""
    ta = type(a)
    if ta is int and type(b) is int:
        r = a - b
        if _MIN <= r <= _MAX:
            return r
        raise _overflow("Subtraction overflow", a, "-", b)
    tb = type(b)
    if (ta is float and (tb is float or tb is int)) or (ta is int and tb is float):
        return a - b
    if ta is str and (tb is str or tb is Char):
        return a.replace(b, "") if b else a
    if ta is Timestamp:
        if tb is Timestamp:
            return a.t - b.t
        if tb is float or tb is int:
            return Timestamp(a.t - b)
    return NOT_BUILTIN


def mul(a: Any, b: Any) -> Any:
    """``a * b`` (checked for ints)."""
    ta = type(a)
    if ta is int and type(b) is int:
        r = a * b
        if _MIN <= r <= _MAX:
            return r
        raise _overflow("Multiplication overflow", a, "*", b)
    tb = type(b)
    if (ta is float and (tb is float or tb is int)) or (ta is int and tb is float):
        return a * b
    return NOT_BUILTIN


def div(a: Any, b: Any) -> Any:
    """``a / b``: ints truncate toward zero (Rust), floats are IEEE."""
    ta = type(a)
    if ta is int and type(b) is int:
        if b > 0 and a >= 0:
            return a // b
        if b == 0:
            raise _overflow("Division by zero", a, "/", b)
        if a == _MIN and b == -1:
            raise _overflow("Division overflow", a, "/", b)
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    tb = type(b)
    if (ta is float and (tb is float or tb is int)) or (ta is int and tb is float):
        return _fdiv(a, b)
    return NOT_BUILTIN


def mod(a: Any, b: Any) -> Any:
    """``a % b``: int remainder takes the dividend's sign (Rust), floats use fmod."""
    ta = type(a)
    if ta is int and type(b) is int:
        if b > 0 and a >= 0:
            return a % b
        if b == 0 or (a == _MIN and b == -1):
            raise _overflow("Modulo division by zero or overflow", a, "%", b)
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    tb = type(b)
    if (ta is float and (tb is float or tb is int)) or (ta is int and tb is float):
        return _fmod(a, b)
    return NOT_BUILTIN


def _ipow(a: int, b: int) -> int:
    if b < 0:
        raise _overflow("Integer raised to a negative power", a, "**", b)
    if b > 0xFFFFFFFF:
        raise _overflow("Exponential overflow", a, "**", b)
    if -1 <= a <= 1:
        return 1 if b == 0 or a == 1 or (a == -1 and b % 2 == 0) else (0 if a == 0 else -1)
    if b >= 64:
        raise _overflow("Exponential overflow", a, "**", b)
    r: int = a**b
    if _MIN <= r <= _MAX:
        return r
    raise _overflow("Exponential overflow", a, "**", b)


def pow(a: Any, b: Any) -> Any:
    """``a ** b``: checked int power (negative exponent is an error), float ``powf``."""
    ta = type(a)
    tb = type(b)
    if ta is int and tb is int:
        return _ipow(a, b)
    if (ta is float and (tb is float or tb is int)) or (ta is int and tb is float):
        return _fpow(float(a), float(b))
    return NOT_BUILTIN


def shl(a: Any, b: Any) -> Any:
    """``a << b``: negative counts shift right, counts of 64+ give 0."""
    if type(a) is int and type(b) is int:
        if b < 0:
            return a >> min(-b, 63)
        if b >= 64:
            return 0
        return _wrap(a << b)
    return NOT_BUILTIN


def shr(a: Any, b: Any) -> Any:
    """``a >> b`` (arithmetic): negative counts shift left, 64+ gives the sign bits."""
    if type(a) is int and type(b) is int:
        if b < 0:
            return 0 if b <= -64 else _wrap(a << -b)
        return a >> min(b, 63)
    return NOT_BUILTIN


def bit_and(a: Any, b: Any) -> Any:
    """``a & b`` on ints, or non-short-circuit AND on bools."""
    ta = type(a)
    if ta is type(b) and (ta is int or ta is bool):
        return a & b
    return NOT_BUILTIN


def bit_or(a: Any, b: Any) -> Any:
    """``a | b`` on ints, or non-short-circuit OR on bools."""
    ta = type(a)
    if ta is type(b) and (ta is int or ta is bool):
        return a | b
    return NOT_BUILTIN


def bit_xor(a: Any, b: Any) -> Any:
    """``a ^ b`` on ints or bools."""
    ta = type(a)
    if ta is type(b) and (ta is int or ta is bool):
        return a ^ b
    return NOT_BUILTIN


def neg(a: Any) -> Any:
    """Unary minus (checked for ints)."""
    ta = type(a)
    if ta is int:
        if a == _MIN:
            raise ErrorArithmetic(f"Negation overflow: -{a}")
        return -a
    if ta is float:
        return -a
    return NOT_BUILTIN


def plus(a: Any) -> Any:
    """Unary plus on numbers."""
    ta = type(a)
    return a if ta is int or ta is float else NOT_BUILTIN


def not_(a: Any) -> Any:
    """Logical ``!`` on bools."""
    return (not a) if type(a) is bool else NOT_BUILTIN


# --------------------------------------------------------------------------- comparisons


def compare(a: Any, b: Any) -> Any:
    """Ordering of two same-kind values (-1/0/1), ``None`` for different kinds,
    ``NOT_BUILTIN`` when the kind has no built-in ordering."""
    ta = type(a)
    tb = type(b)
    if ta is int and tb is int:
        return (a > b) - (a < b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        d = _fcmp(float(a), float(b))
        if math.isnan(d):
            return None  # NaN: every ordering is false
        return 1 if d > _EPS else (-1 if d < -_EPS else 0)
    if (ta is str or ta is Char) and (tb is str or tb is Char):
        return (a > b) - (a < b)
    if ta is tb:
        if ta is bool:
            return (a > b) - (a < b)
        if ta is Timestamp:
            return (a.t > b.t) - (a.t < b.t)
        if a is None:
            return None
        return NOT_BUILTIN
    if ta in _BUILTIN_TYPES and tb in _BUILTIN_TYPES:
        return None
    if (ta is U8 and tb in _NON_NUMERIC) or (tb is U8 and ta in _NON_NUMERIC):
        return None
    return NOT_BUILTIN


def eq(a: Any, b: Any) -> Any:
    """``a == b``: deep for arrays/maps, epsilon for floats, false across types."""
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta is int or ta is str or ta is bool or ta is Char:
            return a == b
        if ta is float:
            d = _fcmp(a, b)
            return -_EPS <= d <= _EPS
        if ta is list:
            return len(a) == len(b) and all(eq(x, y) is True for x, y in zip(a, b))
        if ta is dict:
            return len(a) == len(b) and all(k in b and eq(v, b[k]) is True for k, v in a.items())
        if a is None:
            return True
        if ta is bytearray or ta is RhaiRange:
            return a == b
        if ta is Timestamp:
            return a.t == b.t
        if ta is FnPtr:
            return NOT_BUILTIN
        return NOT_BUILTIN
    if (ta is float and tb is int) or (ta is int and tb is float):
        d = _fcmp(float(a), float(b))
        return -_EPS <= d <= _EPS
    if (ta is str and tb is Char) or (ta is Char and tb is str):
        return str.__eq__(a, b)
    if ta in _BUILTIN_TYPES and tb in _BUILTIN_TYPES:
        return False
    if (ta is U8 and tb in _NON_NUMERIC) or (tb is U8 and ta in _NON_NUMERIC):
        return False  # a numeric host type against a non-number compares unequal
    return NOT_BUILTIN


def ne(a: Any, b: Any) -> Any:
    """``a != b``; note ``() != ()`` is false and NaN != NaN is false, as in Rhai."""
    ta = type(a)
    if ta is type(b) and (ta is int or ta is str or ta is bool):
        return a != b
    r = eq(a, b)
    if r is NOT_BUILTIN:
        return r
    tb = type(b)
    if (ta is float or tb is float) and ta in (int, float) and tb in (int, float):
        return abs(_fcmp(float(a), float(b))) > _EPS
    return not r


def lt(a: Any, b: Any) -> Any:
    """``a < b``; false for values of different types."""
    if type(a) is int and type(b) is int:
        return a < b
    c = compare(a, b)
    if c is NOT_BUILTIN:
        return c
    return c is not None and c < 0


def le(a: Any, b: Any) -> Any:
    """``a <= b``; false for values of different types."""
    if type(a) is int and type(b) is int:
        return a <= b
    c = compare(a, b)
    if c is NOT_BUILTIN:
        return c
    return c is not None and c <= 0


def gt(a: Any, b: Any) -> Any:
    """``a > b``; false for values of different types."""
    if type(a) is int and type(b) is int:
        return a > b
    c = compare(a, b)
    if c is NOT_BUILTIN:
        return c
    return c is not None and c > 0


def ge(a: Any, b: Any) -> Any:
    """``a >= b``; false for values of different types."""
    if type(a) is int and type(b) is int:
        return a >= b
    c = compare(a, b)
    if c is NOT_BUILTIN:
        return c
    return c is not None and c >= 0


def contains(container: Any, item: Any) -> Any:
    """``item in container``: array element (by ``==``), map key, substring/char, int in range."""
    tc = type(container)
    if tc is list:
        ti = type(item)
        if ti is int or ti is str:
            for x in container:
                if type(x) is ti and x == item:
                    return True
        return any(eq(x, item) is True for x in container)
    if tc is dict:
        return item in container if type(item) is str else NOT_BUILTIN
    if tc is str:
        ti = type(item)
        return str.__contains__(container, item) if ti is str or ti is Char else NOT_BUILTIN
    if tc is RhaiRange:
        if type(item) is int:
            return (
                container.start
                <= item
                < (container.end + 1 if container.inclusive else container.end)
            )
        return NOT_BUILTIN
    if tc is bytearray:
        return (
            (item in container if 0 <= item <= 255 else False) if type(item) is int else NOT_BUILTIN
        )
    return NOT_BUILTIN


# --------------------------------------------------------------------------- op-assignment


def add_assign(a: Any, b: Any) -> Any:
    """``a += b``: returns the new value of ``a`` (arrays/blobs change in place and are returned)."""
    ta = type(a)
    if ta is int and type(b) is int:
        r = a + b
        if _MIN <= r <= _MAX:
            return r
        raise _overflow("Addition overflow", a, "+", b)
    if ta is list:
        tb = type(b)
        if tb is list:
            a.extend(deep_copy(b))
        else:
            a.append(deep_copy(b) if tb is dict or tb is bytearray else b)
        return a
    if ta is bytearray:
        tb = type(b)
        if tb is int:
            a.append(b & 0xFF)
            return a
        if tb is Char or tb is str:
            a.extend(b.encode("utf-8"))
            return a
        if tb is bytearray:
            a.extend(b)
            return a
    if ta is dict and type(b) is dict:
        a.update(deep_copy(b))
        return a
    if ta is str and type(b) is bytearray:
        return a + b.decode("utf-8", "replace")
    return add(a, b)


def sub_assign(a: Any, b: Any) -> Any:
    """``a -= b``: the new value of ``a``."""
    return sub(a, b)


# --------------------------------------------------------------------------- registry


def register(lib: Library) -> None:
    """Register every built-in operator overload (what a raw engine has)."""
    num: tuple[type, ...] = (int, float)
    for op, f in (("+", add), ("-", sub), ("*", mul), ("/", div), ("%", mod), ("**", pow)):
        for x in num:
            for y in num:
                lib.register(op, (x, y), f)
    for op, f in (("<<", shl), (">>", shr)):
        lib.register(op, (int, int), f)
    for op, f in (("&", bit_and), ("|", bit_or), ("^", bit_xor)):
        lib.register(op, (int, int), f)
        lib.register(op, (bool, bool), f)
    strs: tuple[type, ...] = (str, Char)
    for x in strs:
        for y in strs:
            lib.register("+", (x, y), add)
        lib.register("+", (x, type(None)), add)
        lib.register("+", (type(None), x), add)
    lib.register("-", (str, str), sub)
    lib.register("-", (str, Char), sub)
    lib.register("+", (bytearray, bytearray), add)
    lib.register("+", (bytearray, Char), add)
    # Comparisons: same-type and numeric mixes; differing built-in types are false.
    for op, f in (("==", eq), ("!=", ne), ("<", lt), ("<=", le), (">", gt), (">=", ge)):
        for x in num:
            for y in num:
                lib.register(op, (x, y), f)
        for x in strs:
            for y in strs:
                lib.register(op, (x, y), f)
        lib.register(op, (bool, bool), f)
        lib.register(op, (type(None), type(None)), f)
    for op, f in (("==", eq), ("!=", ne)):
        lib.register(op, (bytearray, bytearray), f)
        lib.register(op, (RhaiRange, RhaiRange), f)
    lib.register("-", (int,), neg)
    lib.register("-", (float,), neg)
    lib.register("+", (int,), plus)
    lib.register("+", (float,), plus)
    lib.register("!", (bool,), not_)
