"""Fast paths for array methods called with closures of the running script.

``map``/``filter``/``reduce``/``sort`` with a closure would otherwise go
through the library, the call context and the closure (three Python frames per
element). When the receiver is an array and the closure belongs to the running
unit with the plain ``(value)`` / ``(acc, value)`` / ``(a, b)`` shape, the loop
runs here with one frame per element; everything else falls back to
``runtime.call_method`` and so to the library's exact semantics.
"""

from __future__ import annotations

import functools
from typing import Any

from picloud.rhai import nodes as N
from picloud.rhai import runtime as R
from picloud.rhai.errors import Position, RhaiError
from picloud.rhai.values import FnPtr

__all__ = ["FAST_METHODS", "array_method", "sort_hint"]

#: Method names (with one closure argument) routed through ``array_method``.
FAST_METHODS = frozenset(("map", "filter", "reduce", "sort"))


def sort_hint(c: N.Closure) -> int:
    """+1 for ``|a, b| a - b``, -1 for ``|a, b| b - a``, 0 for anything else."""
    body: Any = c.body
    if (
        isinstance(body, N.Block)
        and len(body.statements) == 1
        and isinstance(body.statements[0], N.ExprStmt)
    ):
        body = body.statements[0].expr
    if len(c.params) != 2 or not isinstance(body, N.Binary) or body.op != "-":
        return 0
    lhs, rhs = body.lhs, body.rhs
    if (
        not (isinstance(lhs, N.Variable) and isinstance(rhs, N.Variable))
        or lhs.namespace
        or rhs.namespace
    ):
        return 0
    a, b = c.params
    if (lhs.name, rhs.name) == (a, b):
        return 1
    if (lhs.name, rhs.name) == (b, a):
        return -1
    return 0


_SAFE_INT = 1 << 62


def _closure(st: R.RunState, fp: Any, arity: int) -> Any:
    if type(fp) is not FnPtr or fp.curry:
        return None
    target = fp.fn
    if type(target) is R.Closure and target.arity == arity and target.unit is st.unit:
        return target
    return None


def array_method(
    st: R.RunState, d: int, name: str, args: list[Any], pos: Position, const: bool
) -> Any:
    """``arr.map(f)``, ``arr.filter(f)``, ``arr.reduce(f[, init])``, ``arr.sort(f)``."""
    a = args[0]
    if type(a) is list and len(args) >= 2 and not const:
        if name == "sort" and len(args) == 2:
            c = _closure(st, args[1], 2)
            if c is not None:
                _sort(st, d, c, a)
                return None
        elif name == "reduce" and len(args) in (2, 3):
            c = _closure(st, args[1], 2)
            if c is not None:
                fn = c.pyfn
                acc = args[2] if len(args) == 3 else None
                for x in list(a):
                    acc = fn(st, None, d + 1, acc, x)
                return acc
        elif len(args) == 2:
            c = _closure(st, args[1], 1)
            if c is not None:
                fn = c.pyfn
                if name == "map":
                    return [fn(st, None, d + 1, x) for x in a]
                if name == "filter":
                    return [x for x in list(a) if fn(st, None, d + 1, x) is True]
    return R.call_method(st, d, name, args, pos, const)


def _sort(st: R.RunState, d: int, c: R.Closure, a: list[Any]) -> None:
    hint = getattr(c.pyfn, "sort_hint", 0)
    if hint and all(type(x) is int and -_SAFE_INT < x < _SAFE_INT for x in a):
        # `a - b` / `b - a` on ints that cannot overflow: the natural order (both sorts are stable).
        a.sort(reverse=hint < 0)
        return
    fn = c.pyfn

    def cmp(x: Any, y: Any) -> int:
        try:
            v = fn(st, None, d + 1, x, y)
        except RhaiError as e:
            if not e.catchable:
                raise
            return 0  # Rhai ignores a failing comparator
        t = type(v)
        if t is int:
            return int(v > 0) - int(v < 0)
        if t is bool:
            return -1 if v else 1
        return 0

    a.sort(key=functools.cmp_to_key(cmp))
