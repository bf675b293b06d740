"""Code generation for function calls, method calls, ``eval`` and capture calls."""

from __future__ import annotations

from typing import Any

from picloud.rhai import nodes as N
from picloud.rhai._compiler_expr import is_lvalue
from picloud.rhai._compiler_fast import FAST_METHODS
from picloud.rhai._compiler_types import PURE_METHODS
from picloud.rhai.values import FnPtr

__all__ = ["fn_call", "method_call"]


#: Built-in functions that never change their first argument: called without write-back
#: (unless a script function of the same name shadows them, checked before this).
_NO_WRITE_BACK = PURE_METHODS | {
    "print",
    "debug",
    "parse_int",
    "parse_float",
    "is_def_var",
    "is_def_fn",
}


def _ident_ok(s: str) -> bool:
    return (
        bool(s)
        and (s[0].isascii() and (s[0].isalpha() or s[0] == "_"))
        and all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in s)
    )


def fn_call(c: Any, n: N.FnCall) -> str:
    """``name(args)``, ``m::name(args)``, ``name!(args)``."""
    p = c.pos(n)
    name = n.name
    args = n.args
    k = c.const(name)
    if n.namespace and n.namespace != ("global",):
        vals = c.seq(args, copy=True)
        return f"_h_modcall(st, d, {c.module_ref(n.namespace, p)}, {k}, [{', '.join(vals)}], {p})"
    key = (name, len(args))
    if n.capture:
        return _capture_call(c, n, p)
    if key in c.fn_arities:
        vals = c.seq(args, copy=True)
        return f"{c.fn_py[key]}(st, None, d + 1{''.join(', ' + v for v in vals)})"
    if key in c.extern_fns:
        vals = c.seq(args, copy=True)
        return f"_h_callnamed(st, d, {k}, [{', '.join(vals)}], {p})"
    if (
        name == "Fn"
        and len(args) == 1
        and isinstance(args[0], N.StringLit)
        and _ident_ok(args[0].value)
    ):
        return str(c.const(FnPtr(args[0].value)))
    if name == "is_def_var" and len(args) == 1:
        if isinstance(args[0], N.StringLit) and c.lookup(args[0].value) is not None:
            return "True"
        v = c.expr(args[0])
        return f"_h_isdefvar(st, {v})"
    if name == "is_shared" and len(args) == 1:
        a = args[0]
        if isinstance(a, N.Variable) and not a.namespace:
            var = c.lookup(a.name)
            if var is not None:
                return "True" if var.shared else "False"
        v = c.expr(a)
        return f"(({v}) and False)"
    if name == "eval" and len(args) == 1:
        return _eval(c, args[0], p)
    if args and is_lvalue(args[0]) and name not in _NO_WRITE_BACK:
        lv = c.lvalue(args[0])
        recv = c.atom(lv.read(c, p))
        rest = c.seq(args[1:], copy=True)
        a = c.tmp("a")
        c.emit(f"{a} = [{', '.join([recv, *rest])}]")
        r: str = c.tmp("r")
        c.emit(f"{r} = _h_callfn(st, d, {k}, {a}, {p})")
        _write_back(c, lv, a, recv, p)
        return r
    vals = c.seq(args, copy=True)
    return f"_h_callfn(st, d, {k}, [{', '.join(vals)}], {p})"


def _write_back(c: Any, lv: Any, a: str, recv: str, p: str) -> None:
    if lv.const:
        return
    if lv.local:
        lv.write(c, f"{a}[0]", p)
        return
    c.emit(f"if {a}[0] is not {recv}:")
    c.fx.indent += 1
    lv.write(c, f"{a}[0]", p)
    c.fx.indent -= 1


