"""Modules (``import``/``export``/``m::x``), ``eval`` and capture calls at run time.

A module resolver is any object with ``resolve(engine, path, pos)`` returning
an ``AST`` (run once to build the module), a ``runtime.Module``, or a mapping
of members. ``StaticResolver`` serves modules from in-memory source text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from picloud.rhai import errors as E
from picloud.rhai import nodes as N
from picloud.rhai import runtime as R
from picloud.rhai.errors import Position, RhaiError
from picloud.rhai.values import FnPtr, type_name

__all__ = ["ModuleResolver", "StaticResolver", "module_from_ast"]


class ModuleResolver:
    """Interface of module resolvers."""

    def resolve(self, engine: Any, path: str, pos: Position) -> Any:
        """Return an ``AST``, a ``Module`` or a mapping for ``path``; ``None`` if unknown."""
        raise NotImplementedError


class StaticResolver(ModuleResolver):
    """Resolves paths from a dict of ``path -> source`` (compiled once, cached)."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.sources = dict(sources)
        self._asts: dict[str, Any] = {}

    def resolve(self, engine: Any, path: str, pos: Position) -> Any:
        """Compile (once) and return the module's ``AST``."""
        if path not in self.sources:
            return None
        ast = self._asts.get(path)
        if ast is None:
            ast = engine.compile(self.sources[path])
            self._asts[path] = ast
        return ast


def _exports(script: N.Script) -> tuple[list[tuple[str, str]], set[str]]:
    names: list[tuple[str, str]] = []
    for s in script.statements:
        if isinstance(s, N.Let) and s.exported:
            names.append((s.name, s.name))
        elif isinstance(s, N.Export):
            names.append((s.name, s.alias or s.name))
    return names, {a for _, a in names}


def module_from_ast(st: R.RunState, ast: Any, path: str, pos: Position) -> R.Module:
    """Run a module script and collect its exports, functions and sub-modules."""
    from picloud.rhai.engine import Scope

    engine = st.engine
    unit = ast.unit(engine.options, st.max_ops != 0 or st.deadline is not None)
    scope = Scope()
    sub = R.RunState(engine, unit, scope, st.deadline)
    sub.imports = st.imports
    sub.ops = st.ops
    try:
        unit.main(sub, None, 0)
    except RhaiError as e:
        if not e.catchable and e.kind != "ErrorModuleNotFound":
            raise
        raise E.ErrorInModule(
            f"Error in module '{path}': {e.message}", pos, module=path, inner=e
        ) from None
    finally:
        st.ops = sub.ops
    m = R.Module(path)
    exports, _ = _exports(ast.script)
    for name, alias in exports:
        i = scope._find(name)
        if i >= 0:
            m.variables[alias] = scope._values[i]
    for key, sf in unit.fns.items():
        if not sf.private:
            m.functions[key] = sf
    m.host["__gl__"] = sub.gl
    for name, value in sub.gl.items():
        if name.startswith("::") and isinstance(value, R.Module):
            m.modules[name[2:]] = value
    return m


def do_import(st: R.RunState, path: Any, pos: Position) -> R.Module:
    """``import path``: resolve through the engine's resolver (cycles are errors)."""
    if type(path) is not str:
        n = type_name(path)
        raise E.ErrorMismatchDataType(
            f"Data type incorrect: {n} (expecting string)", pos, requested="string", actual=n
        )
    engine = st.engine
    mx = engine.options.max_modules
    st.modules_loaded += 1
    if mx and st.modules_loaded > mx:
        raise E.ErrorTooManyModules("Too many modules imported", pos)
    static = engine._static_modules.get(path)
    if static is not None:
        return static
    if path in st.imports:
        raise E.ErrorInModule(
            f"Circular import of module '{path}'",
            pos,
            module=path,
            inner=E.ErrorModuleNotFound(f"Circular import: {path}", pos, module=path),
        )
    resolver = engine._resolver
    try:
        found = resolver.resolve(engine, path, pos) if resolver is not None else None
    except RhaiError as e:
        # A module that does not compile is a broken module, not a syntax error of the importer.
        raise E.ErrorInModule(
            f"Error in module '{path}': {e.message}", pos, module=path, inner=e
        ) from None
    if found is None:
        raise E.ErrorModuleNotFound(f"Module not found: {path}", pos, module=path)
    if isinstance(found, R.Module):
        return found
    if isinstance(found, Mapping):
        from picloud.rhai.engine import module_from_members

        return module_from_members(path, found)
    st.imports = [*st.imports, path]
    try:
        return module_from_ast(st, found, path, pos)
    finally:
        st.imports = st.imports[:-1]


