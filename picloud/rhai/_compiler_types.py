"""A small type inference: which variables of a function only ever hold INTs.

A variable name qualifies when every ``let`` and every assignment to it stores
an int-typed expression (int literals, qualifying variables, ``for`` over an
int range, and arithmetic of those), and nothing else can change it: it is not
captured by a closure, not a method receiver or write-back argument, not an
index/property assignment root, and the function has no ``eval`` or capture
call. Int arithmetic on such variables is emitted without type guards (the
overflow checks stay).
"""

from __future__ import annotations

from typing import Any

from picloud.rhai import nodes as N

__all__ = ["int_names", "ARITH"]

#: Operators whose result is an INT (or an error) when both operands are INTs.
ARITH = frozenset(("+", "-", "*", "/", "%", "**", "<<", ">>", "&", "|", "^"))


def _root(node: Any) -> str | None:
    while isinstance(node, (N.Index, N.Property, N.MethodCall)):
        node = node.target
    if isinstance(node, N.Variable) and not node.namespace:
        return node.name
    return None


def int_typed(e: Any, ints: set[str]) -> bool:
    """Whether ``e`` evaluates to an INT (or fails) when the ``ints`` variables are INTs."""
    if isinstance(e, N.IntLit):
        return True
    if isinstance(e, N.Variable):
        return not e.namespace and e.name in ints
    if isinstance(e, N.Unary):
        return e.op in ("-", "+") and int_typed(e.operand, ints)
    if isinstance(e, N.Binary):
        return e.op in ARITH and int_typed(e.lhs, ints) and int_typed(e.rhs, ints)
    return False


def int_names(body: Any, params: list[str], shared: set[str]) -> set[str]:
    """Variable names of one function body that provably hold only INTs."""
    lets: dict[str, list[Any]] = {}
    assigns: list[tuple[str, str, Any]] = []
    excluded: set[str] = set(params) | set(shared)
    stack = [body]
    from picloud.rhai.compiler import _fields

    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        if not isinstance(x, (N.Node, N.SwitchCase)) or isinstance(x, (N.Closure, N.FnDef)):
            continue
        if isinstance(x, N.Let):
            if x.value is None:
                excluded.add(x.name)
            else:
                lets.setdefault(x.name, []).append(x.value)
        elif isinstance(x, N.For):
            it = x.iterable
            if isinstance(it, N.Binary) and it.op in ("..", "..=") and not isinstance(it.rhs, N.UnitLit):
                lets.setdefault(x.var, []).append(N.IntLit(x.pos, 0))
            else:
                excluded.add(x.var)
            if x.index_var:
                lets.setdefault(x.index_var, []).append(N.IntLit(x.pos, 0))
        elif isinstance(x, N.Assign):
            t = x.target
            if isinstance(t, N.Variable) and not t.namespace:
                assigns.append((t.name, x.op, x.value))
            else:
                r = _root(t)
                if r is not None:
                    excluded.add(r)
        elif isinstance(x, N.MethodCall):
            r = _root(x.target)
            if r is not None:
                excluded.add(r)
        elif isinstance(x, N.FnCall):
            if x.capture or x.name == "eval":
                return set()
            if x.args:
                r = _root(x.args[0])
                if r is not None:
                    excluded.add(r)
        elif isinstance(x, N.TryCatch) and x.catch_var:
            excluded.add(x.catch_var)
        stack.extend(getattr(x, f) for f in _fields(x))
    ints = set(lets) - excluded
    changed = True
    while changed:
        changed = False
        for name in list(ints):
            ok = all(int_typed(v, ints) for v in lets[name])
            if ok:
                for target, op, value in assigns:
                    if target != name:
                        continue
                    if op == "=" and int_typed(value, ints):
                        continue
                    if op[:-1] in ARITH and int_typed(value, ints):
                        continue
                    ok = False
                    break
            if not ok:
                ints.discard(name)
                changed = True
    return ints
