"""Run-time support for compiled Rhai code: run state, calls, closures, chains.

Generated code (see ``compiler.py``) keeps Rhai variables in Python locals and
does int arithmetic inline; everything that needs a dynamic decision — native
overload resolution, method calls with write-back, function pointers, indexing,
properties, size limits — goes through the helpers here. Every helper name is
bound into the generated module's globals under an ``_h_`` prefix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from picloud.rhai import errors as E
from picloud.rhai.builtins.registry import NO_THIS, NativeFn
from picloud.rhai.errors import NO_POS, Position, RhaiError
from picloud.rhai.values import (
    Char,
    FnPtr,
    RhaiRange,
    data_size,
    deep_copy,
    iterate,
    to_display,
    type_name,
)

if TYPE_CHECKING:
    from picloud.rhai.engine import Engine

__all__ = ["MUTABLE", "Closure", "Module", "RunState", "ScriptFn", "Shared"]

MUTABLE = frozenset((list, dict, bytearray))
_NUMERIC = (int, float)


class Shared:
    """A captured variable: one box seen by the scope and every closure using it."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v


class ScriptFn:
    """A compiled script function: ``pyfn(st, this_box, depth, *params)``."""

    __slots__ = ("arity", "capture", "name", "private", "pyfn", "unit", "uses_this")

    def __init__(
        self,
        name: str,
        arity: int,
        pyfn: Callable[..., Any],
        uses_this: bool,
        private: bool,
        unit: Any,
        capture: Callable[..., Any] | None = None,
    ) -> None:
        self.name = name
        self.arity = arity
        self.pyfn = pyfn
        self.uses_this = uses_this
        self.private = private
        self.unit = unit
        self.capture = capture


class Closure:
    """The callable behind a closure's ``FnPtr``: code plus its captured boxes."""

    __slots__ = ("arity", "cells", "gl", "pyfn", "unit")

    def __init__(
        self,
        pyfn: Callable[..., Any],
        cells: tuple[Shared, ...],
        arity: int,
        unit: Any,
        gl: dict[str, Any] | None = None,
    ) -> None:
        self.gl = gl
        self.pyfn = pyfn
        self.cells = cells
        self.arity = arity
        self.unit = unit


class Module:
    """An imported module: exported variables, callable functions and sub-modules."""

    __slots__ = ("functions", "host", "modules", "name", "variables")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.variables: dict[str, Any] = {}
        self.functions: dict[tuple[str, int], Any] = {}
        self.modules: dict[str, Module] = {}
        self.host: dict[str, Any] = {}


def _pos_of(pos: Any) -> Position:
    return pos if isinstance(pos, Position) else NO_POS


def at(err: RhaiError, pos: Position) -> RhaiError:
    """Give an error the position of the expression that raised it, when it has none."""
    if not err.pos.line and pos is not None:
        err.pos = pos
    return err


