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

__all__ = ["ARITH", "FLOAT_ARITH", "float_names", "int_names"]

#: Operators whose result is a FLOAT when one operand is a FLOAT and the other a number.
FLOAT_ARITH = frozenset(("+", "-", "*", "/", "%", "**"))

#: Operators whose result is an INT (or an error) when both operands are INTs.
ARITH = frozenset(("+", "-", "*", "/", "%", "**", "<<", ">>", "&", "|", "^"))


#: Built-in methods that never change their receiver (safe on typed variables unless a
#: script function of the same name exists).
PURE_METHODS = frozenset(
    (
        "to_float",
        "to_int",
        "to_string",
        "to_debug",
        "abs",
        "sign",
        "len",
        "is_odd",
        "is_even",
        "is_zero",
        "floor",
        "ceiling",
        "round",
        "sqrt",
        "type_of",
        "to_hex",
        "to_octal",
        "to_binary",
        "is_nan",
        "int",
        "fraction",
        "min",
        "max",
        "sin",
        "cos",
        "tan",
        "exp",
        "ln",
        "log",
    )
)


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


def float_typed(e: Any, floats: set[str], ints: set[str]) -> bool:
    """Whether ``e`` evaluates to a FLOAT (or fails) given the typed variables."""
    if isinstance(e, N.FloatLit):
        return True
    if isinstance(e, N.Variable):
        return not e.namespace and e.name in floats
    if isinstance(e, N.Unary):
        return e.op in ("-", "+") and float_typed(e.operand, floats, ints)
    if isinstance(e, N.Binary):
        if e.op not in FLOAT_ARITH:
            return False
        lf = float_typed(e.lhs, floats, ints)
        rf = float_typed(e.rhs, floats, ints)
        return (lf and (rf or int_typed(e.rhs, ints))) or (rf and int_typed(e.lhs, ints))
    if isinstance(e, N.MethodCall):
        return e.name == "to_float" and not e.args
    if isinstance(e, N.FnCall):
        return e.name == "to_float" and len(e.args) == 1 and not e.namespace and not e.capture
    return False


def float_names(
    body: Any,
    params: list[str],
    shared: set[str],
    ints: set[str],
    script_fns: frozenset[str] = frozenset(),
    info: Any = False,
) -> set[str]:
    """Variable names of one function body that provably hold only FLOATs."""
    if info is False:
        info = _collect(body, params, shared, script_fns)
    if info is None:
        return set()
    lets, assigns, excluded = info
    floats: set[str] = set(lets) - excluded - ints
    changed = True
    while changed:
        changed = False
        for name in list(floats):
            ok = all(float_typed(v, floats, ints) for v in lets[name])
            if ok:
                for target, op, value in assigns:
                    if target != name:
                        continue
                    if op == "=" and float_typed(value, floats, ints):
                        continue
                    if op[:-1] in FLOAT_ARITH and (
                        float_typed(value, floats, ints) or int_typed(value, ints)
                    ):
                        continue
                    ok = False
                    break
            if not ok:
                floats.discard(name)
                changed = True
    return floats


def int_names(
    body: Any,
    params: list[str],
    shared: set[str],
    script_fns: frozenset[str] = frozenset(),
    info: Any = False,
) -> set[str]:
    """Variable names of one function body that provably hold only INTs."""
    if info is False:
        info = _collect(body, params, shared, script_fns)
    if info is None:
        return set()
    lets, assigns, excluded = info
    ints: set[str] = set(lets) - excluded
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


def collect(body: Any, params: list[str], shared: set[str], script_fns: frozenset[str]) -> Any:
    """One walk of a function body shared by ``int_names`` and ``float_names``."""
    return _collect(body, params, shared, script_fns)


def _collect(body: Any, params: list[str], shared: set[str], script_fns: frozenset[str]) -> Any:
    """Lets, plain-variable assignments and disqualified names of one function body."""
    lets: dict[str, list[Any]] = {}
    assigns: list[tuple[str, str, Any]] = []
    excluded: set[str] = set(params) | set(shared)
    stack = [body]
    from picloud.rhai.compiler import children

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
            if (
                isinstance(it, N.Binary)
                and it.op in ("..", "..=")
                and not isinstance(it.rhs, N.UnitLit)
            ):
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
            pure = (
                x.name in PURE_METHODS
                and x.name not in script_fns
                and isinstance(x.target, N.Variable)
            )
            if r is not None and not pure:
                excluded.add(r)
        elif isinstance(x, N.FnCall):
            if x.capture or x.name == "eval":
                return None
            if x.args:
                r = _root(x.args[0])
                pure = (
                    x.name in PURE_METHODS
                    and x.name not in script_fns
                    and isinstance(x.args[0], N.Variable)
                )
                if r is not None and not pure:
                    excluded.add(r)
        elif isinstance(x, N.TryCatch) and x.catch_var:
            excluded.add(x.catch_var)
        stack.extend(children(x))
    return lets, assigns, excluded
