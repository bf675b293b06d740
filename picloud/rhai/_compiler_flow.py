"""Code generation for ``if``, ``switch``, loops and jumps."""

from __future__ import annotations

from typing import Any

from picloud.rhai import nodes as N
from picloud.rhai.values import Char, RhaiRange

__all__ = ["for_", "if_", "jump", "loop", "switch"]

_TABLE_TYPES = (int, str, Char, bool)


def _branch(c: Any, block: N.Expr | None, dest: str | None) -> None:
    """Compile a branch body one indentation level deeper."""
    c.fx.indent += 1
    if block is None:
        if dest is not None:
            c.emit_dest(dest, "None")
        else:
            c.emit("pass")
    else:
        m = c.mark()
        c.expr_into(block, dest)
        if c.mark() == m:
            c.emit("pass")
    c.fx.indent -= 1


def if_(c: Any, n: N.If, dest: str | None) -> None:
    """``if`` / ``else if`` / ``else``."""
    c.emit(f"if {c.cond(n.condition)}:")
    _branch(c, n.then, dest)
    other = n.otherwise
    while other is not None:
        stmts = other.statements
        if len(stmts) == 1 and isinstance(stmts[0], N.ExprStmt) and isinstance(stmts[0].expr, N.If):
            nested = stmts[0].expr
            cond, lines = c.capture(lambda nested=nested: c.cond(nested.condition))
            if lines:
                break
            c.ops(c.count(nested.condition))
            c.emit(f"elif {cond}:")
            _branch(c, nested.then, dest)
            other = nested.otherwise
            continue
        break
    if other is not None or dest is not None:
        c.emit("else:")
        _branch(c, other, dest)


def _pure_const(node: Any) -> bool:
    return isinstance(node, (N.IntLit, N.FloatLit, N.StringLit, N.CharLit, N.BoolLit, N.UnitLit))


def _const_value(node: Any) -> Any:
    if isinstance(node, N.CharLit):
        return Char(node.value)
    if isinstance(node, N.UnitLit):
        return None
    return node.value


def switch(c: Any, n: N.Switch, dest: str | None) -> None:
    """``switch``: a dict lookup for literal cases, an ``if`` chain for the rest."""
    s = c.atom(c.expr(n.subject))
    exact = [(i, k) for i, k in enumerate(n.cases) if not k.is_range]
    ranges = [(i, k) for i, k in enumerate(n.cases) if k.is_range]
    types = {type(v) for _, k in exact for v in k.constants}
    table_ok = (
        all(k.condition is None for _, k in exact)
        and len(types) <= 1
        and all(t in _TABLE_TYPES for t in types)
    )
    if table_ok:
        t = next(iter(types)) if types else int
        tname = c.const(t)
        table: dict[Any, int] = {}
        for i, k in exact:
            for v in k.constants:
                table.setdefault(v, i)
        bodies_pure = all(_pure_const(k.body) for k in n.cases) and (
            n.default is None or _pure_const(n.default)
        )
        if bodies_pure and not ranges and dest is not None:
            vt = {v: _const_value(n.cases[i].body) for v, i in table.items()}
            dv = c.const(_const_value(n.default) if n.default is not None else None)
            code = f"({c.const(vt)}.get({s}, {dv}) if type({s}) is {tname} else {dv})"
            c.emit_dest(dest, code)
            return
        iv = c.tmp("i")
        c.emit(f"{iv} = {c.const(table)}.get({s}, -1) if type({s}) is {tname} else -1")
        if ranges:
            c.emit(f"if {iv} == -1:")
            c.fx.indent += 1
            arms = [
                (
                    " or ".join(_range_test(c, s, r) for r in k.constants),
                    k.condition,
                    (lambda i=i: c.emit(f"{iv} = {i}")),
                )
                for i, k in ranges
            ]
            _chain(c, arms, None)
            c.fx.indent -= 1
        first = True
        for i, k in enumerate(n.cases):
            if i not in table.values() and not k.is_range:
                continue
            c.emit(f"{'if' if first else 'elif'} {iv} == {i}:")
            _branch(c, k.body, dest)
            first = False
        if first:
            _branch_flat(c, n.default, dest)
            return
        if n.default is not None or dest is not None:
            c.emit("else:")
            _branch(c, n.default, dest)
        return
    arms = []
    for _i, k in exact + ranges:
        test = " or ".join(
            _range_test(c, s, v) if isinstance(v, RhaiRange) else f"_h_sweq({s}, {c.const(v)})"
            for v in k.constants
        )
        arms.append((test, k.condition, (lambda k=k: _branch_flat(c, k.body, dest))))
    default = (
        (lambda: _branch_flat(c, n.default, dest))
        if (n.default is not None or dest is not None)
        else None
    )
    _chain(c, arms, default)