class RunState:
    """Per-run mutable state; also the ``CallContext`` handed to native functions."""

    __slots__ = (
        "__weakref__",
        "cache",
        "cap",
        "deadline",
        "depth",
        "engine",
        "gl",
        "imports",
        "lib",
        "lim",
        "max_depth",
        "max_ops",
        "modules_loaded",
        "on_debug",
        "on_print",
        "ops",
        "options",
        "scope",
        "sizes",
        "unit",
    )

    def __init__(self, engine: Engine, unit: Any, scope: Any, deadline: float | None) -> None:
        opts = engine.options
        self.engine = engine
        self.options = opts
        self.ops = 0
        self.max_ops = opts.max_operations
        self.deadline = deadline
        self.lim = self._next_lim()
        self.scope = scope
        self.gl: dict[str, Any] = {}
        self.unit = unit
        self.depth = 0
        self.imports: list[str] = []
        self.modules_loaded = 0
        self.cap: Any = None
        self.lib = engine._lib
        self.cache = engine._cache
        self.on_print = engine._on_print
        self.on_debug = engine._on_debug
        self.max_depth = opts.max_call_levels
        self.sizes = (opts.max_string_size, opts.max_array_size, opts.max_map_size)

    # -------------------------------------------------------------- budget

    def _next_lim(self) -> int:
        if self.deadline is None:
            return self.max_ops if self.max_ops else 1 << 62
        step = self.ops + 2000
        return min(step, self.max_ops) if self.max_ops else step

    def over_budget(self) -> None:
        """Called by generated code when ``ops`` passed ``lim``: raise or move the mark."""
        if self.max_ops and self.ops > self.max_ops:
            raise E.ErrorTooManyOperations("Too many operations")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise E.ErrorTerminated("Script terminated: run time limit exceeded")
        self.lim = self._next_lim()
        hook = self.engine._on_budget
        if hook is not None:
            hook()

    # -------------------------------------------------------------- CallContext

    def call(self, fn: FnPtr, args: list[Any], this: Any = NO_THIS) -> Any:
        """Call a function pointer on behalf of a native function."""
        target = fn.fn
        if (
            type(target) is Closure
            and this is NO_THIS
            and not fn.curry
            and len(args) == target.arity
            and target.unit is self.unit
        ):
            return target.pyfn(self, None, self.depth + 1, *args)
        if this is NO_THIS:
            return call_ptr(self, self.depth, fn, list(args), None, NO_POS)
        box = [this]
        return call_ptr(self, self.depth, fn, list(args), box, NO_POS)

    def fn_arity(self, fn: FnPtr) -> int | None:
        """Parameters of a pointer's target (curried included), when only one overload exists."""
        target = fn.fn
        if type(target) is Closure:
            return target.arity
        unit = self.unit
        if unit is None:
            return None
        arities = [k[1] for k in unit.fns if k[0] == fn.name]
        return arities[0] if len(arities) == 1 else None

    def call_this(self, fn: FnPtr, args: list[Any], this: Any) -> tuple[Any, Any]:
        """Call with ``this`` bound; returns ``(result, new_this)``."""
        box = [this]
        r = call_ptr(self, self.depth, fn, list(args), box, NO_POS)
        return r, box[0]

    def print(self, text: str) -> None:
        """Send ``print`` text to the host hook."""
        self.on_print(text)

    def debug(self, text: str) -> None:
        """Send ``debug`` text to the host hook."""
        self.on_debug(text)


# ------------------------------------------------------------------ errors


def overflow(st: RunState, pos: Position) -> RhaiError:
    """The stack-overflow error for the current depth limit."""
    return E.ErrorStackOverflow("Stack overflow", pos)


def wrap_fn_error(err: BaseException, name: str, pos: Position) -> BaseException:
    """Wrap an error escaping a script function in ``ErrorInFunctionCall`` (limits pass through)."""
    if isinstance(err, RecursionError):
        return E.ErrorStackOverflow("Stack overflow", pos)
    if not isinstance(err, RhaiError):
        return err
    if not err.catchable or err.kind == "ErrorSystem":
        return err
    return E.ErrorInFunctionCall(
        f"Error in call to function '{name}': {err}",
        pos,
        function=name,
        source="",
        inner=err,
    )


def not_bool(v: Any, pos: Position) -> RhaiError:
    """The error for a non-``bool`` condition."""
    n = type_name(v)
    return E.ErrorMismatchDataType(
        f"Data type incorrect: {n} (expecting bool)", pos, requested="bool", actual=n
    )


def check_bool(v: Any, pos: Position) -> bool:
    """``v`` if it is a ``bool``; ``ErrorMismatchDataType`` otherwise."""
    if v is True or v is False:
        return v
    raise not_bool(v, pos)


def arith_overflow(op: str, a: Any, b: Any, pos: Position) -> RhaiError:
    """The overflow error of an inline int operation."""
    return E.ErrorArithmetic(f"Arithmetic overflow: {a} {op} {b}", pos)


def throw(value: Any, pos: Position) -> RhaiError:
    """``throw value``."""
    return E.ErrorRuntime(to_display(value) if value is not None else "", pos, value=value)


