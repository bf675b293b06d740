"""Array functions (Rhai's ``BasicArrayPackage``).

Mutating functions change the list in place and return ``(list, result)``.
Functions taking a ``FnPtr`` call it through the ``CallContext``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from picloud.rhai.builtins._util import (
    acc_caller,
    call_elem,
    call_plain,
    direct,
    is_fn_not_found,
    item_caller,
    offset_len,
    range_start_len,
    too_large,
)
from picloud.rhai.builtins.operators import eq, ne
from picloud.rhai.builtins.registry import NO_THIS, NOT_BUILTIN, CallContext, Library
from picloud.rhai.errors import ErrorFunctionNotFound, RhaiError
from picloud.rhai.values import INT_MAX, Char, FnPtr, RhaiRange, data_size, deep_copy, type_name

__all__ = ["register", "sort_builtin", "sort_by"]

L = list
Any_ = None


def _truthy(v: Any) -> bool:
    return v is True


def _get(a: list[Any], i: int) -> Any:
    if not a:
        return None
    i, _ = offset_len(len(a), i, 0)
    return a[i] if i < len(a) else None


def _set(a: list[Any], i: int, v: Any) -> tuple[list[Any], None]:
    if a:
        i, _ = offset_len(len(a), i, 0)
        if i < len(a):
            a[i] = v
    return a, None


def _push(a: list[Any], v: Any) -> tuple[list[Any], None]:
    a.append(v)
    return a, None


def _append(a: list[Any], b: list[Any]) -> tuple[list[Any], None]:
    a.extend(deep_copy(b))
    return a, None


def _insert(a: list[Any], i: int, v: Any) -> tuple[list[Any], None]:
    if not a:
        a.append(v)
        return a, None
    i, _ = offset_len(len(a), i, 0)
    if i >= len(a):
        a.append(v)
    else:
        a.insert(i, v)
    return a, None


def _pad(ctx: CallContext, a: list[Any], n: int, v: Any) -> tuple[list[Any], None]:
    if n <= len(a):
        return a, None
    limit = ctx.options.max_array_size
    if limit:
        pad = n - len(a)
        ax, _, _ = data_size(a)
        vx, _, _ = data_size(v)
        if ax + pad + vx * pad > limit:
            raise too_large("Size of array")
    mutable = type(v) in (list, dict, bytearray)
    for _ in range(n - len(a)):
        a.append(deep_copy(v) if mutable else v)
    return a, None


def _pop(a: list[Any]) -> tuple[list[Any], Any]:
    return a, (a.pop() if a else None)


def _shift(a: list[Any]) -> tuple[list[Any], Any]:
    return a, (a.pop(0) if a else None)


def _remove(a: list[Any], i: int) -> tuple[list[Any], Any]:
    n = len(a)
    if i < 0:
        i += n
    if 0 <= i < n:
        return a, a.pop(i)
    return a, None


def _clear(a: list[Any]) -> tuple[list[Any], None]:
    a.clear()
    return a, None


def _truncate(a: list[Any], n: int) -> tuple[list[Any], None]:
    if n <= 0:
        a.clear()
    else:
        del a[n:]
    return a, None


def _chop(a: list[Any], n: int) -> tuple[list[Any], None]:
    if n <= 0:
        a.clear()
    elif n < len(a):
        del a[: len(a) - n]
    return a, None


def _reverse(a: list[Any]) -> tuple[list[Any], None]:
    a.reverse()
    return a, None


def _splice(a: list[Any], start: int, n: int, rep: list[Any]) -> tuple[list[Any], None]:
    rep = deep_copy(rep)
    if not a:
        a.extend(rep)
        return a, None
    s, k = offset_len(len(a), start, n)
    if s >= len(a):
        a.extend(rep)
    else:
        a[s : s + k] = rep
    return a, None


def _splice_range(a: list[Any], r: RhaiRange, rep: list[Any]) -> tuple[list[Any], None]:
    s, n = range_start_len(r)
    return _splice(a, s, n, rep)


def _extract(a: list[Any], start: int, n: int) -> list[Any]:
    if not a or n <= 0:
        return []
    s, k = offset_len(len(a), start, n)
    out: list[Any] = deep_copy(a[s : s + k])
    return out


def _extract_range(a: list[Any], r: RhaiRange) -> list[Any]:
    s, n = range_start_len(r)
    return _extract(a, s, n)


def _split_at(a: list[Any], i: int) -> tuple[list[Any], list[Any]]:
    if not a:
        return a, []
    s, _ = offset_len(len(a), i, INT_MAX)
    if s >= len(a):
        return a, []
    out = a[s:]
    del a[s:]
    return a, out


def _drain_range(a: list[Any], start: int, n: int) -> tuple[list[Any], list[Any]]:
    if not a or n <= 0:
        return a, []
    s, k = offset_len(len(a), start, n)
    out = a[s : s + k]
    del a[s : s + k]
    return a, out


def _drain_r(a: list[Any], r: RhaiRange) -> tuple[list[Any], list[Any]]:
    s, n = range_start_len(r)
    return _drain_range(a, s, n)


def _retain_range(a: list[Any], start: int, n: int) -> tuple[list[Any], list[Any]]:
    if not a or n <= 0:
        return a, []
    s, k = offset_len(len(a), start, n)
    out = a[:s] + a[s + k :]
    a[:] = a[s : s + k]
    return a, out


def _retain_r(a: list[Any], r: RhaiRange) -> tuple[list[Any], list[Any]]:
    s, n = range_start_len(r)
    return _retain_range(a, s, n)


# --------------------------------------------------------------------------- with callbacks


def _for_each(ctx: CallContext, a: list[Any], fp: FnPtr) -> tuple[list[Any], None]:
    for i in range(len(a)):
        _, new = call_elem(ctx, fp, a[i], [], [i], None, want_this=True)
        if new is not NO_THIS and i < len(a):
            a[i] = new
    return a, None


def _map(ctx: CallContext, a: list[Any], fp: FnPtr) -> list[Any]:
    h = item_caller(ctx, fp)
    return [h(x, i) for i, x in enumerate(list(a))]


def _filter(ctx: CallContext, a: list[Any], fp: FnPtr) -> list[Any]:
    h = item_caller(ctx, fp)
    return [x for i, x in enumerate(list(a)) if h(x, i) is True]


def _eq_item(x: Any, v: Any) -> bool:
    r = eq(x, v)
    return r is True


def _contains(a: list[Any], v: Any) -> bool:
    return any(_eq_item(x, v) for x in a)


def _index_of(a: list[Any], v: Any, start: int = 0) -> int:
    if not a:
        return -1
    s, _ = offset_len(len(a), start, 0)
    for i in range(s, len(a)):
        if _eq_item(a[i], v):
            return i
    return -1


def _index_of_fn(ctx: CallContext, a: list[Any], fp: FnPtr, start: int = 0) -> int:
    if not a:
        return -1
    s, _ = offset_len(len(a), start, 0)
    h = item_caller(ctx, fp)
    for i in range(s, len(a)):
        if h(a[i], i) is True:
            return i
    return -1


def _find(ctx: CallContext, a: list[Any], fp: FnPtr, start: int = 0) -> Any:
    i = _index_of_fn(ctx, a, fp, start)
    return None if i < 0 else a[i]


def _find_map(ctx: CallContext, a: list[Any], fp: FnPtr, start: int = 0) -> Any:
    if not a:
        return None
    s, _ = offset_len(len(a), start, 0)
    h = item_caller(ctx, fp)
    for i in range(s, len(a)):
        v = h(a[i], i)
        if v is not None:
            return v
    return None


def _some(ctx: CallContext, a: list[Any], fp: FnPtr) -> bool:
    h = item_caller(ctx, fp)
    return any(h(x, i) is True for i, x in enumerate(list(a)))


def _all(ctx: CallContext, a: list[Any], fp: FnPtr) -> bool:
    h = item_caller(ctx, fp)
    return all(h(x, i) is True for i, x in enumerate(list(a)))


def _dedup(a: list[Any]) -> tuple[list[Any], None]:
    out: list[Any] = []
    for x in a:
        if not out or not _eq_item(out[-1], x):
            out.append(x)
    a[:] = out
    return a, None


def _dedup_by(ctx: CallContext, a: list[Any], fp: FnPtr) -> tuple[list[Any], None]:
    out: list[Any] = []
    for x in a:
        if out:
            try:
                same = ctx.call(fp, [out[-1], x]) is True
            except RhaiError as e:
                if not e.catchable:
                    raise
                same = False
            if same:
                continue
        out.append(x)
    a[:] = out
    return a, None


def _reduce(ctx: CallContext, a: list[Any], fp: FnPtr, initial: Any = None) -> Any:
    acc = initial
    h = acc_caller(ctx, fp)
    for i, x in enumerate(list(a)):
        acc = h(acc, x, i)
    return acc


def _reduce_rev(ctx: CallContext, a: list[Any], fp: FnPtr, initial: Any = None) -> Any:
    acc = initial
    items = list(a)
    h = acc_caller(ctx, fp)
    for i in range(len(items) - 1, -1, -1):
        acc = h(acc, items[i], i)
    return acc


def _zip(ctx: CallContext, a: list[Any], b: list[Any], fp: FnPtr) -> list[Any]:
    return [call_plain(ctx, fp, [x, y], [i]) for i, (x, y) in enumerate(zip(list(a), b))]


def _drain_fn(ctx: CallContext, a: list[Any], fp: FnPtr) -> tuple[list[Any], list[Any]]:
    kept: list[Any] = []
    out: list[Any] = []
    items = list(a)
    h = item_caller(ctx, fp)
    try:
        for i, x in enumerate(items):
            (out if h(x, i) is True else kept).append(x)
    except BaseException:
        a[:] = kept + items[len(kept) + len(out) :]
        raise
    a[:] = kept
    return a, out


def _retain_fn(ctx: CallContext, a: list[Any], fp: FnPtr) -> tuple[list[Any], list[Any]]:
    kept: list[Any] = []
    out: list[Any] = []
    items = list(a)
    h = item_caller(ctx, fp)
    try:
        for i, x in enumerate(items):
            (kept if h(x, i) is True else out).append(x)
    except BaseException:
        a[:] = kept + items[len(kept) + len(out) :]
        raise
    a[:] = kept
    return a, out


# --------------------------------------------------------------------------- sorting

_SORTABLE = frozenset((int, float, str, Char, bool))


def _not_sortable(what: str) -> RhaiError:
    return ErrorFunctionNotFound(f"Function not found: {what}", function=what)


def sort_builtin(a: list[Any], descending: bool = False) -> None:
    """Sort in place by the natural order; elements must share one sortable type."""
    if len(a) <= 1:
        return
    t = type(a[0])
    for x in a:
        if type(x) is not t:
            raise _not_sortable("elements of different types cannot be sorted")
    if t is type(None):
        return
    if t not in _SORTABLE:
        raise _not_sortable(f"elements of {type_name(a[0])} cannot be sorted")
    if t is float and any(math.isnan(x) for x in a):
        # NaN compares equal to everything in Rhai's sort.
        def cmp(x: float, y: float) -> int:
            return (x > y) - (x < y)

        a.sort(key=functools.cmp_to_key(cmp), reverse=descending)
        return
    a.sort(reverse=descending)


def sort_by(ctx: CallContext, a: list[Any], fp: FnPtr) -> None:
    """Stable sort with a comparator returning an int (or bool: true = less)."""
    if len(a) <= 1:
        return
    f = direct(ctx, fp, 2)

    def cmp(x: Any, y: Any) -> int:
        try:
            v = f(x, y)
        except RhaiError as e:
            if not e.catchable:
                raise
            return 0  # Rhai ignores a failing comparator
        if type(v) is int:
            return v  # only its sign matters to the sort
        if v is True:
            return -1
        return 1 if v is False else 0

    a.sort(key=functools.cmp_to_key(cmp))


def _sort(a: list[Any]) -> tuple[list[Any], None]:
    sort_builtin(a)
    return a, None


def _sort_desc(a: list[Any]) -> tuple[list[Any], None]:
    sort_builtin(a, True)
    return a, None


def _sort_by(ctx: CallContext, a: list[Any], fp: FnPtr) -> tuple[list[Any], None]:
    sort_by(ctx, a, fp)
    return a, None


def _order(a: list[Any]) -> list[Any]:
    b = deep_copy(a)
    sort_builtin(b)
    return b  # type: ignore[no-any-return]


def _order_desc(a: list[Any]) -> list[Any]:
    b = deep_copy(a)
    sort_builtin(b, True)
    return b  # type: ignore[no-any-return]


def _order_by(ctx: CallContext, a: list[Any], fp: FnPtr) -> list[Any]:
    b = deep_copy(a)
    sort_by(ctx, b, fp)
    return b  # type: ignore[no-any-return]


def _eq(a: list[Any], b: list[Any]) -> bool:
    return eq(a, b) is True


def _ne(a: list[Any], b: list[Any]) -> bool:
    r = ne(a, b)
    return r is True or r is NOT_BUILTIN


# --------------------------------------------------------------------------- by function name (deprecated forms)


def _fp(name: str) -> FnPtr:
    if not name.isidentifier():
        raise ErrorFunctionNotFound(f"Function not found: {name}", function=name)
    return FnPtr(name)


def _by_name(f: Any) -> Any:
    """Adapt ``f(ctx, a, fp, ...)`` to take the function's name as a string."""

    def g(ctx: CallContext, a: list[Any], name: str, *rest: Any) -> Any:
        return f(ctx, a, _fp(name), *rest)

    return g