def _chain(c: Any, arms: list[tuple[str, Any, Any]], default: Any) -> None:
    """``if/elif/else`` over (test, guard, body) arms; a flag chain when guards need statements."""
    guards: list[tuple[str | None, list[str]]] = []
    flag_mode = False
    for _test, guard, _body in arms:
        if guard is None:
            guards.append((None, []))
            continue
        code, lines = c.capture(lambda g=guard: c.cond(g))
        guards.append((code, lines))
        flag_mode = flag_mode or bool(lines)
    if not arms:
        if default is not None:
            default()
        return
    if not flag_mode:
        for j, ((test, _g, body), (gcode, _l)) in enumerate(zip(arms, guards)):
            g = f" and {gcode}" if gcode is not None else ""
            c.emit(f"{'if' if j == 0 else 'elif'} ({test}){g}:")
            _indented(c, body)
        if default is not None:
            c.emit("else:")
            _indented(c, default)
        return
    m = c.tmp("m")
    c.emit(f"{m} = True")
    for (test, _g, body), (gcode, lines) in zip(arms, guards):
        c.emit(f"if {m} and ({test}):")
        c.fx.indent += 1
        if gcode is not None:
            c.fx.lines.extend(_reindent(lines, 1))
            c.emit(f"if {gcode}:")
            c.fx.indent += 1
        c.emit(f"{m} = False")
        body()
        if gcode is not None:
            c.fx.indent -= 1
        c.fx.indent -= 1
    if default is not None:
        c.emit(f"if {m}:")
        _indented(c, default)


def _reindent(lines: list[str], levels: int) -> list[str]:
    return ["    " * levels + ln for ln in lines]


def _indented(c: Any, body: Any) -> None:
    c.fx.indent += 1
    m = c.mark()
    body()
    if c.mark() == m:
        c.emit("pass")
    c.fx.indent -= 1


def _branch_flat(c: Any, body: Any, dest: str | None) -> None:
    if body is None:
        if dest is not None:
            c.emit_dest(dest, "None")
    else:
        c.expr_into(body, dest)


def _range_test(c: Any, s: str, r: Any) -> str:
    if not isinstance(r, RhaiRange):
        return "False"
    # A range subject matches an equal range case; numbers match by containment.
    return (
        f"(type({s}) is int and {c.const(r.start)} <= {s} < {c.const(r.stop)}"
        f" or _h_sweq({s}, {c.const(r)}))"
    )


def _loop_target(c: Any, dest: str | None) -> str | None:
    if dest is None:
        return None
    t = dest if dest != "ret" else c.tmp()
    c.emit(f"{t} = None")
    return t


def _body(c: Any, body: N.Block) -> None:
    c.fx.indent += 1
    c.push_block()
    m = c.mark()
    c._loop_body_next = True
    c.block_stmts(body.statements, None)
    if c.mark() == m:
        c.emit("pass")
    c.pop_block()
    c.fx.indent -= 1