def unbound_this(pos: Position) -> RhaiError:
    """``this`` used outside a method call."""
    return E.ErrorUnboundThis("'this' is not bound", pos)


def const_assign(name: str, pos: Position) -> RhaiError:
    """Assignment to a constant detected at run time."""
    return E.ErrorAssignmentToConstant(f"Cannot modify constant {name}", pos, name=name)


def var_not_found(name: str, pos: Position) -> RhaiError:
    """An unknown variable."""
    return E.ErrorVariableNotFound(f"Variable not found: {name}", pos, variable=name)


# ------------------------------------------------------------------ values


def cp(v: Any) -> Any:
    """Copy a value read from a variable/element before storing it elsewhere."""
    if type(v) in MUTABLE:
        return deep_copy(v)
    return v


def check_size(st: RunState, v: Any, pos: Position) -> Any:
    """Raise ``ErrorDataTooLarge`` when ``v`` exceeds a size limit; returns ``v``."""
    t = type(v)
    if t is int or t is float or t is bool or v is None:
        return v
    ms, ma, mm = st.sizes
    if t is str:
        # An ASCII string's byte length is its length (isascii is O(1) in CPython).
        if (
            ms
            and len(v) > ms // 4
            and (len(v) > ms or not v.isascii())
            and len(v.encode("utf-8")) > ms
        ):
            raise E.ErrorDataTooLarge("Length of string too large", pos, name="Length of string")
        return v
    if (t is dict or t is list) and len(v) <= 32:
        # Small flat containers (the common record) are sized without the recursive walk.
        items = v.values() if t is dict else v
        flat = True
        chars = 0
        for x in items:
            tx = type(x)
            if tx is str or tx is Char:
                chars += len(x) if x.isascii() else len(x.encode("utf-8"))
            elif tx is not int and tx is not float and tx is not bool and x is not None:
                flat = False
                break
        if flat:
            if ms and chars > ms:
                raise E.ErrorDataTooLarge("Length of string too large", pos, name="Length of string")
            if t is dict:
                if mm and len(v) > mm:
                    raise E.ErrorDataTooLarge("Size of object map too large", pos, name="Size of object map")
            elif ma and len(v) > ma:
                raise E.ErrorDataTooLarge("Size of array too large", pos, name="Size of array")
            return v
    arr, mp, s = data_size(v)
    if ms and s > ms:
        raise E.ErrorDataTooLarge("Length of string too large", pos, name="Length of string")
    if ma and arr > ma:
        raise E.ErrorDataTooLarge("Size of array too large", pos, name="Size of array")
    if mm and mp > mm:
        raise E.ErrorDataTooLarge("Size of object map too large", pos, name="Size of object map")
    return v


def check_grow(st: RunState, container: Any, added: Any, pos: Position) -> None:
    """After ``container`` grew by ``added``: its own length (O(1)) and ``added`` in full.

    Checking the whole container after every push would make building a large array
    quadratic; its nested content was checked when it was stored, so the length and
    the new part bound it.
    """
    ms, ma, mm = st.sizes
    t = type(container)
    if t is list or t is bytearray:
        if ma and len(container) > ma:
            raise E.ErrorDataTooLarge("Size of array too large", pos, name="Size of array")
    elif t is dict:
        if mm and len(container) > mm:
            raise E.ErrorDataTooLarge(
                "Size of object map too large", pos, name="Size of object map"
            )
    elif t is str and ms and len(container) > ms // 4 and len(container.encode("utf-8")) > ms:
        raise E.ErrorDataTooLarge("Length of string too large", pos, name="Length of string")
    if added is not None and (type(added) in MUTABLE or type(added) is str):
        check_size(st, added, pos)


def interp(parts: list[Any]) -> str:
    """Concatenate the display forms of an interpolated string's parts."""
    return "".join([p if type(p) is str else to_display(p) for p in parts])


