"""Number functions: int/float maths, conversions, parsing, radix formatting, bit fields."""

from __future__ import annotations

import math
import re
from typing import Any

from picloud.rhai.builtins._util import arith, bit_index
from picloud.rhai.builtins.indexing import bit_bounds
from picloud.rhai.builtins.registry import Library
from picloud.rhai.values import INT_MAX, INT_MIN, U8, Char, RhaiRange

__all__ = [
    "float_to_int",
    "get_bits",
    "parse_float",
    "parse_int",
    "register",
    "round_half_away",
    "set_bits",
    "to_binary",
    "to_hex",
    "to_octal",
]

_U64 = 0xFFFFFFFFFFFFFFFF


def _signed(n: int) -> int:
    n &= _U64
    return n - (1 << 64) if n >> 63 else n


# --------------------------------------------------------------------------- ints


def _abs(x: int) -> int:
    if x == INT_MIN:
        raise arith(f"Negation overflow: -{x}")
    return -x if x < 0 else x


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _fsign(x: float) -> int:
    if x == 0.0:
        return 0
    if math.isnan(x):
        raise arith("Sign of NaN is undefined")
    return 1 if x > 0 else -1


def to_hex(x: int) -> str:
    """Lower-case hex of the two's-complement bit pattern (``-1`` → 16 ``f``s)."""
    return format(x & _U64, "x")


def to_octal(x: int) -> str:
    """Octal of the two's-complement bit pattern."""
    return format(x & _U64, "o")


def to_binary(x: int) -> str:
    """Binary of the two's-complement bit pattern."""
    return format(x & _U64, "b")


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def parse_int(s: str, radix: int = 10) -> int:
    """Rust ``i64::from_str_radix`` on the trimmed string, with Rhai's error texts."""
    if not 2 <= radix <= 36:
        raise arith(f"Invalid radix: '{radix}'")
    t = s.strip()

    def fail(why: str) -> Exception:
        return arith(f"Error parsing integer number '{s}': {why}")

    if not t:
        raise fail("cannot parse integer from empty string")
    neg = t[0] == "-"
    body = t[1:] if t[0] in "+-" else t
    if not body:
        raise fail("invalid digit found in string")
    if radix == 10 and body.isascii() and body.isdigit():
        # Fast path (engine perf fix): plain decimal digits parse with int().
        n = -int(body) if neg else int(body)
        if INT_MIN <= n <= INT_MAX:
            return n
    allowed = _DIGITS[:radix]
    n = 0
    for c in body:
        d = allowed.find(c.lower()) if c.isascii() else -1
        if d < 0:
            raise fail("invalid digit found in string")
        n = n * radix + d
    n = -n if neg else n
    if n > INT_MAX:
        raise fail("number too large to fit in target type")
    if n < INT_MIN:
        raise fail("number too small to fit in target type")
    return n


_FLOAT_RE = re.compile(
    r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE
)


def parse_float(s: str) -> float:
    """Rust ``f64::from_str`` on the trimmed string, with Rhai's error texts."""
    t = s.strip()
    if not t:
        raise arith(
            f"Error parsing floating-point number '{s}': cannot parse float from empty string"
        )
    if not _FLOAT_RE.fullmatch(t):
        raise arith(f"Error parsing floating-point number '{s}': invalid float literal")
    return float(t)


def float_to_int(x: float) -> int:
    """``to_int`` of a float: truncates; out of i64 range is ``ErrorArithmetic``."""
    if x > 9.223372036854775807e18 or x < -9.223372036854775808e18:
        raise arith(f"Integer overflow: to_int({_rust_plain(x)})")
    if math.isnan(x):
        return 0
    n = int(x)
    return min(n, INT_MAX)


def _rust_plain(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    from decimal import Decimal

    return format(Decimal(repr(x)), "f").removesuffix(".0")


def round_half_away(x: float) -> float:
    """Rust's ``f64::round``: halves round away from zero."""
    if not math.isfinite(x):
        return x
    f = math.floor(abs(x))
    r = f + 1.0 if abs(x) - f >= 0.5 else f
    return math.copysign(r, x)


def _trunc(x: float) -> float:
    return float(math.trunc(x)) if math.isfinite(x) else x


def _fract(x: float) -> float:
    return x - math.trunc(x) if math.isfinite(x) else math.nan


def _safe(f: Any) -> Any:
    """Wrap a math function so domain errors give NaN/inf like Rust instead of raising."""

    def g(*a: float) -> float:
        try:
            return float(f(*a))
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf
        except ZeroDivisionError:
            return math.nan

    g.__name__ = getattr(f, "__name__", "f")
    return g


def _ln(x: float) -> float:
    if x == 0:
        return -math.inf
    if x < 0 or math.isnan(x):
        return math.nan
    return math.log(x) if x != math.inf else math.inf


def _log10(x: float) -> float:
    if x == 0:
        return -math.inf
    if x < 0 or math.isnan(x):
        return math.nan
    return math.log10(x) if x != math.inf else math.inf


def _log(x: float, base: float) -> float:
    # Rust computes ln(x) / ln(base).
    a, b = _ln(x), _ln(base)
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)


