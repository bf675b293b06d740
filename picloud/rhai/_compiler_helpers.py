"""The helper table bound into every generated module (``_h_`` names)."""

from __future__ import annotations

from typing import Any

from picloud.rhai import builtins as B
from picloud.rhai import errors as E
from picloud.rhai import runtime as R
from picloud.rhai._compiler_fast import array_method
from picloud.rhai.builtins.registry import NOT_BUILTIN
from picloud.rhai.errors import RhaiError
from picloud.rhai.values import INT_MAX, INT_MIN, Char, FnPtr, to_display, type_name

__all__ = ["HELPERS", "UNSET"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


#: Marks a top-level variable that was never reached (not persisted into the scope).
UNSET: Any = _Unset()


def _binop(sym: str, fast: Any) -> Any:
    def op(st: R.RunState, a: Any, b: Any, pos: Any) -> Any:
        try:
            r = fast(a, b)
        except RhaiError as e:
            raise R.at(e, pos) from None
        if r is NOT_BUILTIN:
            return R.call_named(st, st.depth, sym, [a, b], pos)
        if st.sizes != (0, 0, 0) and type(r) in _GROW:
            if r is a:
                R.check_grow(st, r, b, pos)  # `+=` grew the container in place
            else:
                R.check_size(st, r, pos)
        return r

    op.__name__ = f"op_{fast.__name__}"
    return op


_GROW = frozenset((str, list, dict, bytearray))


def _unop(sym: str, fast: Any) -> Any:
    def op(st: R.RunState, a: Any, pos: Any) -> Any:
        try:
            r = fast(a)
        except RhaiError as e:
            raise R.at(e, pos) from None
        if r is NOT_BUILTIN:
            return R.call_named(st, st.depth, sym, [a], pos)
        return r

    return op


_EPS = 2.220446049250313e-16


def _fcmp(a: float, b: float) -> float:
    if a * b == 0.0:
        return a - b
    x = a if a > 0 else -a
    y = b if b > 0 else -b
    return (a - b) / (max(y, x))


def _cmp_op(sym: str, fast: Any, test: Any) -> Any:
    """A comparison helper with a one-call float path (Rhai's relative epsilon)."""
    generic = _binop(sym, fast)

    def op(st: R.RunState, a: Any, b: Any, pos: Any) -> Any:
        ta = type(a)
        tb = type(b)
        if (ta is float or ta is int) and (tb is float or tb is int):
            d = _fcmp(a, b) if ta is float or tb is float else a - b
            if d != d:  # noqa: PLR0124 - NaN test
                return sym == "!="
            return test(d)
        if ta is str and tb is str:
            return test((a > b) - (a < b))
        return generic(st, a, b, pos)

    return op


def _contains(st: R.RunState, container: Any, item: Any, pos: Any) -> Any:
    try:
        r = B.contains(container, item)
    except RhaiError as e:
        raise R.at(e, pos) from None
    if r is NOT_BUILTIN:
        return R.call_named(st, st.depth, "contains", [container, item], pos)
    return r


def _this(tb: Any, pos: Any) -> Any:
    if tb is None:
        raise R.unbound_this(pos)
    return tb[0]


def _sget(st: R.RunState, name: str, pos: Any) -> Any:
    """A variable the compiler could not resolve: eval-made, then host scope, then fn pointer."""
    dyn = st.cap
    if dyn is not None and name in dyn:
        return dyn[name]
    sc = st.scope
    if sc is not None:
        i = sc._find(name)
        if i >= 0:
            return sc._values[i]
    unit = st.unit
    if unit is not None and any(k[0] == name for k in unit.fns):
        return FnPtr(name)
    raise R.var_not_found(name, pos)


def _sset(st: R.RunState, name: str, value: Any, pos: Any) -> None:
    dyn = st.cap
    if dyn is not None and name in dyn:
        dyn[name] = value
        return
    sc = st.scope
    if sc is not None:
        i = sc._find(name)
        if i >= 0:
            if sc._consts[i]:
                raise R.const_assign(name, pos)
            sc._values[i] = value
            return
    raise R.var_not_found(name, pos)


def _sconst(st: R.RunState, name: str) -> bool:
    sc = st.scope
    if sc is not None:
        i = sc._find(name)
        if i >= 0:
            return bool(sc._consts[i])
    return False


def _sconstget(st: R.RunState, name: str, pos: Any) -> Any:
    """A free name inside a script function: only host-scope constants are visible."""
    sc = st.scope
    if sc is not None:
        i = sc._find(name)
        if i >= 0 and sc._consts[i]:
            return sc._values[i]
    raise R.var_not_found(name, pos)


def _global(st: R.RunState, name: str, pos: Any) -> Any:
    gl = st.gl
    if name in gl:
        return gl[name]
    sc = st.scope
    if sc is not None:
        i = sc._find(name)
        if i >= 0 and sc._consts[i]:
            return sc._values[i]
    raise R.var_not_found(name, pos)


def _mkclosure(st: R.RunState, pyfn: Any, cells: tuple[Any, ...], arity: int) -> FnPtr:
    return FnPtr(
        f"anon${pyfn.__name__}", (), R.Closure(pyfn, cells, arity, st.unit, st.gl)
    )  # cells: for tools only


def _persist(
    st: R.RunState, names: tuple[str, ...], consts: tuple[bool, ...], vals: tuple[Any, ...]
) -> None:
    """Push the top-level variables a run reached into the host scope (boxes unwrapped)."""
    scope = st.scope
    for name, const, v in zip(names, consts, vals):
        if v is not UNSET:
            scope._persist(name, v.v if type(v) is R.Shared else v, const)


def _opx(st: R.RunState, sym: str, a: Any, b: Any, pos: Any, assign: bool = False) -> Any:
    """A binary operator with ``fast_operators`` off: overloads first, then the built-in."""
    unit = st.unit
    if unit is not None and (sym, 2) in unit.fns:
        return unit.fns[(sym, 2)].pyfn(st, None, st.depth + 1, a, b)
    nf = R.resolve(st, sym, [a, b])
    if nf is not None:
        return R.invoke(st, st.depth, nf, [a, b], pos)
    fast = B.BINARY_OPS[sym]
    if assign and sym in ("+", "-"):
        fast = B.add_assign if sym == "+" else B.sub_assign
    return HELPERS["_h_op_" + fast.__name__](st, a, b, pos)


def _unx(st: R.RunState, sym: str, a: Any, pos: Any) -> Any:
    """A unary operator with ``fast_operators`` off."""
    return R.call_named(st, st.depth, sym, [a], pos)


def _race(box: Any, fp: Any, pos: Any) -> None:
    if type(fp) is FnPtr and type(fp.fn) is R.Closure and any(c is box for c in fp.fn.cells):
        raise E.ErrorDataRace(
            "Data race detected: a captured variable is also bound to 'this'", pos
        )


def _caught(e: RhaiError) -> Any:
    return E.caught_value(e)


_OVF_NAMES = {"+": "Addition", "-": "Subtraction", "*": "Multiplication"}


def _ovf(op: str, a: Any, b: Any, pos: Any) -> RhaiError:
    what = _OVF_NAMES.get(op, "Arithmetic")
    if a is _NO_OPERAND:
        return E.ErrorArithmetic(f"{what} overflow", pos)
    return E.ErrorArithmetic(f"{what} overflow: {a} {op} {b}", pos)


_NO_OPERAND: Any = object()


def _raise(err: RhaiError) -> Any:
    raise err


def _throw(value: Any, pos: Any) -> Any:
    raise R.throw(value, pos)


def _ternary_bad(v: Any, pos: Any) -> Any:
    raise R.not_bool(v, pos)


def _switch_eq(a: Any, b: Any) -> bool:
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is list or ta is dict:
        r = B.eq(a, b)
        return r is True
    return bool(a == b)


def _check_size(st: R.RunState, v: Any, pos: Any) -> Any:
    return R.check_size(st, v, pos)


HELPERS: dict[str, Any] = {
    "_h_E": E,
    "_h_RhaiError": RhaiError,
    "_h_UNSET": UNSET,
    "_h_Shared": R.Shared,
    "_h_Closure": R.Closure,
    "_h_Char": Char,
    "_h_FnPtr": FnPtr,
    "_h_IMIN": INT_MIN,
    "_h_IMAX": INT_MAX,
    "_h_overflow": R.overflow,
    "_h_wrapfn": R.wrap_fn_error,
    "_h_cb": R.check_bool,
    "_h_notbool": _ternary_bad,
    "_h_ovf": _ovf,
    "_h_NOOP": _NO_OPERAND,
    "_h_throw": _throw,
    "_h_raise": _raise,
    "_h_unbound": R.unbound_this,
    "_h_constassign": R.const_assign,
    "_h_cp": R.cp,
    "_h_MUT": R.MUTABLE,
    "_h_size": _check_size,
    "_h_interp": R.interp,
    "_h_range": R.make_range,
    "_h_iter": R.for_iter,
    "_h_callfn": R.call_native,
    "_h_callm": R.call_method,
    "_h_callptr": R.call_ptr,
    "_h_idx": R.index_get,
    "_h_idxset": R.index_set,
    "_h_prop": R.prop_get,
    "_h_propset": R.prop_set,
    "_h_this": _this,
    "_h_sget": _sget,
    "_h_sset": _sset,
    "_h_sconst": _sconst,
    "_h_global": _global,
    "_h_mkclosure": _mkclosure,
    "_h_caught": _caught,
    "_h_catchable": E.is_catchable,
    "_h_contains": _contains,
    "_h_sweq": _switch_eq,
    "_h_display": to_display,
    "_h_tname": type_name,
    "_h_sconstget": _sconstget,
    "_h_race": _race,
    "_h_opx": _opx,
    "_h_unx": _unx,
    "_h_persist": _persist,
    "_h_grow": R.check_grow,
    "_h_GROWN": frozenset((str, list, dict, bytearray)),
    "_h_mkfnptr": R.make_fnptr,
    "_h_callcall": R.call_call,
    "_h_callfp": R.call_fp,
    "_h_EPS": 2.220446049250313e-16,
    "_h_arraym": array_method,
}

for _sym, _fast in B.BINARY_OPS.items():
    HELPERS["_h_op_" + _fast.__name__] = _binop(_sym, _fast)
HELPERS["_h_fcmp"] = _fcmp
HELPERS["_h_op_add_assign"] = _binop("+=", B.add_assign)
HELPERS["_h_op_sub_assign"] = _binop("-=", B.sub_assign)
_TESTS: dict[str, Any] = {
    "==": lambda d: -_EPS <= d <= _EPS,
    "!=": lambda d: not (-_EPS <= d <= _EPS),
    "<": lambda d: d < -_EPS,
    "<=": lambda d: d <= _EPS,
    ">": lambda d: d > _EPS,
    ">=": lambda d: d >= -_EPS,
}
for _sym, _test in _TESTS.items():
    HELPERS["_h_op_" + B.BINARY_OPS[_sym].__name__] = _cmp_op(_sym, B.BINARY_OPS[_sym], _test)
for _usym, _ufast in B.UNARY_OPS.items():
    HELPERS["_h_un_" + _ufast.__name__] = _unop(_usym, _ufast)

from picloud.rhai.modules import register_helpers

register_helpers(HELPERS)
