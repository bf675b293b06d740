"""The public face of the interpreter: ``Engine``, ``AST`` and ``Scope``.

An ``Engine`` holds options, the function library (standard + registered host
functions and types), static modules, a module resolver and print/debug hooks.
``compile`` parses once into an immutable ``AST`` that any thread may run;
each run gets its own ``RunState``, so runs never share mutable state.
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from picloud.rhai import errors as E
from picloud.rhai import runtime as R
from picloud.rhai.builtins import CORE, STANDARD, Library
from picloud.rhai.compiler import Unit, compile_unit
from picloud.rhai.errors import ErrorParsing, ErrorSystem, RhaiError
from picloud.rhai.options import EngineOptions
from picloud.rhai.sandbox import SandboxPolicy
from picloud.rhai.values import HOST_TYPE_NAMES

__all__ = ["AST", "Engine", "Scope"]


class Scope:
    """Variables and constants a host provides to a run; top-level ``let``s persist into it."""

    __slots__ = ("_consts", "_names", "_values")

    def __init__(self) -> None:
        self._names: list[str] = []
        self._values: list[Any] = []
        self._consts: list[bool] = []

    def _find(self, name: str) -> int:
        names = self._names
        for i in range(len(names) - 1, -1, -1):
            if names[i] == name:
                return i
        return -1

    def push(self, name: str, value: Any) -> Scope:
        """Add a variable (shadowing an older one of the same name)."""
        self._names.append(name)
        self._values.append(value)
        self._consts.append(False)
        return self

    def push_constant(self, name: str, value: Any) -> Scope:
        """Add a constant: scripts cannot assign to it."""
        self._names.append(name)
        self._values.append(value)
        self._consts.append(True)
        return self

    def set(self, name: str, value: Any) -> Scope:
        """Update the newest variable of that name, or add it; constants raise."""
        i = self._find(name)
        if i < 0:
            return self.push(name, value)
        if self._consts[i]:
            raise E.ErrorAssignmentToConstant(f"Cannot modify constant {name}", name=name)
        self._values[i] = value
        return self

    def get(self, name: str, default: Any = None) -> Any:
        """The newest value of a variable, or ``default``."""
        i = self._find(name)
        return self._values[i] if i >= 0 else default

    def contains(self, name: str) -> bool:
        """Whether a variable of that name exists."""
        return self._find(name) >= 0

    def is_constant(self, name: str) -> bool:
        """Whether the newest entry of that name is a constant."""
        i = self._find(name)
        return i >= 0 and self._consts[i]

    def names(self) -> list[str]:
        """Variable names in push order (duplicates for shadowed ones)."""
        return list(self._names)

    def constants(self) -> list[str]:
        """Names of constant entries."""
        return [n for n, c in zip(self._names, self._consts) if c]

    def _persist(self, name: str, value: Any, const: bool) -> None:
        self._names.append(name)
        self._values.append(value)
        self._consts.append(bool(const))

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(list(zip(self._names, self._values)))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) >= 0

    def __repr__(self) -> str:
        return f"Scope({dict(zip(self._names, self._values))!r})"


class AST:
    """A parsed script: immutable and safe to share; compiled lazily per engine options."""

    __slots__ = ("_lock", "_units", "expression", "script", "source")

    def __init__(self, script: Any, source: str, expression: bool = False) -> None:
        self.script = script
        self.source = source
        self.expression = expression
        self._units: dict[Any, Unit] = {}
        self._lock = threading.Lock()

    def unit(self, options: EngineOptions, checks: bool) -> Unit:
        """The compiled code for these options (compiled once, then cached)."""
        key = (options, checks)
        u = self._units.get(key)
        if u is None:
            with self._lock:
                u = self._units.get(key)
                if u is None:
                    try:
                        u = compile_unit(self.script, options, checks)
                    except (SyntaxError, RecursionError, MemoryError, OverflowError):
                        raise ErrorParsing(
                            "ExprTooDeep", "Expression exceeds maximum complexity"
                        ) from None
                    self._units[key] = u
        return u

    @property
    def functions(self) -> list[tuple[str, int]]:
        """``(name, arity)`` of every script function."""
        return [(f.name, len(f.params)) for f in self.script.functions]


def _default_print(text: str) -> None:
    print(text)


class Engine:
    """A configured Rhai interpreter; safe to use from several threads."""

    def __init__(
        self, options: EngineOptions | None = None, policy: SandboxPolicy | None = None
    ) -> None:
        self.options = options if options is not None else EngineOptions()
        self.policy = policy if policy is not None else SandboxPolicy()
        base = CORE if self.options.raw_engine else STANDARD
        self._lib: Library = base.merge(Library())
        self._cache: dict[Any, Any] = {}
        self._on_budget: Callable[[], None] | None = None
        self._on_print: Callable[[str], None] = _default_print
        self._on_debug: Callable[[str], None] = _default_print
        self._static_modules: dict[str, R.Module] = {}
        self._resolver: Any = None
        self._host_types: dict[type, str] = {}
        self.policy.prepare_interpreter(self.options)

    # ------------------------------------------------------------------ host API

    def on_print(self, cb: Callable[[str], None]) -> Engine:
        """Send ``print`` output to ``cb``."""
        self._on_print = cb
        return self

    def on_debug(self, cb: Callable[[str], None]) -> Engine:
        """Send ``debug`` output to ``cb``."""
        self._on_debug = cb
        return self

    def on_budget(self, cb: Callable[[], None] | None) -> Engine:
        """Call ``cb`` at each budget check of a run with limits (about every 2,000 operations).

        A host that runs several scripts on one thread uses it to let the
        others go first (picloud/execution/reactor.py); it may raise to end
        the run.
        """
        self._on_budget = cb
        return self

    def register_fn(
        self,
        name: str,
        fn: Callable[..., Any],
        params: tuple[type | None, ...] | None = None,
        *,
        mutating: bool = False,
        needs_ctx: bool = False,
        method_only: bool = False,
    ) -> Engine:
        """Expose a Python function to scripts (``params``: exact types, ``None`` = any)."""
        if params is None:
            params = (None,) * _arity(fn, needs_ctx)
        self._lib.register(
            name, tuple(params), fn, mutating=mutating, needs_ctx=needs_ctx, method_only=method_only
        )
        self._cache.clear()
        return self

    def register_type(
        self,
        py_type: type,
        name: str | None = None,
        *,
        methods: Mapping[str, Callable[..., Any]] | None = None,
        getters: Mapping[str, Callable[[Any], Any]] | None = None,
        setters: Mapping[str, Callable[[Any, Any], Any]] | None = None,
        indexer_get: Callable[[Any, Any], Any] | None = None,
        indexer_set: Callable[[Any, Any, Any], Any] | None = None,
    ) -> Engine:
        """Expose a host type: its ``type_of`` name, methods (``this`` first) and properties."""
        tname = name or py_type.__name__
        self._host_types[py_type] = tname
        HOST_TYPE_NAMES[py_type] = tname
        for mname, fn in (methods or {}).items():
            arity = _arity(fn, False)
            self._lib.register(mname, (py_type,) + (None,) * (arity - 1), fn)
        for prop, fn in (getters or {}).items():
            self._lib.register("get$" + prop, (py_type,), fn)
        for prop, setter in (setters or {}).items():
            self._lib.register("set$" + prop, (py_type, None), _setter(setter), mutating=True)
        if indexer_get is not None:
            self._lib.register("index$get$", (py_type, None), indexer_get)
        if indexer_set is not None:
            self._lib.register("index$set$", (py_type, None, None), indexer_set)
        self._cache.clear()
        return self

    def register_static_module(self, name: str, members: Mapping[str, Any] | R.Module) -> Engine:
        """Expose a namespace: ``name::f(...)`` calls, ``name::X`` constants."""
        self._static_modules[name] = (
            members if isinstance(members, R.Module) else module_from_members(name, members)
        )
        return self

    def set_module_resolver(self, resolver: Any) -> Engine:
        """Install the resolver ``import`` uses: ``resolver.resolve(engine, path, pos)``."""
        self._resolver = resolver
        return self

    # ------------------------------------------------------------------ compile

    def compile(self, source: str, scope: Scope | None = None) -> AST:
        """Parse a script into a shareable ``AST`` (parse errors raise ``ErrorParsing``)."""
        return AST(self._parse(source, scope, False), source)

    def compile_expression(self, source: str, scope: Scope | None = None) -> AST:
        """Parse a single expression (no statements or blocks)."""
        return AST(self._parse(source, scope, True), source, expression=True)

    def _parse(
        self,
        source: str,
        scope: Scope | None,
        expression_only: bool,
        extra_names: tuple[str, ...] = (),
    ) -> Any:
        from picloud.rhai.parser import parse

        if not isinstance(source, str):
            raise ErrorSystem("Script source must be a string")
        self.policy.check_source(source, self.options)
        names = tuple(scope.names()) + extra_names if scope is not None else extra_names
        consts = tuple(scope.constants()) if scope is not None else ()
        try:
            return parse(
                source,
                self.options,
                expression_only=expression_only,
                scope_names=names,
                scope_constants=consts,
            )
        except RhaiError:
            raise
        except RecursionError:
            raise ErrorParsing("ExprTooDeep", "Expression exceeds maximum complexity") from None
        except Exception as e:
            raise ErrorSystem(f"Internal parser error: {type(e).__name__}") from e

    # ------------------------------------------------------------------ run

    def eval(self, source: str, scope: Scope | None = None, *, timeout: float | None = None) -> Any:
        """Compile and run a script; returns its value."""
        return self.eval_ast(self.compile(source, scope), scope, timeout=timeout)

    def run(self, source: str, scope: Scope | None = None, *, timeout: float | None = None) -> None:
        """Compile and run a script, discarding its value."""
        self.eval_ast(self.compile(source, scope), scope, timeout=timeout)

    def eval_expression(
        self, source: str, scope: Scope | None = None, *, timeout: float | None = None
    ) -> Any:
        """Evaluate a single expression."""
        return self.eval_ast(self.compile_expression(source, scope), scope, timeout=timeout)

    def run_ast(
        self, ast: AST, scope: Scope | None = None, *, timeout: float | None = None
    ) -> None:
        """Run a compiled script, discarding its value."""
        self.eval_ast(ast, scope, timeout=timeout)

    def eval_ast(
        self, ast: AST, scope: Scope | None = None, *, timeout: float | None = None
    ) -> Any:
        """Run a compiled script against an optional scope; ``timeout`` (seconds) bounds wall time."""
        limit = timeout if timeout is not None else self.options.max_run_seconds
        deadline = time.monotonic() + limit if limit else None
        checks = bool(self.options.max_operations or deadline is not None)
        unit = ast.unit(self.options, checks)
        st = R.RunState(self, unit, scope, deadline)
        return self._guard(lambda: unit.main(st, None, 0))

    def call_fn(
        self,
        ast: AST,
        name: str,
        *args: Any,
        scope: Scope | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Call a script function of a compiled script (its top level does not run)."""
        limit = timeout if timeout is not None else self.options.max_run_seconds
        deadline = time.monotonic() + limit if limit else None
        unit = ast.unit(self.options, bool(self.options.max_operations or deadline is not None))
        sf = unit.fns.get((name, len(args)))
        if sf is None:
            raise E.ErrorFunctionNotFound(f"Function not found: {name}", function=name)
        st = R.RunState(self, unit, scope, deadline)
        return self._guard(lambda: sf.pyfn(st, None, 1, *args))

    def _guard(self, fn: Callable[[], Any]) -> Any:
        """Run generated code; convert anything that is not a Rhai error into one."""
        try:
            return fn()
        except RhaiError:
            raise
        except RecursionError:
            raise E.ErrorStackOverflow("Stack overflow") from None
        except MemoryError:
            raise E.ErrorDataTooLarge("Out of memory", name="memory") from None
        except Exception as e:
            raise ErrorSystem(f"Internal error: {type(e).__name__}") from e


def _arity(fn: Callable[..., Any], needs_ctx: bool) -> int:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 1
    n = sum(
        1
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )
    return n - 1 if needs_ctx else n


def _setter(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def set_(obj: Any, value: Any) -> tuple[Any, None]:
        fn(obj, value)
        return obj, None

    return set_


def module_from_members(name: str, members: Mapping[str, Any]) -> R.Module:
    """A static module from a mapping of functions, constants and sub-mappings."""
    m = R.Module(name)
    for key, value in members.items():
        if isinstance(value, R.Module):
            m.modules[key] = value
        elif isinstance(value, Mapping) and not isinstance(value, dict):
            m.modules[key] = module_from_members(key, value)
        elif callable(value) and not isinstance(value, type):
            m.host[key] = value
        else:
            m.variables[key] = value
    return m


_ = sys