def _sqrt(x: float) -> float:
    if x < 0 or math.isnan(x):
        return math.nan
    return math.sqrt(x)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


# --------------------------------------------------------------------------- bit fields


def get_bits(value: int, start: int, bits: int) -> int:
    """``bits`` bits of ``value`` from bit ``start`` (negative counts from the top)."""
    if bits <= 0:
        return 0
    bit = bit_index(start)
    bits = min(bits, 64 - bit)
    if bit == 0 and bits == 64:
        return value
    mask = (1 << bits) - 1
    return (value >> bit) & mask


def set_bits(value: int, start: int, bits: int, new: int) -> int:
    """``value`` with ``bits`` bits from ``start`` replaced by the low bits of ``new``."""
    if bits <= 0:
        return value
    bit = bit_index(start)
    bits = min(bits, 64 - bit)
    if bit == 0 and bits == 64:
        return new
    mask = (1 << bits) - 1
    u = (value & ~(mask << bit)) | ((new & mask) << bit)
    return _signed(u)


def _range_bits(r: RhaiRange) -> tuple[int, int]:
    start = max(r.start, 0)
    if r.inclusive:
        to = max(r.end, start - 1)
        if to >= 64:
            raise bit_bounds(to)
        return start, to - start + 1
    return start, max(r.end, start) - start


def _get_bit(value: int, bit: int) -> bool:
    return bool((value >> bit_index(bit)) & 1)


def _set_bit(value: int, bit: int, on: bool) -> tuple[int, None]:
    b = bit_index(bit)
    u = value | (1 << b) if on else value & ~(1 << b)
    return _signed(u), None


def _set_bits_range(value: int, r: RhaiRange, new: int) -> tuple[int, None]:
    s, n = _range_bits(r)
    return set_bits(value, s, n, new), None


def _get_bits_range(value: int, r: RhaiRange) -> int:
    s, n = _range_bits(r)
    return get_bits(value, s, n)


# --------------------------------------------------------------------------- registry


def _fmax(x: float, y: float) -> float:
    return max(x, y)


def _fmin(x: float, y: float) -> float:
    return min(x, y)


# --------------------------------------------------------------------------- u8 (blob iteration)


def _u8(r: int, what: str, a: int, op: str, b: int) -> U8:
    if 0 <= r <= 255:
        return U8(r)
    raise arith(f"{what}: {a} {op} {b}")