def make_range(a: Any, b: Any, inclusive: bool, pos: Position) -> RhaiRange:
    """``a..b`` / ``a..=b``."""
    if type(a) is not int or type(b) is not int:
        bad = b if type(a) is int else a
        n = type_name(bad)
        raise E.ErrorMismatchDataType(
            f"Data type incorrect: {n} (expecting i64)", pos, requested="i64", actual=n
        )
    return RhaiRange(a, b, inclusive)


def for_iter(v: Any, copy: bool, pos: Position) -> Any:
    """The Python iterable of a ``for`` loop (containers copied when read from a variable)."""
    if type(v) is RhaiRange:
        return range(v.start, v.end + 1 if v.inclusive else v.end)
    try:
        it = iterate(v)
    except RhaiError as e:
        raise at(e, pos) from None
    if copy and type(v) is list:
        return [deep_copy(x) if type(x) in MUTABLE else x for x in it]
    if type(v) is str:
        return map(Char, v)
    return it


# ------------------------------------------------------------------ natives


def fn_not_found(st: RunState, name: str, args: Any, pos: Position) -> RhaiError:
    """``ErrorFunctionNotFound`` with Rhai's ``name (types)`` text."""
    sig = f"{name} ({', '.join(type_name(a) for a in args)})"
    return E.ErrorFunctionNotFound(f"Function not found: {sig}", pos, function=sig)


def resolve(st: RunState, name: str, args: Any) -> NativeFn | None:
    """The native overload for these arguments (cached per engine)."""
    key = (name, *[type(a) for a in args])
    cache = st.cache
    try:
        return cache[key]  # type: ignore[no-any-return]
    except KeyError:
        nf = st.lib.resolve(name, key[1:])  # type: ignore[arg-type]
        cache[key] = nf
        return nf


def invoke(st: RunState, d: int, nf: NativeFn, args: list[Any], pos: Position) -> Any:
    """Call a native overload, converting stray Python errors to Rhai ones."""
    try:
        if nf.needs_ctx:
            saved = st.depth
            st.depth = d
            try:
                r = nf.fn(st, *args)
            finally:
                st.depth = saved
        else:
            r = nf.fn(*args)
    except RhaiError as e:
        raise at(e, pos) from None
    except RecursionError:
        raise E.ErrorStackOverflow("Stack overflow", pos) from None
    except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as e:
        raise E.ErrorRuntime(f"{nf.name}: {type(e).__name__}", pos) from None
    if nf.mutating:
        args[0] = r[0]
        if st.sizes != (0, 0, 0):
            _grow_args(st, args, pos)
        return r[1]
    if st.sizes != (0, 0, 0) and type(r) in _GROWN:
        check_size(st, r, pos)
    return r


_GROWN = frozenset((str, list, dict, bytearray))


def _grow_args(st: RunState, args: list[Any], pos: Position) -> None:
    check_grow(st, args[0], None, pos)
    for a in args[1:]:
        if type(a) in _GROWN:
            check_size(st, a, pos)


def call_native(st: RunState, d: int, name: str, args: list[Any], pos: Position) -> Any:
    """A function-style call of a native function; ``args[0]`` may be updated (write-back)."""
    n = len(args)
    if n == 1:
        key: tuple[Any, ...] = (name, type(args[0]))
    elif n == 2:
        key = (name, type(args[0]), type(args[1]))
    else:
        key = (name, *[type(a) for a in args])
    cache = st.cache
    nf = cache.get(key, _MISS)
    if nf is _MISS:
        nf = st.lib.resolve(name, key[1:])
        cache[key] = nf
    if nf is not None and not nf.needs_ctx and not nf.method_only:
        try:
            r = nf.fn(*args)
        except RhaiError as e:
            raise at(e, pos) from None
        except RecursionError:
            raise E.ErrorStackOverflow("Stack overflow", pos) from None
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as e:
            raise E.ErrorRuntime(f"{name}: {type(e).__name__}", pos) from None
        if nf.mutating:
            args[0] = r[0]
            if st.sizes != (0, 0, 0):
                _grow_args(st, args, pos)
            return r[1]
        if st.sizes != (0, 0, 0) and type(r) in _GROWN:
            check_size(st, r, pos)
        return r
    if nf is None or nf.method_only:
        return call_fallback(st, d, name, args, pos)
    return invoke(st, d, nf, args, pos)