def loop(c: Any, n: Any, dest: str | None) -> None:
    """``while``, ``loop`` and ``do … while/until``."""
    brk = _loop_target(c, dest)
    c.fx.loops.append(brk)
    if isinstance(n, N.While):
        cond, lines = c.capture(lambda: c.cond(n.condition))
        if not lines and not c.checks:
            c.emit(f"while {cond}:")
        else:
            c.emit("while True:")
            c.fx.indent += 1
            c.ops(c.count(n.condition) + 1)
            c.put(lines)
            c.emit(f"if not {cond}: break")
            c.fx.indent -= 1
        _body(c, n.body)
    elif isinstance(n, N.Loop):
        c.emit("while True:")
        c.fx.indent += 1
        c.ops(1)
        c.fx.indent -= 1
        _body(c, n.body)
    else:
        first = c.tmp("f")
        c.emit(f"{first} = True")
        c.emit("while True:")
        c.fx.indent += 1
        c.ops(1)
        c.emit(f"if not {first}:")
        c.fx.indent += 1
        cond = c.cond(n.condition)
        c.emit(f"if {cond}: break" if n.until else f"if not {cond}: break")
        c.fx.indent -= 1
        c.emit(f"{first} = False")
        c.fx.indent -= 1
        _body(c, n.body)
    c.fx.loops.pop()
    if dest == "ret":
        c.emit(f"return {brk}")


def for_(c: Any, n: N.For, dest: str | None) -> None:
    """``for x in iterable`` / ``for (x, i) in iterable``."""
    p = c.pos(n)
    it = n.iterable
    if isinstance(it, N.Binary) and it.op in ("..", "..="):
        a, b = c.seq([it.lhs, it.rhs])
        src = f"_h_forrange({a}, {b}, {it.op == '..='}, {p})"
    else:
        from picloud.rhai._compiler_expr import is_lvalue

        v = c.expr(it)
        src = f"_h_iter({v}, {is_lvalue(it)}, {p})"
    brk = _loop_target(c, dest)
    c.fx.loops.append(brk)
    c.push_block()
    var = c.declare(n.var, False, p)
    idx = c.declare(n.index_var, False, p) if n.index_var else None
    item = c.tmp("x") if var.shared else var.py
    if var.shared:
        c.emit(f"{var.py} = _h_Shared(None)")
    if idx is not None and idx.shared:
        c.emit(f"{idx.py} = _h_Shared(None)")
    ipy = (c.tmp("n") if idx.shared else idx.py) if idx is not None else None
    if ipy is not None:
        c.emit(f"for {ipy}, {item} in enumerate({src}):")
    else:
        c.emit(f"for {item} in {src}:")
    c.fx.indent += 1
    if var.shared:
        c.emit(f"{var.py}.v = {item}")
    if idx is not None and idx.shared:
        c.emit(f"{idx.py}.v = {ipy}")
    c.ops(1)
    c.fx.indent -= 1
    _body(c, n.body)
    c.pop_block()
    c.fx.loops.pop()
    if dest == "ret":
        c.emit(f"return {brk}")


def jump(c: Any, n: Any) -> None:
    """``break``, ``continue``, ``return`` and ``throw``."""
    p = c.pos(n)
    if isinstance(n, N.Break):
        brk = c.fx.loops[-1] if c.fx.loops else None
        if n.value is not None:
            v = c.value_of(n.value)
            if brk is not None:
                c.emit(f"{brk} = {v}")
            else:
                c.emit_dest(None, v)
        c.emit("break")
    elif isinstance(n, N.Continue):
        c.emit("continue")
    elif isinstance(n, N.Return):
        v = c.value_of(n.value) if n.value is not None else "None"
        c.emit(f"return {v}")
    else:
        if n.value is None and c.fx.catches:
            c.emit(f"raise {c.fx.catches[-1]}")
        else:
            v = c.value_of(n.value) if n.value is not None else "None"
            c.emit(f"raise _h_mkthrow({v}, {p})")
