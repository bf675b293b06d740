"""``json::parse(text)`` and ``json::stringify(value[, pretty])``.

JSON ↔ Rhai: objects ↔ maps (keys in Rhai's sorted order), arrays ↔ arrays,
integers that fit in 64 bits stay ``INT`` (larger ones become ``FLOAT``),
``null`` ↔ ``()``. Blobs stringify as standard base64 text; chars as strings.
Function pointers, ranges, timestamps and host objects cannot be stringified.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any

from picloud.rhai.values import INT_MAX, INT_MIN, type_name
from picloud.sdk._common import fail, namespace, want_bool, want_str

__all__ = ["MAX_DEPTH", "from_json", "json_members", "to_json"]

#: Deepest nesting of arrays/maps accepted either way.
MAX_DEPTH = 256

_P = "json"


def _bad_constant(name: str) -> Any:
    fail(_P, f"parse: {name} is not valid JSON")


def _to_rhai(v: Any, depth: int) -> Any:
    t = type(v)
    if t is dict:
        if depth >= MAX_DEPTH:
            fail(_P, "parse: nesting too deep")
        return {k: _to_rhai(v[k], depth + 1) for k in sorted(v)}
    if t is list:
        if depth >= MAX_DEPTH:
            fail(_P, "parse: nesting too deep")
        return [_to_rhai(x, depth + 1) for x in v]
    if t is int and not INT_MIN <= v <= INT_MAX:
        return float(v)
    return v


def from_json(text: str) -> Any:
    """Parse JSON text into Rhai values (raises the ``json:`` error on bad input)."""
    try:
        raw = json.loads(text, parse_constant=_bad_constant)
    except json.JSONDecodeError as e:
        fail(_P, f"parse: {e.msg} at line {e.lineno}, column {e.colno}")
    except RecursionError:
        fail(_P, "parse: nesting too deep")
    except ValueError:
        # Python refuses integer literals of more than 4300 digits.
        fail(_P, "parse: number too large")
    return _to_rhai(raw, 0)


def _to_plain(v: Any, depth: int) -> Any:
    t = type(v)
    if v is None or t is bool or t is int or t is str:
        return v
    if t is float:
        if not math.isfinite(v):
            fail(_P, f"stringify: {v} cannot be represented in JSON")
        return v
    if isinstance(v, str):  # char
        return str(v)
    if t is list or t is dict:
        if depth >= MAX_DEPTH:
            fail(_P, "stringify: nesting too deep")
        if t is list:
            return [_to_plain(x, depth + 1) for x in v]
        return {str(k): _to_plain(v[k], depth + 1) for k in sorted(v)}
    if t is bytearray:
        return base64.b64encode(v).decode("ascii")
    fail(_P, f"stringify: a {type_name(v)} cannot be represented in JSON")


def to_json(value: Any, pretty: bool = False) -> str:
    """Render a Rhai value as JSON text (compact, or indented by two spaces)."""
    plain = _to_plain(value, 0)
    if pretty:
        return json.dumps(plain, ensure_ascii=False, indent=2, allow_nan=False)
    return json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _parse(text: Any) -> Any:
    """``json::parse(text)``."""
    return from_json(want_str(_P, "parse", text))


def _stringify(value: Any, pretty: Any = False) -> str:
    """``json::stringify(value[, pretty])``."""
    return to_json(value, want_bool(_P, "stringify", pretty, "a bool for pretty"))


def json_members() -> dict[str, Callable[..., Any]]:
    """The ``json::`` namespace."""
    return namespace(_P, {"parse": _parse, "stringify": _stringify})