def _index_of_name(ctx: CallContext, a: list[Any], name: str, start: int = 0) -> int:
    # A string is first tried as a predicate's name, then searched for as a value.
    if not a:
        return -1
    if name.isidentifier():
        fp = FnPtr(name)
        try:
            return _index_of_fn(ctx, a, fp, start)
        except RhaiError as e:
            inner = e.fields.get("inner") if e.kind == "ErrorInFunctionCall" else e
            if not (isinstance(inner, RhaiError) and is_fn_not_found(inner, fp)):
                raise
    return _index_of(a, name, start)


# --------------------------------------------------------------------------- registry


def register(lib: Library) -> None:
    """Register the array functions."""
    r = lib.register
    m = {"mutating": True}
    c = {"needs_ctx": True}
    cm = {"needs_ctx": True, "mutating": True}
    I, F, S = int, FnPtr, str
    R = RhaiRange
    r("len", (L,), len)
    r("is_empty", (L,), lambda a: not a)
    r("get", (L, I), _get)
    r("set", (L, I, Any_), _set, **m)
    r("push", (L, Any_), _push, **m)
    r("+=", (L, Any_), _push, **m)
    r("append", (L, L), _append, **m)
    r("+=", (L, L), _append, **m)
    r("+", (L, L), lambda a, b: deep_copy(a) + deep_copy(b))
    r("insert", (L, I, Any_), _insert, **m)
    r("pad", (L, I, Any_), _pad, **cm)
    r("pop", (L,), _pop, **m)
    r("shift", (L,), _shift, **m)
    r("remove", (L, I), _remove, **m)
    r("clear", (L,), _clear, **m)
    r("truncate", (L, I), _truncate, **m)
    r("chop", (L, I), _chop, **m)
    r("reverse", (L,), _reverse, **m)
    r("splice", (L, I, I, L), _splice, **m)
    r("splice", (L, R, L), _splice_range, **m)
    r("extract", (L, I, I), _extract)
    r("extract", (L, I), lambda a, s: _extract(a, s, INT_MAX))
    r("extract", (L, R), _extract_range)
    r("split", (L, I), _split_at, **m)
    r("drain", (L, I, I), _drain_range, **m)
    r("drain", (L, R), _drain_r, **m)
    r("drain", (L, F), _drain_fn, **cm)
    r("retain", (L, I, I), _retain_range, **m)
    r("retain", (L, R), _retain_r, **m)
    r("retain", (L, F), _retain_fn, **cm)
    r("for_each", (L, F), _for_each, **cm)
    r("map", (L, F), _map, **c)
    r("filter", (L, F), _filter, **c)
    r("contains", (L, Any_), _contains)
    r("index_of", (L, Any_), _index_of)
    r("index_of", (L, Any_, I), _index_of)
    r("index_of", (L, F), _index_of_fn, **c)
    r("index_of", (L, F, I), _index_of_fn, **c)
    r("find", (L, F), _find, **c)
    r("find", (L, F, I), _find, **c)
    r("find_map", (L, F), _find_map, **c)
    r("find_map", (L, F, I), _find_map, **c)
    r("some", (L, F), _some, **c)
    r("all", (L, F), _all, **c)
    r("dedup", (L,), _dedup, **m)
    r("dedup", (L, F), _dedup_by, **cm)
    r("reduce", (L, F), _reduce, **c)
    r("reduce", (L, F, Any_), _reduce, **c)
    r("reduce_rev", (L, F), _reduce_rev, **c)
    r("reduce_rev", (L, F, Any_), _reduce_rev, **c)
    r("zip", (L, L, F), _zip, **c)
    r("sort", (L,), _sort, **m)
    r("sort_desc", (L,), _sort_desc, **m)
    r("sort", (L, F), _sort_by, **cm)
    r("sort_by", (L, F), _sort_by, **cm)
    r("order", (L,), _order)
    r("order_desc", (L,), _order_desc)
    r("order", (L, F), _order_by, **c)
    r("order_by", (L, F), _order_by, **c)
    for name, f, mut in (
        ("map", _map, False),
        ("filter", _filter, False),
        ("some", _some, False),
        ("all", _all, False),
        ("dedup", _dedup_by, True),
        ("reduce", _reduce, False),
        ("reduce_rev", _reduce_rev, False),
        ("sort", _sort_by, True),
        ("drain", _drain_fn, True),
        ("retain", _retain_fn, True),
    ):
        r(name, (L, S), _by_name(f), needs_ctx=True, mutating=mut)
    r("reduce", (L, S, Any_), _by_name(_reduce), **c)
    r("reduce_rev", (L, S, Any_), _by_name(_reduce_rev), **c)
    r("index_of", (L, S), _index_of_name, **c)
    r("index_of", (L, S, I), _index_of_name, **c)
    r("==", (L, L), _eq)
    r("!=", (L, L), _ne)
