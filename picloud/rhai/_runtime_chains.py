"""Run-time helpers for index/property chains and the engine's special functions.

Split from ``runtime.py``: ``c[i]``/``obj.name`` reads and writes (maps, arrays,
strings, bit fields and host indexers/getters/setters) and the functions the
engine itself provides (``print``, ``debug``, ``type_of``, ``Fn``, ``call``,
``curry``, ``is_def_fn``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from picloud.rhai import errors as E
from picloud.rhai.errors import Position, RhaiError
from picloud.rhai.runtime import (
    RunState,
    at,
    call_ptr,
    check_grow,
    cp,
    fn_not_found,
    invoke,
    resolve,
)
from picloud.rhai.values import (
    INT_MAX,
    INT_MIN,
    FnPtr,
    get_index,
    set_index,
    to_debug,
    to_display,
    type_name,
)

__all__ = [
    "METHOD_SPECIALS",
    "SPECIALS",
    "checked_int",
    "index_get",
    "index_set",
    "make_fnptr",
    "prop_get",
    "prop_set",
]  # fmt: skip


# ------------------------------------------------------------------ chains


def index_get(st: RunState, c: Any, i: Any, pos: Position) -> Any:
    """``c[i]`` including indexers of host types."""
    tc = type(c)
    if tc is list and type(i) is int:
        try:
            return c[i]
        except IndexError:
            pass
    elif tc is dict and type(i) is str:
        try:
            return c[i]
        except KeyError:
            if not st.options.fail_on_invalid_map_property:
                return None
    try:
        return get_index(c, i, st.options.fail_on_invalid_map_property)
    except RhaiError as e:
        if e.kind == "ErrorIndexingType":
            nf = resolve(st, "index$get$", (c, i))
            if nf is not None:
                return invoke(st, 0, nf, [c, i], pos)
        raise at(e, pos) from None


def index_set(st: RunState, c: Any, i: Any, v: Any, pos: Position) -> Any:
    """``c[i] = v``; returns the container to write back."""
    if type(c) is dict and type(i) is str and st.sizes == (0, 0, 0):
        c[i] = v
        return c
    try:
        r = set_index(c, i, v)
    except RhaiError as e:
        if e.kind == "ErrorIndexingType":
            nf = resolve(st, "index$set$", (c, i, v))
            if nf is not None:
                invoke(st, 0, nf, [c, i, v], pos)
                return c
        raise at(e, pos) from None
    if st.sizes != (0, 0, 0):
        check_grow(st, r, v, pos)
    return r


def prop_get(st: RunState, obj: Any, name: str, pos: Position) -> Any:
    """``obj.name``: a map entry, a registered getter, or a zero-argument method."""
    if type(obj) is dict:
        try:
            return obj[name]
        except KeyError:
            if st.options.fail_on_invalid_map_property:
                raise E.ErrorPropertyNotFound(
                    f"Property not found: {name}", pos, property=name
                ) from None
            return None
    args = [obj]
    nf = resolve(st, "get$" + name, args)
    if nf is None:
        nf = resolve(st, name, args)
    if nf is None:
        raise E.ErrorPropertyNotFound(f"Property not found: {name}", pos, property=name)
    return invoke(st, 0, nf, args, pos)


def prop_set(st: RunState, obj: Any, name: str, v: Any, pos: Position) -> Any:
    """``obj.name = v``; returns the object to write back."""
    if type(obj) is dict:
        obj[name] = v
        if st.sizes != (0, 0, 0):
            check_grow(st, obj, v, pos)
        return obj
    args = [obj, v]
    nf = resolve(st, "set$" + name, args)
    if nf is None:
        raise E.ErrorPropertyNotFound(f"Property not found: {name}", pos, property=name)
    invoke(st, 0, nf, args, pos)
    return args[0]


# ------------------------------------------------------------------ engine specials


def _sp_print(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    if len(args) != 1:
        raise fn_not_found(st, "print", args, pos)
    st.on_print(to_display(args[0]))
    return None


def _sp_debug(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    if len(args) != 1:
        raise fn_not_found(st, "debug", args, pos)
    st.on_debug(to_debug(args[0]))
    return None


def _sp_type_of(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    if len(args) != 1:
        raise fn_not_found(st, "type_of", args, pos)
    return type_name(args[0])


def _sp_fn(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    if len(args) != 1 or type(args[0]) is not str:
        raise fn_not_found(st, "Fn", args, pos)
    return make_fnptr(st, args[0], pos)


def make_fnptr(st: RunState, name: str, pos: Position) -> FnPtr:
    """``Fn("name")``: a pointer resolved by name when called."""
    if (
        not name
        or not (name[0].isalpha() or name[0] == "_")
        or not all(c.isalnum() or c == "_" for c in name)
    ):
        raise E.ErrorFunctionNotFound(f"Function not found: {name}", pos, function=name)
    return FnPtr(name)


def _sp_call(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    if not args:
        raise fn_not_found(st, "call", args, pos)
    return call_ptr(st, d, args[0], args[1:], None, pos)


def _sp_curry(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    fp = args[0] if args else None
    if type(fp) is not FnPtr:
        raise fn_not_found(st, "curry", args, pos)
    return FnPtr(fp.name, (*fp.curry, *[cp(a) for a in args[1:]]), fp.fn)


def _sp_is_def_fn(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    if len(args) != 2 or type(args[0]) is not str or type(args[1]) is not int:
        raise fn_not_found(st, "is_def_fn", args, pos)
    unit = st.unit
    return unit is not None and (args[0], args[1]) in unit.fns


SPECIALS: dict[str, Callable[[RunState, int, list[Any], Position], Any]] = {
    "print": _sp_print,
    "debug": _sp_debug,
    "type_of": _sp_type_of,
    "Fn": _sp_fn,
    "call": _sp_call,
    "curry": _sp_curry,
    "is_def_fn": _sp_is_def_fn,
}
METHOD_SPECIALS = {"type_of": _sp_type_of, "curry": _sp_curry, "call": _sp_call}


def checked_int(r: int, pos: Position) -> int:
    """Range-check an int result computed in Python."""
    if INT_MIN <= r <= INT_MAX:
        return r
    raise E.ErrorArithmetic("Arithmetic overflow", pos)