def call_fallback(st: RunState, d: int, name: str, args: list[Any], pos: Position) -> Any:
    """Names that no native overload matched: engine specials, then not-found."""
    special = SPECIALS.get(name)
    if special is not None:
        return special(st, d, args, pos)
    unit = st.unit
    if unit is not None:
        # Code of a module (or eval) falls back to the running script's functions.
        sf = unit.fns.get((name, len(args)))
        if sf is not None:
            return sf.pyfn(st, None, d + 1, *args)
    raise fn_not_found(st, name, args, pos)


def call_method(
    st: RunState, d: int, name: str, args: list[Any], pos: Position, const: bool
) -> Any:
    """``args[0].name(args[1:])``: script fns, natives, map-held fn pointers; writes back ``args[0]``."""
    recv = args[0]
    n = len(args)
    if n == 1:
        key: tuple[Any, ...] = (name, type(recv))
    elif n == 2:
        key = (name, type(recv), type(args[1]))
    else:
        key = (name, *[type(a) for a in args])
    cache = st.cache
    nf = cache.get(key, _MISS)
    if nf is _MISS:
        nf = st.lib.resolve(name, key[1:])
        cache[key] = nf
    if nf is not None and not const and not nf.needs_ctx:
        try:
            r = nf.fn(*args)
        except RhaiError as e:
            raise at(e, pos) from None
        except RecursionError:
            raise E.ErrorStackOverflow("Stack overflow", pos) from None
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as e:
            raise E.ErrorRuntime(f"{name}: {type(e).__name__}", pos) from None
        if nf.mutating:
            args[0] = r[0]
            if st.sizes != (0, 0, 0):
                _grow_args(st, args, pos)
            return r[1]
        if st.sizes != (0, 0, 0) and type(r) in _GROWN:
            check_size(st, r, pos)
        return r
    if name == "call" and type(recv) is FnPtr:
        return call_ptr(st, d, recv, args[1:], None, pos)
    if nf is not None:
        if const and nf.mutating:
            old = recv
            r = invoke(st, d, nf, args, pos)
            if args[0] is not old or type(old) in MUTABLE:
                raise E.ErrorNonPureMethodCallOnConstant(f"Cannot modify constant: {name}", pos)
            return r
        return invoke(st, d, nf, args, pos)
    if type(recv) is dict:
        fp = recv.get(name)
        if type(fp) is FnPtr:
            box = [recv]
            r = call_ptr(st, d, fp, args[1:], box, pos)
            args[0] = box[0]
            return r
    if name == "call" and len(args) >= 2 and type(args[1]) is FnPtr:
        box = [recv]
        r = call_ptr(st, d, args[1], args[2:], box, pos)
        args[0] = box[0]
        return r
    special = METHOD_SPECIALS.get(name)
    if special is not None:
        return special(st, d, args, pos)
    return call_fallback(st, d, name, args, pos)


_MISS: Any = object()


def call_call(st: RunState, d: int, args: list[Any], pos: Position) -> Any:
    """``fp.call(args)`` with a fast path for closures of the running unit."""
    fp = args[0]
    if type(fp) is FnPtr:
        target = fp.fn
        if (
            type(target) is Closure
            and not fp.curry
            and len(args) - 1 == target.arity
            and target.unit is st.unit
        ):
            return target.pyfn(st, None, d + 1, *args[1:])
        if target is None and st.unit is not None:
            curry = fp.curry
            sf = st.unit.fns.get((fp.name, len(args) - 1 + len(curry)))
            if sf is not None:
                if d > st.max_depth:
                    raise E.ErrorStackOverflow("Stack overflow", pos)
                if curry:
                    return sf.pyfn(st, None, d + 1, *curry, *args[1:])
                return sf.pyfn(st, None, d + 1, *args[1:])
        return call_ptr(st, d, fp, args[1:], None, pos)
    return call_method(st, d, "call", args, pos, False)


