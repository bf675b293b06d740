"""Runtime representation of Rhai values (the contract between compiler and library).

=========  ==========================  =========================================
Rhai       Python                      note
=========  ==========================  =========================================
INT        ``int``                     never ``bool``: test with ``type(x) is int``
FLOAT      ``float``
bool       ``bool``
string     ``str``                     immutable; "mutating" methods write back
char       ``Char`` (``str`` subclass)  exactly one code point
()         ``None``
array      ``list``                    a value: copied on assignment
map        ``dict[str, Any]``          a value; Rhai orders keys (BTreeMap)
Blob       ``bytearray``
timestamp  ``Timestamp``
range      ``RhaiRange``               ``a..b`` / ``a..=b``
Fn         ``FnPtr``
host type  any other object            named through ``HOST_TYPE_NAMES``
=========  ==========================  =========================================

Besides the classes this module holds the value-level helpers every layer
shares: ``type_name``, ``to_display`` / ``to_debug`` (Rhai's print and debug
forms), ``data_size``, ``deep_copy``, ``iterate`` and the indexing helpers
``get_index`` / ``set_index`` / ``get_property``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from picloud.rhai.errors import (
    ErrorFor,
)

__all__ = [
    "HOST_TO_DEBUG",
    "HOST_TO_STRING",
    "HOST_TYPE_NAMES",
    "INT_MAX",
    "INT_MIN",
    "U8",
    "Char",
    "FnPtr",
    "RhaiIter",
    "RhaiRange",
    "Timestamp",
    "data_size",
    "debug_float",
    "debug_string",
    "deep_copy",
    "format_float",
    "iterate",
    "sorted_map",
    "to_debug",
    "to_display",
    "type_name",
]

INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1


class Char(str):
    """A Rhai ``char``: a one-code-point string that is a distinct type."""

    __slots__ = ()


class U8(int):
    """A byte as Rhai's blob iterator yields it: a distinct ``u8`` type, not an ``INT``."""

    __slots__ = ()


class RhaiRange:
    """An integer range ``start..end`` (exclusive) or ``start..=end`` (inclusive)."""

    __slots__ = ("end", "inclusive", "start")

    def __init__(self, start: int, end: int, inclusive: bool = False) -> None:
        self.start = start
        self.end = end
        self.inclusive = inclusive

    @property
    def stop(self) -> int:
        """The exclusive upper bound as Python counts it."""
        return self.end + 1 if self.inclusive else self.end

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RhaiRange)
            and self.start == other.start
            and self.end == other.end
            and self.inclusive == other.inclusive
        )

    def __hash__(self) -> int:
        return hash((self.start, self.end, self.inclusive))

    def __repr__(self) -> str:
        return f"{self.start}..{'=' if self.inclusive else ''}{self.end}"


class FnPtr:
    """A function pointer: a function name, curried arguments and, for closures,
    the compiled function object the compiler attaches (opaque to the library)."""

    __slots__ = ("curry", "fn", "name")

    def __init__(self, name: str, curry: tuple[Any, ...] = (), fn: Any = None) -> None:
        self.name = name
        self.curry = curry
        self.fn = fn

    def __repr__(self) -> str:
        return f"Fn({self.name})"


class Timestamp:
    """A monotonic instant (Rhai's ``timestamp``), in seconds as a float."""

    __slots__ = ("t",)

    def __init__(self, t: float | None = None) -> None:
        self.t = time.monotonic() if t is None else t

    def __repr__(self) -> str:
        return "<timestamp>"


# --------------------------------------------------------------------------- names

#: Display names of host types (``type_of`` and error texts); the engine fills it.
HOST_TYPE_NAMES: dict[type, str] = {}
#: ``to_string`` / ``to_debug`` of host types (the engine fills them from registered
#: functions); without an entry a host value shows as its type name.
HOST_TO_STRING: dict[type, Callable[[Any], str]] = {}
HOST_TO_DEBUG: dict[type, Callable[[Any], str]] = {}

_TYPE_NAMES: dict[type, str] = {
    int: "i64",
    float: "f64",
    bool: "bool",
    str: "string",
    Char: "char",
    type(None): "()",
    list: "array",
    dict: "map",
    bytearray: "blob",
    Timestamp: "timestamp",
    FnPtr: "Fn",
    U8: "u8",
}