def method_call(c: Any, n: N.MethodCall) -> str:
    """``target.name(args)`` with ``this`` write-back for places."""
    p = c.pos(n)
    k = c.const(n.name)
    key = (n.name, len(n.args))
    script = c.fn_py.get(key)
    target = n.target
    if (
        n.name == "to_float"
        and not n.args
        and script is None
        and (c.static_int(target) or c.static_float(target))
    ):
        return f"float({c.expr(target)})"
    if (
        n.name == "is_shared"
        and not n.args
        and isinstance(target, N.Variable)
        and not target.namespace
    ):
        var = c.lookup(target.name)
        if var is not None:
            return "True" if var.shared else "False"
    if is_lvalue(target):
        lv = c.lvalue(target)
        recv = c.atom(lv.read(c, p))
    else:
        lv = None
        recv = c.atom(c.expr(target))
    rest = c.seq(n.args, copy=True)
    var = getattr(lv, "var", None)
    if n.name == "call" and rest and var is not None and var.shared:
        # Binding a shared variable as `this` for a closure that captures it is a data race.
        rest[0] = c.atom(rest[0])
        c.emit(f"_h_race({var.py}, {rest[0]}, {p})")
    if script is None and not n.safe and n.name == "len" and not n.args and not c.cold:
        return f"(len({recv}) if type({recv}) is str or type({recv}) is list else _h_callm(st, d, {k}, [{recv}], {p}, False))"
    a = c.tmp("a")
    r: str = c.tmp("r")
    const = "True" if lv is not None and lv.const else "False"
    fast = None
    if script is None and not n.safe and not c.cold:
        if n.name == "push" and len(rest) == 1 and lv is not None and lv.local and not lv.const:
            rest = [c.atom(x) for x in rest]
            fast = f"if type({recv}) is list: {recv}.append({rest[0]}); {r} = None"
            if c.size_checks:
                ma = int(c.options.max_array_size or 1 << 62)
                fast += (
                    f"; _h_grow(st, {recv}, {rest[0]}, {p}) "
                    f"if len({recv}) > {ma} or type({rest[0]}) in _h_GROWN else None"
                )
        elif n.name == "call":
            rest = [c.atom(x) for x in rest]
            args = "".join(", " + x for x in rest)
            # Closures of this script are called directly (one Python frame); other
            # pointers go through the runtime.
            t = c.tmp("cl")
            c.fx.uses_unit = True
            c.emit(f"{t} = {recv}.fn if type({recv}) is _h_FnPtr and not {recv}.curry else None")
            c.emit(
                f"if type({t}) is _h_Closure and {t}.arity == {len(rest)} and {t}.unit is _u: "
                f"{r} = {t}.pyfn(st, None, d + 1{args})"
            )
            sf = c.tmp("sf")
            c.emit(
                f"elif type({recv}) is _h_FnPtr and {recv}.fn is None and "
                f"({sf} := _u.fns.get(({recv}.name, {len(rest)} + len({recv}.curry)))) is not None: "
                f"{r} = {sf}.pyfn(st, None, d + 1, *{recv}.curry{args})"
            )
            c.emit(f"elif type({recv}) is _h_FnPtr: {r} = _h_callfp(st, d, {p}, {recv}{args})")
            fast = ""
    if fast is not None:
        if fast:
            c.emit(fast)
        c.emit("else:")
        c.fx.indent += 1
    if n.safe:
        c.emit(f"{r} = None")
        c.emit(f"if {recv} is not None:")
        c.fx.indent += 1
    c.emit(f"{a} = [{', '.join([recv, *rest])}]")
    if script is not None:
        c.emit(f"{r} = _h_callsm(st, d, {script}, {a}, {p}, {const})")
    elif n.name == "call":
        c.emit(f"{r} = _h_callcall(st, d, {a}, {p})")
    elif n.name in FAST_METHODS and n.args:
        c.emit(f"{r} = _h_arraym(st, d, {k}, {a}, {p}, {const})")
    else:
        c.emit(f"{r} = _h_callm(st, d, {k}, {a}, {p}, {const})")
    if lv is not None:
        _write_back(c, lv, a, recv, p)
    if n.safe or fast is not None:
        c.fx.indent -= 1
    return r


def _spill_scope(c: Any) -> tuple[list[tuple[str, Any]], str]:
    vis = [(name, v) for name, v in c.visible().items() if not name.startswith("::")]
    names = c.const(tuple(name for name, _ in vis))
    consts = c.const(tuple(v.const for _, v in vis))
    vals = ", ".join(v.read for _, v in vis)
    return vis, f"{names}, {consts}, [{vals}]"


def _write_scope(c: Any, vis: list[tuple[str, Any]], res: str) -> None:
    for i, (_, v) in enumerate(vis):
        if v.const:
            continue
        if v.shared:
            c.emit(f"{v.py}.v = {res}[1][{i}]")
        else:
            c.emit(f"{v.py} = {res}[1][{i}]")


def _eval(c: Any, arg: N.Expr, p: str) -> str:
    text = c.expr(arg)
    vis, spill = _spill_scope(c)
    res = c.tmp("ev")
    top = c.fx.kind == "main" and len(c.fx.blocks) == 2
    saved = None
    if not top and vis:
        saved = c.tmp("sv")
        c.emit(f"{saved} = ({''.join(v.read + ', ' for _, v in vis)})")
    c.emit(f"{res} = _h_eval(st, d, {text}, {spill}, {p}, {top})")
    _write_scope(c, vis, res)
    if saved is not None:
        # Lets made by eval inside a block shadow outer variables only until the block ends.
        for i, (name, v) in enumerate(vis):
            if not v.const:
                target = f"{v.py}.v" if v.shared else v.py
                c.fx.restores[-1].append(f"if {c.const(name)} in {res}[2]: {target} = {saved}[{i}]")
    return f"{res}[0]"


def _capture_call(c: Any, n: N.FnCall, p: str) -> str:
    key = (n.name, len(n.args))
    vals = c.seq(n.args, copy=True)
    if n.name == "call" and n.args:
        c.capture_targets.update(c.fn_arities)
        vis, spill = _spill_scope(c)
        res = c.tmp("cc")
        c.emit(f"{res} = _h_capcallptr(st, d, {vals[0]}, [{', '.join(vals[1:])}], {spill}, {p})")
        _write_scope(c, vis, res)
        return f"{res}[0]"
    if key not in c.fn_arities:
        return f"_h_callfn(st, d, {c.const(n.name)}, [{', '.join(vals)}], {p})"
    c.capture_targets.add(key)
    vis, spill = _spill_scope(c)
    res = c.tmp("cc")
    c.emit(f"{res} = _h_capcall(st, d, {c.const(key)}, [{', '.join(vals)}], {spill}, {p})")
    _write_scope(c, vis, res)
    return f"{res}[0]"