def call_fp(st: RunState, d: int, pos: Position, fp: FnPtr, *args: Any) -> Any:
    """``fp.call(args)`` on a known ``FnPtr`` (closure and named script-function fast paths)."""
    target = fp.fn
    if type(target) is Closure:
        if not fp.curry and len(args) == target.arity and target.unit is st.unit:
            return target.pyfn(st, None, d + 1, *args)
    elif target is None and st.unit is not None:
        curry = fp.curry
        sf = st.unit.fns.get((fp.name, len(args) + len(curry)))
        if sf is not None:
            if d > st.max_depth:
                raise E.ErrorStackOverflow("Stack overflow", pos)
            if curry:
                return sf.pyfn(st, None, d + 1, *curry, *args)
            return sf.pyfn(st, None, d + 1, *args)
    return call_ptr(st, d, fp, list(args), None, pos)


def call_script_method(
    st: RunState, d: int, sf: ScriptFn, args: list[Any], pos: Position, const: bool
) -> Any:
    """Call a script function with ``this`` bound to ``args[0]`` (written back)."""
    box = [args[0]]
    r = sf.pyfn(st, box, d + 1, *[cp(a) for a in args[1:]])
    if sf.uses_this:
        if const and box[0] is not args[0]:
            raise E.ErrorNonPureMethodCallOnConstant(f"Cannot modify constant: {sf.name}", pos)
        args[0] = box[0]
    return r


def call_named(st: RunState, d: int, name: str, args: list[Any], pos: Position) -> Any:
    """Call a function by name at run time (function pointers, ``call``): script first."""
    unit = st.unit
    if unit is not None:
        sf = unit.fns.get((name, len(args)))
        if sf is not None:
            return sf.pyfn(st, None, d + 1, *args)
    return call_native(st, d, name, args, pos)


def call_ptr(
    st: RunState, d: int, fp: Any, args: list[Any], box: list[Any] | None, pos: Position
) -> Any:
    """Call a function pointer or closure (curried values first); ``box`` binds ``this``."""
    if type(fp) is not FnPtr:
        n = type_name(fp)
        raise E.ErrorMismatchDataType(
            f"Data type incorrect: {n} (expecting Fn)", pos, requested="Fn", actual=n
        )
    if d > st.max_depth:
        raise E.ErrorStackOverflow("Stack overflow", pos)
    if fp.curry:
        args = [*fp.curry, *args]
    target = fp.fn
    if type(target) is Closure:
        if len(args) != target.arity:
            raise fn_not_found(st, fp.name, args, pos)
        if target.unit is st.unit:
            return target.pyfn(st, box, d + 1, *args)
        saved = st.unit, st.gl
        st.unit = target.unit
        if target.gl is not None:
            st.gl = target.gl
        try:
            return target.pyfn(st, box, d + 1, *args)
        finally:
            st.unit, st.gl = saved
    if type(target) is ScriptFn:
        saved = st.unit
        st.unit = target.unit
        try:
            r = target.pyfn(st, box, d + 1, *args)
        finally:
            st.unit = saved
        return r
    name = fp.name
    unit = st.unit
    if unit is not None:
        sf = unit.fns.get((name, len(args)))
        if sf is not None:
            return sf.pyfn(st, box, d + 1, *args)
    if box is not None:
        full = [box[0], *args]
        r = call_native(st, d, name, full, pos)
        box[0] = full[0]
        return r
    return call_native(st, d, name, args, pos)


# Chains (index/property access) and engine specials live in a sibling module.
from picloud.rhai._runtime_chains import (
    METHOD_SPECIALS,
    SPECIALS,
    checked_int,
    index_get,
    index_set,
    make_fnptr,
    prop_get,
    prop_set,
)

__all__ += [
    "SPECIALS",
    "checked_int",
    "index_get",
    "index_set",
    "make_fnptr",
    "prop_get",
    "prop_set",
]