def type_name(v: Any) -> str:
    """Rhai's ``type_of`` name of a value (host types via ``HOST_TYPE_NAMES``)."""
    t = type(v)
    name = _TYPE_NAMES.get(t)
    if name is not None:
        return name
    if t is RhaiRange:
        return "range=" if v.inclusive else "range"
    name = HOST_TYPE_NAMES.get(t)
    if name is not None:
        return name
    return t.__name__


# --------------------------------------------------------------------------- floats

# Rhai stores its display thresholds as f32, so they are not exactly 1e13 / 1e-13.
_MAX_NATURAL = 9999999827968.0
_MIN_NATURAL = 9.9999998245167e-14


def _exp_form(x: float) -> str:
    """Rust's ``{:e}``: shortest digits, ``1.5e-7`` / ``1e14`` (no ``+``, no padding)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    sign, digits, exp = Decimal(repr(x)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    e = len(digits) - 1 + int(exp)
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    return f"{'-' if sign else ''}{mant}e{e}"


def _plain(x: float) -> str:
    """Rust's ``{}`` for f64: shortest round-trip digits, never an exponent."""
    r = repr(x)
    if math.isnan(x):
        return "NaN"
    if r in ("inf", "-inf"):
        return r
    return format(Decimal(r), "f")


def format_float(x: float) -> str:
    """Rhai's display form of a FLOAT (``print``, ``to_string``, interpolation)."""
    a = abs(x)
    if a == 0.0:
        return "0.0"
    if a > _MAX_NATURAL or a < _MIN_NATURAL:
        return _exp_form(x)
    r = repr(x)
    if "e" not in r:
        if r == "nan":
            return "NaN"
        return r  # Python's repr already has Rust's shortest digits and ".0" form
    return _plain(x)


def debug_float(x: float) -> str:
    """Rust's ``{:?}`` for f64 (floats inside arrays/maps and ``to_debug``)."""
    r = repr(x)
    if "e" in r:
        return _exp_form(x)
    if r == "nan":
        return "NaN"
    return r


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def debug_string(s: str) -> str:
    """Rust's ``{:?}`` for a string: double-quoted with escapes."""
    out = []
    for c in s:
        e = _ESCAPES.get(c)
        if e is not None:
            out.append(e)
        elif c < " " or "\x7f" <= c < "\xa0":
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


# --------------------------------------------------------------------------- display


def _blob_debug(b: bytearray) -> str:
    h = b.hex()
    # A space every eight bytes, as Rhai prints blobs.
    return "[" + " ".join(h[i : i + 16] for i in range(0, len(h), 16)) + "]"


def _range_text(r: RhaiRange) -> str:
    if r.end == INT_MAX:
        return f"{r.start}..=" if r.inclusive else f"{r.start}.."
    return f"{r.start}..={r.end}" if r.inclusive else f"{r.start}..{r.end}"