def module_ref(st: R.RunState, root: Any, ns: tuple[str, ...], pos: Position) -> R.Module:
    """Walk ``a::b::`` from an import alias (or a static module) to a module."""
    m = root
    if not isinstance(m, R.Module):
        m = st.gl.get("::" + ns[0])
    if not isinstance(m, R.Module):
        m = st.engine._static_modules.get(ns[0])
        if m is None:
            raise E.ErrorModuleNotFound(f"Module not found: {ns[0]}", pos, module=ns[0])
    for name in ns[1:]:
        sub = m.modules.get(name)
        if sub is None:
            raise E.ErrorModuleNotFound(
                f"Module not found: {'::'.join(ns)}", pos, module="::".join(ns)
            )
        m = sub
    return m


def module_var(st: R.RunState, m: R.Module, name: str, pos: Position) -> Any:
    """``m::name``."""
    if name in m.variables:
        return m.variables[name]
    raise R.var_not_found(f"{m.name}::{name}", pos)


def module_call(
    st: R.RunState, d: int, m: R.Module, name: str, args: list[Any], pos: Position
) -> Any:
    """``m::name(args)``: a module's script function or a host function."""
    sf = m.functions.get((name, len(args)))
    if sf is not None:
        saved_unit, saved_gl = st.unit, st.gl
        st.unit = _fallback_unit(sf.unit, saved_unit)
        st.gl = m.host.get("__gl__", {})
        try:
            return sf.pyfn(st, None, d + 1, *args)
        finally:
            st.unit, st.gl = saved_unit, saved_gl
    fn = m.host.get(name)
    if fn is not None and name != "__gl__":
        if isinstance(fn, R.NativeFn if hasattr(R, "NativeFn") else ()):  # pragma: no cover
            return R.invoke(st, d, fn, args, pos)
        try:
            return fn(*args)
        except RhaiError as e:
            raise R.at(e, pos) from None
        except TypeError:
            raise R.fn_not_found(st, f"{m.name}::{name}", args, pos) from None
    raise R.fn_not_found(st, f"{m.name}::{name}" if m.name else name, args, pos)


class _MergedUnit:
    """A module's functions first, then the importer's (module functions may call back)."""

    __slots__ = ("fns",)

    def __init__(self, own: Any, outer: Any) -> None:
        fns = dict(outer.fns) if outer is not None else {}
        fns.update(own.fns)
        self.fns = fns


def _fallback_unit(own: Any, outer: Any) -> Any:
    if outer is None or outer is own:
        return own
    return _MergedUnit(own, outer)


# ------------------------------------------------------------------ eval and capture calls


def do_eval(
    st: R.RunState,
    d: int,
    text: Any,
    names: tuple[str, ...],
    consts: tuple[bool, ...],
    vals: list[Any],
    pos: Position,
    top: bool = True,
) -> tuple[Any, list[Any]]:
    """``eval(text)``: run text in the caller's scope; returns ``(value, new values)``."""
    from picloud.rhai.engine import Scope

    if type(text) is not str:
        raise R.fn_not_found(st, "eval", [text], pos)
    engine = st.engine
    scope = Scope()
    outer = st.scope
    base = 0
    if outer is not None:
        for (n, v), c in zip(outer, outer._consts):
            scope._persist(n, v, c)
        base = len(scope)
    if st.cap:
        for n, v in st.cap.items():
            scope.push(n, v)
    for n, c, v in zip(names, consts, vals):
        scope._persist(n, v, c)
    end = len(scope)
    saved = (st.scope, st.unit)
    saved_gl = None if top else dict(st.gl)
    try:
        script = engine._parse(text, scope, False)
        if script.functions:
            raise E.ErrorParsing("WrongFnDefinition", "Functions cannot be defined in eval", pos)
        from picloud.rhai.compiler import compile_unit

        extern = frozenset(saved[1].fns) if saved[1] is not None else frozenset()
        unit = compile_unit(
            script, engine.options, st.max_ops != 0 or st.deadline is not None, extern
        )
        st.scope = scope
        st.unit = saved[1]
        value = unit.main(st, None, d + 1)
    except RhaiError as e:
        raise E.ErrorInFunctionCall(
            f"Error in call to function 'eval': {e}",
            pos,
            function="eval",
            source="",
            inner=e,
        ) from None
    finally:
        st.scope, st.unit = saved
        if saved_gl is not None:
            st.gl.clear()
            st.gl.update(saved_gl)
    if outer is not None:
        for i in range(base):
            outer._values[i] = scope._values[i]
    if st.cap:
        for i, n in enumerate(list(st.cap)):
            st.cap[n] = scope._values[base + i]
    new = [scope._values[scope._find(n)] for n in names]
    shadowed = {n for n in names if scope._find(n) >= end}
    extra = list(zip(scope._names[end:], scope._values[end:]))
    if extra:
        if st.cap is None:
            st.cap = {}
        for n, v in extra:
            st.cap[n] = v
    return value, new, shadowed  # type: ignore[return-value]


