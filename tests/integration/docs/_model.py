"""A plain-Python model of the documents query DSL (the semantics docs/documents.md states).

Tests compare the SQL the compiler produces against this model: written
independently of the compiler, over plain JSON values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["MISSING", "jeq", "matches", "model_find"]

MISSING = object()


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def jeq(a: Any, b: Any) -> bool:
    """JSON equality that never crosses types (``True != 1``, ``"1" != 1``)."""
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(jeq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(jeq(a[k], b[k]) for k in a)
    return bool(a == b)


def _get(doc: Any, path: str) -> Any:
    for seg in path.split("."):
        if not isinstance(doc, dict) or seg not in doc:
            return MISSING
        doc = doc[seg]
    return doc


_RANGE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _op(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return value is not MISSING and jeq(value, operand)
    if op == "$ne":
        return not _op(value, "$eq", operand)
    if op == "$in":
        return any(_op(value, "$eq", x) for x in operand)
    if op == "$exists":
        return (value is not MISSING) == operand
    if op == "$not":
        return not all(_op(value, k, v) for k, v in operand.items())
    if value is MISSING or _kind(value) != _kind(operand):
        return False
    return bool(_RANGE[op](value, operand))


def matches(doc: dict[str, Any], flt: dict[str, Any]) -> bool:
    """Whether ``doc`` matches the filter (modifiers ignored)."""
    for key, want in flt.items():
        if key in ("$sort", "$limit"):
            continue
        if key == "$and":
            ok = all(matches(doc, f) for f in want)
        elif key == "$or":
            ok = any(matches(doc, f) for f in want)
        elif key == "$not":
            ok = not matches(doc, want)
        else:
            value = _get(doc, key)
            if isinstance(want, dict) and want and all(k.startswith("$") for k in want):
                ok = all(_op(value, op, operand) for op, operand in want.items())
            else:
                ok = _op(value, "$eq", want)
        if not ok:
            return False
    return True


_RANK = {"null": 1, "boolean": 2, "number": 3, "string": 4, "array": 5, "object": 6}


def _sort_key(value: Any) -> tuple[Any, ...]:
    if value is MISSING:
        return (0,)
    kind = _kind(value)
    if kind in ("number", "string", "boolean"):
        return (_RANK[kind], value)
    return (_RANK[kind],)


def _sort_spec(spec: Any) -> list[tuple[str, bool]]:
    items = spec if isinstance(spec, list) else [spec]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item[1:], True) if item.startswith("-") else (item.lstrip("+"), False))
        else:
            ((k, d),) = item.items()
            out.append((k, d in (-1, "desc")))
    return out


def model_find(docs: Sequence[tuple[str, dict[str, Any]]], flt: dict[str, Any]) -> list[str]:
    """Ids (of ``(id, data)`` pairs in creation order) that ``find(flt)`` returns, in order."""
    rows = [(i, doc_id, d) for i, (doc_id, d) in enumerate(docs) if matches(d, flt)]
    if "$sort" in flt:
        for path, desc in reversed(_sort_spec(flt["$sort"])):
            rows.sort(key=lambda r, p=path: _sort_key(_get(r[2], p)), reverse=desc)
    ids = [doc_id for _, doc_id, _ in rows]
    return ids[: flt["$limit"]] if "$limit" in flt else ids