def _u8_div(a: int, b: int) -> U8:
    if b == 0:
        raise arith(f"Division by zero: {a} / {b}")
    return U8(a // b)


def _u8_mod(a: int, b: int) -> U8:
    if b == 0:
        raise arith(f"Modulo division by zero or overflow: {a} % {b}")
    return U8(a % b)


def _u8_pow(a: int, b: int) -> U8:
    if b > 0xFFFFFFFF:
        raise arith(f"Exponential overflow: {a} ** {b}")
    if b < 0:
        raise arith(f"Integer raised to a negative power: {a} ** {b}")
    if a <= 1 or b <= 8:
        return _u8(a**b if a > 1 else (1 if b == 0 else a), "Exponential overflow", a, "**", b)
    raise arith(f"Exponential overflow: {a} ** {b}")


def _u8_shl(a: int, b: int) -> U8:
    if b < 0:
        return _u8_shr(a, -b)
    return U8((a << b) & 0xFF) if b < 8 else U8(0)


def _u8_shr(a: int, b: int) -> U8:
    if b < 0:
        return _u8_shl(a, -b)
    return U8(a >> (b if b < 8 else 7))


def _register_u8(lib: Library) -> None:
    """``u8`` arithmetic and comparisons (bytes from iterating a blob), as Rhai registers them."""
    r = lib.register
    u = (U8, U8)
    r("+", u, lambda a, b: _u8(a + b, "Addition overflow", a, "+", b))
    r("-", u, lambda a, b: _u8(a - b, "Subtraction overflow", a, "-", b))
    r("*", u, lambda a, b: _u8(a * b, "Multiplication overflow", a, "*", b))
    r("/", u, _u8_div)
    r("%", u, _u8_mod)
    r("**", (U8, int), _u8_pow)
    r("<<", (U8, int), _u8_shl)
    r(">>", (U8, int), _u8_shr)
    r("&", u, lambda a, b: U8(a & b))
    r("|", u, lambda a, b: U8(a | b))
    r("^", u, lambda a, b: U8(a ^ b))
    r("==", u, lambda a, b: int(a) == int(b))
    r("!=", u, lambda a, b: int(a) != int(b))
    r("<", u, lambda a, b: int(a) < int(b))
    r("<=", u, lambda a, b: int(a) <= int(b))
    r(">", u, lambda a, b: int(a) > int(b))
    r(">=", u, lambda a, b: int(a) >= int(b))
    r("max", u, lambda a, b: max(a, b))
    r("min", u, lambda a, b: min(a, b))
    r("is_zero", (U8,), lambda x: x == 0)
    r("is_odd", (U8,), lambda x: x & 1 == 1)
    r("is_even", (U8,), lambda x: x & 1 == 0)
    r("to_int", (U8,), int)
    r("to_float", (U8,), float)
    r("to_hex", (U8,), lambda x: format(x, "x"))
    r("to_octal", (U8,), lambda x: format(x, "o"))
    r("to_binary", (U8,), lambda x: format(x, "b"))


def register(lib: Library) -> None:
    """Register the number functions."""
    r = lib.register
    I, F = int, float
    # ints
    r("abs", (I,), _abs)
    r("sign", (I,), _sign)
    r("is_zero", (I,), lambda x: x == 0)
    r("is_odd", (I,), lambda x: x & 1 == 1)
    r("is_even", (I,), lambda x: x & 1 == 0)
    r("max", (I, I), lambda x, y: max(x, y))
    r("min", (I, I), lambda x, y: min(x, y))
    r("to_float", (I,), float)
    r("to_float", (F,), lambda x: x)
    r("to_int", (I,), lambda x: x)
    r("to_int", (Char,), ord)
    r("to_int", (F,), float_to_int)
    r("to_hex", (I,), to_hex)
    r("to_octal", (I,), to_octal)
    r("to_binary", (I,), to_binary)
    r("parse_int", (str,), parse_int)
    r("parse_int", (str, I), parse_int)
    r("parse_float", (str,), parse_float)
    # floats
    r("abs", (F,), abs)
    r("sign", (F,), _fsign)
    r("is_zero", (F,), lambda x: x == 0.0)
    for a, b in ((F, F), (I, F), (F, I)):
        r("max", (a, b), lambda x, y: _fmax(float(x), float(y)))
        r("min", (a, b), lambda x, y: _fmin(float(x), float(y)))
    r("floor", (F,), lambda x: float(math.floor(x)) if math.isfinite(x) else x)
    r("ceiling", (F,), lambda x: float(math.ceil(x)) if math.isfinite(x) else x)
    r("round", (F,), round_half_away)
    r("int", (F,), _trunc)
    r("fraction", (F,), _fract)
    r("is_nan", (F,), math.isnan)
    r("is_finite", (F,), math.isfinite)
    r("is_infinite", (F,), math.isinf)
    r("sqrt", (F,), _sqrt)
    r("exp", (F,), _exp)
    r("ln", (F,), _ln)
    r("log", (F,), _log10)
    r("log", (F, F), _log)
    r("to_radians", (F,), math.radians)
    r("to_degrees", (F,), math.degrees)
    r("PI", (), lambda: math.pi)
    r("E", (), lambda: math.e)
    for name in (
        "sin",
        "cos",
        "tan",
        "sinh",
        "cosh",
        "tanh",
        "asin",
        "acos",
        "atan",
        "asinh",
        "acosh",
        "atanh",
    ):
        r(name, (F,), _safe(getattr(math, name)))
    r("atan", (F, F), _safe(math.atan2))
    r("hypot", (F, F), _safe(math.hypot))
    # Rhai's math functions take FLOAT only; ints are not converted implicitly.
    # bit fields
    r("get_bit", (I, I), _get_bit)
    r("set_bit", (I, I, bool), _set_bit, mutating=True)
    r("get_bits", (I, I, I), get_bits)
    r("get_bits", (I, RhaiRange), _get_bits_range)
    r("set_bits", (I, I, I, I), lambda v, s, n, x: (set_bits(v, s, n, x), None), mutating=True)
    r("set_bits", (I, RhaiRange, I), _set_bits_range, mutating=True)
    _register_u8(lib)