def to_display(v: Any) -> str:
    """Rhai's ``to_string`` / print form of any value (``()`` is empty)."""
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is int:
        return str(v)
    if t is Char:
        return str(v)  # a plain string, not a Char
    if t is float:
        return format_float(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return ""
    return _compound(v, t)


def to_debug(v: Any) -> str:
    """Rhai's ``to_debug`` / debug form: strings quoted, ``()`` shown, chars bare."""
    t = type(v)
    if t is str:
        return debug_string(v)
    if t is int:
        return str(v)
    if t is float:
        return debug_float(v)
    if t is bool:
        return "true" if v else "false"
    if t is Char:
        # Rhai's native `to_debug` for char returns the bare character.
        return str(v)
    if v is None:
        return "()"
    if t is RhaiRange:
        # Rust's Debug of a range spells out an open end (Display writes `5..`).
        return f"{v.start}..={v.end}" if v.inclusive else f"{v.start}..{v.end}"
    if t in HOST_TO_DEBUG:
        return str(HOST_TO_DEBUG[t](v))
    return _compound(v, t)


def _compound(v: Any, t: type) -> str:
    if t is list:
        return "[" + ", ".join([to_debug(x) for x in v]) + "]"
    if t is dict:
        return "#{" + ", ".join([f"{debug_string(k)}: {to_debug(v[k])}" for k in sorted(v)]) + "}"
    if t is bytearray:
        return _blob_debug(v)
    if t is RhaiRange:
        return _range_text(v)
    if t is FnPtr:
        return f"Fn({v.name})"
    if t is Timestamp:
        return "<timestamp>"
    if t is U8:
        return str(int(v))
    return _host_text(v, t, HOST_TO_STRING)


def _host_text(v: Any, t: type, table: dict[type, Any]) -> str:
    f = table.get(t)
    if f is not None:
        return str(f(v))
    hook = getattr(v, "__rhai_display__", None)
    if hook is not None:
        return str(hook())
    return type_name(v)


def sorted_map(m: dict[str, Any]) -> dict[str, Any]:
    """The map with its keys in Rhai's (BTreeMap) order."""
    return {k: m[k] for k in sorted(m)}


# --------------------------------------------------------------------------- sizes / copies


def data_size(v: Any) -> tuple[int, int, int]:
    """``(array_elements, map_entries, string_bytes)`` counted recursively as Rhai does."""
    t = type(v)
    if t is str or t is Char:
        return 0, 0, len(v.encode("utf-8")) if not v.isascii() else len(v)
    if t is list:
        return _sizes(v)
    if t is dict:
        return _sizes(v.values(), is_map=True)
    if t is bytearray:
        return len(v), 0, 0
    return 0, 0, 0


def _sizes(items: Any, is_map: bool = False) -> tuple[int, int, int]:
    a = m = s = 0
    for x in items:
        if is_map:
            m += 1
        else:
            a += 1
        t = type(x)
        if t is list:
            a2, m2, s2 = _sizes(x)
        elif t is dict:
            a2, m2, s2 = _sizes(x.values(), is_map=True)
        elif t is str:
            s += len(x) if x.isascii() else len(x.encode("utf-8"))
            continue
        elif t is bytearray:
            a += 1 + len(x)
            continue
        else:
            continue
        a += a2
        m += m2
        s += s2
    return a, m, s


def deep_copy(v: Any) -> Any:
    """A copy with value semantics: nested arrays, maps and blobs are copied."""
    t = type(v)
    # Shallow C-level copies first; nested containers are rare, so look for them after.
    if t is dict:
        d = v.copy()
        for x in d.values():
            if type(x) in _MUTABLE:
                for k, y in d.items():
                    if type(y) in _MUTABLE:
                        d[k] = deep_copy(y)
                break
        return d
    if t is list:
        out = v.copy()
        for x in out:
            if type(x) in _MUTABLE:
                return [deep_copy(y) if type(y) in _MUTABLE else y for y in v]
        return out
    if t is bytearray:
        return bytearray(v)
    return v


_MUTABLE = frozenset((list, dict, bytearray))


# --------------------------------------------------------------------------- iteration


def iterate(v: Any) -> Any:
    """The Python iterable a ``for`` loop walks over; ``ErrorFor`` when not iterable.

    Arrays yield their elements (the compiler copies containers it binds),
    strings chars, blobs ``U8`` bytes, ranges ints. Iterators made by ``range()``,
    ``chars()``, ``bits()``, ``keys()`` are returned as they are.
    """
    t = type(v)
    if t is RhaiRange:
        return range(v.start, v.end + 1 if v.inclusive else v.end)
    if t is list:
        return v
    if t is str:
        return [Char(c) for c in v]
    if t is bytearray:
        # Rhai's blob iterator yields `u8` values, which do not mix with INT arithmetic.
        return [U8(b) for b in v]
    if t is RhaiIter:
        return v.it
    raise ErrorFor("For loop expects iterable type")


class RhaiIter:
    """An iterator value produced by ``range(...)``, ``chars(...)``, ``bits(...)``."""

    __slots__ = ("it",)

    def __init__(self, it: Any) -> None:
        self.it = it

    def __iter__(self) -> Any:
        return iter(self.it)


_TYPE_NAMES[RhaiIter] = "iterator"


# --------------------------------------------------------------------------- indexing

_INDEXING = frozenset(
    ("get_index", "set_index", "get_property", "array_bounds", "string_bounds", "bit_bounds")
)


def __getattr__(name: str) -> Any:
    """The indexing helpers live in ``builtins.indexing``; they are re-exported here."""
    if name in _INDEXING:
        from picloud.rhai.builtins import indexing

        return getattr(indexing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
