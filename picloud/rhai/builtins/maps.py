"""Object map functions (Rhai's ``BasicMapPackage``) and ``to_json``.

Rhai maps are ordered by key (BTreeMap): ``keys``, ``values``, iteration and
JSON follow sorted key order whatever the dict's insertion order is.
"""

from __future__ import annotations

import json
from typing import Any

from picloud.rhai.builtins._util import call_elem
from picloud.rhai.builtins.operators import eq
from picloud.rhai.builtins.registry import CallContext, Library
from picloud.rhai.errors import ErrorMismatchOutputType, ErrorParsing
from picloud.rhai.values import (
    INT_MAX,
    INT_MIN,
    Char,
    FnPtr,
    debug_float,
    debug_string,
    deep_copy,
    to_debug,
    type_name,
)

__all__ = ["parse_json", "register", "to_json"]

M = dict
S = str
Any_ = None


def _get(m: dict[str, Any], k: str) -> Any:
    return m.get(k)


def _set(m: dict[str, Any], k: str, v: Any) -> tuple[dict[str, Any], None]:
    m[k] = v
    return m, None


def _clear(m: dict[str, Any]) -> tuple[dict[str, Any], None]:
    m.clear()
    return m, None


def _remove(m: dict[str, Any], k: str) -> tuple[dict[str, Any], Any]:
    return m, m.pop(k, None)


def _mixin(m: dict[str, Any], other: dict[str, Any]) -> tuple[dict[str, Any], None]:
    m.update(deep_copy(other))
    return m, None


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = deep_copy(a)
    out.update(deep_copy(b))
    return out


def _fill_with(m: dict[str, Any], other: dict[str, Any]) -> tuple[dict[str, Any], None]:
    for k, v in other.items():
        if k not in m:
            m[k] = deep_copy(v)
    return m, None


def _eq(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return eq(a, b) is True


def _keys(m: dict[str, Any]) -> list[Any]:
    return sorted(m)


def _values(m: dict[str, Any]) -> list[Any]:
    return [m[k] for k in sorted(m)]


def _map(ctx: CallContext, m: dict[str, Any], fp: FnPtr) -> dict[str, Any]:
    return {k: call_elem(ctx, fp, m[k], [k], [], 1) for k in sorted(m)}


def _filter(ctx: CallContext, m: dict[str, Any], fp: FnPtr) -> dict[str, Any]:
    return {k: m[k] for k in sorted(m) if call_elem(ctx, fp, m[k], [k], [], 1) is True}


def _partition(
    ctx: CallContext, m: dict[str, Any], fp: FnPtr, keep_if: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    kept: dict[str, Any] = {}
    out: dict[str, Any] = {}
    keys = sorted(m)
    done = 0
    try:
        for k in keys:
            hit = call_elem(ctx, fp, m[k], [k], [], 1) is True
            (kept if hit == keep_if else out)[k] = m[k]
            done += 1
    finally:
        # On error the unvisited entries stay, as Rhai keeps them.
        for k in keys[done:]:
            kept[k] = m[k]
        m.clear()
        m.update(kept)
    return m, out


def _drain(ctx: CallContext, m: dict[str, Any], fp: FnPtr) -> tuple[dict[str, Any], dict[str, Any]]:
    return _partition(ctx, m, fp, False)


def _retain(
    ctx: CallContext, m: dict[str, Any], fp: FnPtr
) -> tuple[dict[str, Any], dict[str, Any]]:
    return _partition(ctx, m, fp, True)


def _json_value(v: Any, out: list[str]) -> None:
    t = type(v)
    if v is None:
        out.append("null")
    elif t is dict:
        out.append(to_json(v))
    elif t is list:
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _json_value(x, out)
        out.append("]")
    elif t is bytearray:
        out.append("[" + ",".join(str(x) for x in v) + "]")
    elif t is FnPtr:
        if v.curry:
            out.append("[" + debug_string(v.name))
            for x in v.curry:
                out.append(",")
                _json_value(x, out)
            out.append("]")
        else:
            out.append(debug_string(v.name))
    elif t is str:
        out.append(debug_string(v))
    elif t is float:
        out.append(debug_float(v))
    elif t is Char:
        out.append("'" + ("\\'" if v == "'" else debug_string(v)[1:-1]) + "'")
    else:
        out.append(to_debug(v))


def to_json(m: dict[str, Any]) -> str:
    """Rhai's ``to_json`` (without the ``metadata`` feature): keys sorted, Rust debug forms."""
    out = ["{"]
    for i, k in enumerate(sorted(m)):
        if i:
            out.append(",")
        out.append(debug_string(k))
        out.append(":")
        _json_value(m[k], out)
    out.append("}")
    return "".join(out)


def _json_int(text: str) -> Any:
    n = int(text)
    # Past i64 the Rhai lexer reads a number literal as a float.
    return n if INT_MIN <= n <= INT_MAX else float(n)


def _json_const(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def parse_json(text: str) -> dict[str, Any]:
    """``parse_json``: a JSON object into a map (``null`` → ``()``); other JSON is an error."""
    try:
        v = json.loads(text, parse_int=_json_int, parse_constant=_json_const)
    except (ValueError, RecursionError) as e:
        raise ErrorParsing("BadInput", f"Invalid JSON: {e}") from None
    if type(v) is not dict:
        actual = "()" if v is None else type_name(v)
        raise ErrorMismatchOutputType(
            f"Output type incorrect: {actual} (expecting map)", requested="map", actual=actual
        )
    return v


def register(lib: Library) -> None:
    """Register the object map functions."""
    r = lib.register
    m = {"mutating": True}
    c = {"needs_ctx": True}
    r("len", (M,), len)
    r("is_empty", (M,), lambda d: not d)
    r("contains", (M, S), dict.__contains__)
    r("get", (M, S), _get)
    r("set", (M, S, Any_), _set, **m)
    r("clear", (M,), _clear, **m)
    r("remove", (M, S), _remove, **m)
    r("mixin", (M, M), _mixin, **m)
    r("+=", (M, M), _mixin, **m)
    r("+", (M, M), _merge)
    r("fill_with", (M, M), _fill_with, **m)
    r("==", (M, M), _eq)
    r("!=", (M, M), lambda a, b: not _eq(a, b))
    r("keys", (M,), _keys)
    r("values", (M,), _values)
    r("map", (M, FnPtr), _map, **c)
    r("filter", (M, FnPtr), _filter, **c)
    r("drain", (M, FnPtr), _drain, needs_ctx=True, mutating=True)
    r("retain", (M, FnPtr), _retain, needs_ctx=True, mutating=True)
    r("to_json", (M,), to_json)
    r("parse_json", (S,), parse_json)