def capture_call(
    st: R.RunState,
    d: int,
    key: tuple[str, int],
    args: list[Any],
    names: tuple[str, ...],
    consts: tuple[bool, ...],
    vals: list[Any],
    pos: Position,
) -> tuple[Any, list[Any]]:
    """``f!(args)``: run the function's capture variant against the caller's variables."""
    unit = st.unit
    sf = unit.fns.get(key) if unit is not None else None
    if sf is None or sf.capture is None:
        return R.call_named(st, d, key[0], args, pos), list(vals)
    cap = dict(zip(names, vals))
    value = sf.capture(st, None, d + 1, cap, *args)
    return value, [cap[n] for n in names]


def capture_call_ptr(
    st: R.RunState,
    d: int,
    fp: Any,
    args: list[Any],
    names: tuple[str, ...],
    consts: tuple[bool, ...],
    vals: list[Any],
    pos: Position,
) -> tuple[Any, list[Any]]:
    """``call!(fp, args)``: a capture call through a function pointer."""
    if type(fp) is FnPtr and fp.fn is None:
        key = (fp.name, len(fp.curry) + len(args))
        return capture_call(st, d, key, [*fp.curry, *args], names, consts, vals, pos)
    return R.call_ptr(st, d, fp, args, None, pos), list(vals)


def cap_get(cap: dict[str, Any], name: str, pos: Position) -> Any:
    """Read a caller variable inside a capture call."""
    try:
        return cap[name]
    except KeyError:
        raise R.var_not_found(name, pos) from None


def cap_set(cap: dict[str, Any], name: str, value: Any, pos: Position) -> None:
    """Write a caller variable inside a capture call."""
    if name not in cap:
        raise R.var_not_found(name, pos)
    cap[name] = value


def is_def_var(st: R.RunState, name: Any) -> bool:
    """``is_def_var(name)`` for names the compiler could not see."""
    if type(name) is not str:
        return False
    if st.cap and name in st.cap:
        return True
    return st.scope is not None and st.scope._find(name) >= 0


def call_script_method(
    st: R.RunState, d: int, pyfn: Any, args: list[Any], pos: Position, const: bool
) -> Any:
    """``x.f(args)`` where ``f`` is a script function of this unit: ``this`` is boxed and written back."""
    box = [args[0]]
    r = pyfn(st, box, d + 1, *args[1:])
    if box[0] is not args[0]:
        if const:
            raise E.ErrorNonPureMethodCallOnConstant("Cannot modify constant", pos)
        args[0] = box[0]
    return r


def for_range(a: Any, b: Any, inclusive: bool, pos: Position) -> range:
    """``for x in a..b`` without building a range value."""
    if type(a) is not int or type(b) is not int:
        R.make_range(a, b, inclusive, pos)
    return range(a, b + 1 if inclusive else b)


def call_named_site(st: R.RunState, d: int, name: str, args: list[Any], pos: Position) -> Any:
    """A call that may reach a script function of another unit (eval'd code)."""
    return R.call_named(st, d, name, args, pos)


def register_helpers(helpers: dict[str, Any]) -> None:
    """Bind this module's run-time entry points into the generated-code helper table."""
    helpers.update(
        {
            "_h_import": do_import,
            "_h_module": module_ref,
            "_h_modvar": module_var,
            "_h_modcall": module_call,
            "_h_eval": do_eval,
            "_h_capcall": capture_call,
            "_h_capcallptr": capture_call_ptr,
            "_h_sfind": lambda st, name: st.scope is not None and st.scope._find(name) >= 0,
            "_h_capget": cap_get,
            "_h_capset": cap_set,
            "_h_isdefvar": is_def_var,
            "_h_callsm": call_script_method,
            "_h_forrange": for_range,
            "_h_mkthrow": R.throw,
            "_h_callnamed": call_named_site,
        }
    )


_ = FnPtr
