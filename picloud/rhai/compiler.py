"""Compile a Rhai AST into Python code objects, the way Jinja's compiler does.

Each script becomes one generated Python module: every script function, every
closure and the top level are Python functions. Rhai variables are Python
locals with mangled names (``l3_x``); variables captured by closures live in
``Shared`` boxes. Literals, positions and helper functions are bound as
module globals (``_k12``, ``_p4``, ``_h_add``): no text from the script is ever
spliced into the generated source — identifiers are checked and mangled, and
every value is a constant reference.

Calling convention of a generated function: ``f(st, tb, d, *params)`` where
``st`` is the ``RunState``, ``tb`` the ``this`` box (a one-item list, or
``None``) and ``d`` the call depth.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from picloud.rhai import nodes as N
from picloud.rhai import runtime as R
from picloud.rhai._compiler_expr import Var
from picloud.rhai._compiler_fast import sort_hint
from picloud.rhai._compiler_stmts import StmtCompiler
from picloud.rhai._compiler_types import collect, float_names, int_names
from picloud.rhai.errors import ErrorParsing, Position
from picloud.rhai.options import EngineOptions

__all__ = ["Unit", "compile_unit"]

#: Type names accepted in ``fn TYPE.name()`` and the ``type_of`` names they mean.
_TYPE_ALIASES = {
    "int": "i64",
    "float": "f64",
    "INT": "i64",
    "FLOAT": "f64",
    "str": "string",
    "String": "string",
    "Array": "array",
    "Map": "map",
    "Blob": "blob",
    "unit": "()",
}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Unit:
    """A compiled script: its top-level function and its script functions."""

    __slots__ = ("checks", "exports", "fns", "lazy", "main", "script", "source", "top_names")

    def __init__(self, script: N.Script, checks: bool) -> None:
        self.script = script
        self.checks = checks
        self.main: Any = None
        self.fns: dict[tuple[str, int], R.ScriptFn] = {}
        self.source = ""
        self.top_names: list[str] = []
        self.exports: list[tuple[str, str]] = []
        self.lazy: Any = None


class FnCtx:
    """Compile-time state of one generated Python function."""

    def __init__(self, kind: str, shared: set[str]) -> None:
        self.kind = kind  # "main", "fn", "closure", "capture"
        self.lines: list[str] = []
        self.indent = 1
        self.blocks: list[dict[str, Var]] = [{}]
        self.shared = shared
        self.loops: list[str | None] = []
        self.catches: list[str] = []
        self.uses_this = False
        self.nvars = 0
        self.top_decls: list[tuple[str, Var]] = []
        self.restores: list[list[str]] = [[]]
        self.last_ops: tuple[int, int, int] | None = None
        self.uses_unit = False

    def prologue(self) -> list[str]:
        """Lines run at function entry (the running unit, hoisted for `.call` sites)."""
        # st.unit is the same for a function's whole body: callers that switch it restore it.
        return ["    _u = st.unit"] if self.uses_unit else []
        self.ints: set[str] = set()
        self.floats: set[str] = set()


def _ident(name: str) -> str:
    """Validate a Rhai identifier before it becomes part of a mangled Python name."""
    if not _IDENT.match(name):
        raise ErrorParsing("BadInput", f"Invalid identifier: {name!r}")
    return name


class Compiler(StmtCompiler):
    """Generates one Python module for a script."""

    def __init__(
        self,
        script: N.Script,
        options: EngineOptions,
        checks: bool,
        extern_fns: frozenset[tuple[str, int]] = frozenset(),
    ) -> None:
        self.script = script
        self.options = options
        self.checks = checks
        self.size_checks = bool(
            options.max_string_size or options.max_array_size or options.max_map_size
        )
        self.consts: dict[Any, str] = {}
        self.ns: dict[str, Any] = {}
        self.out: list[str] = []
        self.n = 0
        self.fn_names = {f.name for f in script.functions}
        self.fn_names_frozen = frozenset(self.fn_names)
        self.fn_arities = {(f.name, len(f.params)) for f in script.functions}
        self.fx: FnCtx = FnCtx("main", set())
        self.capture_targets: set[tuple[str, int]] = set()
        self.extern_fns = extern_fns
        self.fn_py: dict[tuple[str, int], str] = {}
        for f in script.functions:
            self.fn_py[(f.name, len(f.params))] = f"_f{len(self.fn_py)}_{_ident(f.name)}"

    # ------------------------------------------------------------------ names & constants

    def tmp(self, prefix: str = "t") -> str:
        """A fresh temporary name."""
        self.n += 1
        return f"_{prefix}{self.n}"

    def const(self, value: Any) -> str:
        """The global name bound to a constant value (deduplicated by type and value)."""
        if value is None:
            return "None"
        if value is True:
            return "True"
        if value is False:
            return "False"
        try:
            key: Any = (type(value), value)
            hash(key)
        except TypeError:
            key = ("id", id(value))
        name = self.consts.get(key)
        if name is None:
            name = f"_k{len(self.consts)}"
            self.consts[key] = name
            self.ns[name] = value
        return name

    def pos(self, node: N.Node) -> str:
        """The constant name of a node's position."""
        p = node.pos
        return self.const(Position(p[0], p[1]) if p else Position(0, 0))

    # ------------------------------------------------------------------ emission

    def emit(self, line: str) -> None:
        """Append one line of generated code at the current indentation."""
        fx = self.fx
        fx.lines.append("    " * fx.indent + line)

    def mark(self) -> int:
        """The current line count (for spilling earlier operands)."""
        return len(self.fx.lines)

    def insert(self, at: int, line: str) -> None:
        """Insert a line at an earlier mark, at the current indentation."""
        self.fx.lines.insert(at, "    " * self.fx.indent + line)

    def ops(self, n: int) -> None:
        """Count ``n`` operations (only when limits are compiled in).

        Back-to-back counts with nothing in between are merged into one update.
        """
        if not (self.checks and n > 0):
            return
        fx = self.fx
        prev = getattr(fx, "last_ops", None)
        if prev is not None and prev[0] == len(fx.lines) and prev[1] == fx.indent:
            total = prev[2] + int(n)
            fx.lines[-2] = "    " * fx.indent + f"st.ops += {total}"
            fx.last_ops = (len(fx.lines), fx.indent, total)
            return
        self.emit(f"st.ops += {int(n)}")
        self.emit("if st.ops > st.lim: st.over_budget()")
        fx.last_ops = (len(fx.lines), fx.indent, int(n))

    # ------------------------------------------------------------------ scopes

    def push_block(self) -> None:
        """Open a Rhai block scope."""
        self.fx.blocks.append({})
        self.fx.restores.append([])

    def pop_block(self) -> None:
        """Close a Rhai block scope."""
        self.fx.blocks.pop()
        for line in self.fx.restores.pop():
            self.emit(line)

    def lookup(self, name: str) -> Var | None:
        """The innermost visible variable of that name."""
        for b in reversed(self.fx.blocks):
            v = b.get(name)
            if v is not None:
                return v
        return None

    def declare(self, name: str, const: bool = False, pos: str | None = None) -> Var:
        """A new variable in the current block (shadowing any older one)."""
        _ident(name)
        self.n += 1
        fx = self.fx
        v = Var(name, f"l{self.n}_{name}", name in fx.shared, const)
        v.is_int = name in fx.ints
        v.is_float = name in fx.floats
        fx.blocks[-1][name] = v
        if fx.kind == "main" and len(fx.blocks) == 2:
            fx.top_decls.append((name, v))
        mv = self.options.max_variables
        if mv and pos is not None:
            count = len({n for b in fx.blocks for n in b})
            if count > mv:
                self.emit(f"raise _h_E.ErrorTooManyVariables('Too many variables', {pos})")
        return v

    def visible(self) -> dict[str, Var]:
        """Every visible variable by name (innermost wins)."""
        out: dict[str, Var] = {}
        for b in self.fx.blocks:
            out.update(b)
        return out

    # ------------------------------------------------------------------ functions

    def begin_fn(
        self,
        kind: str,
        body: N.Node,
        extra: tuple[str, ...] = (),
        params: list[str] | tuple[str, ...] = (),
    ) -> FnCtx:
        """Start generating a new Python function (saved context is returned)."""
        saved = self.fx
        self.fx = FnCtx(kind, shared_names(body) | set(extra))
        ps = list(params) + list(extra)
        info = collect(body, ps, self.fx.shared, self.fn_names_frozen)
        self.fx.ints = int_names(body, ps, self.fx.shared, self.fn_names_frozen, info)
        self.fx.floats = float_names(
            body, ps, self.fx.shared, self.fx.ints, self.fn_names_frozen, info
        )
        self.fx.blocks.append({})
        return saved

    def fn_def(self, f: N.FnDef, capture: bool = False) -> tuple[str, bool]:
        """Generate a script function; returns its Python name and whether it uses ``this``."""
        saved = self.begin_fn("capture" if capture else "fn", f.body, params=f.params)
        if capture:
            self.fx.ints = set()
            self.fx.floats = set()
        params = [self.declare(p) for p in f.params]
        if capture:
            self.fx.kind = "capture"
        pyname = self.tmp("cf") if capture else self.fn_py[(f.name, len(f.params))]
        p = self.pos(f)
        self.emit(f"if d > {int(self.options.max_call_levels)}: raise _h_overflow(st, {p})")
        if f.this_type is not None:
            # `fn int.f()` is only a method of that type: anything else does not find it.
            want = self.const(_TYPE_ALIASES.get(f.this_type, f.this_type))
            self.emit(
                f"if tb is None or _h_tname(tb[0]) != {want}: "
                f"raise _h_E.ErrorFunctionNotFound({self.const('Function not found: ' + f.name)}, {p})"
            )
        mv = self.options.max_variables
        if mv and len(f.params) > mv:
            self.emit(f"raise _h_E.ErrorTooManyVariables('Too many variables', {p})")
        for v in params:
            if v.shared:
                self.emit(f"{v.py} = _h_Shared({v.py})")
        self.emit("try:")
        self.fx.indent += 1
        self.ops(1)
        self.block_stmts(f.body.statements, "ret")
        self.fx.indent -= 1
        self.emit("except (_h_RhaiError, RecursionError) as _e:")
        self.emit(f"    raise _h_wrapfn(_e, {self.const(f.name)}, {p}) from None")
        head = ["cap"] if capture else []
        sig = ", ".join(["st", "tb", "d", *head, *[v.py for v in params]])
        fx = self.fx
        self.fx = saved
        self.out.append(f"def {pyname}({sig}):")
        self.out.extend(fx.prologue())
        self.out.extend(fx.lines)
        self.out.append("")
        return pyname, fx.uses_this

    def closure(self, c: N.Closure) -> str:
        """Generate a closure's function; returns an expression making its ``FnPtr``."""
        cells: list[Var] = []
        names: list[str] = []
        for name in c.captures:
            v = self.lookup(name)
            if v is not None:
                cells.append(v)
                names.append(name)
        saved = self.begin_fn("closure", c.body, tuple(names), params=c.params)
        outer_kind = saved.kind
        if outer_kind in ("capture",):
            self.fx.kind = "closure"
        inner_cells = []
        for name, ov in zip(names, cells):
            self.n += 1
            v = Var(name, f"c{self.n}_{_ident(name)}", True, ov.const)
            self.fx.blocks[-1][name] = v
            inner_cells.append(v)
        self.push_block()
        params = [self.declare(p) for p in c.params]
        pyname = self.tmp("c")
        p = self.pos(c)
        self.emit(f"if d > {int(self.options.max_call_levels)}: raise _h_overflow(st, {p})")
        self.ops(1)
        for v in params:
            if v.shared:
                self.emit(f"{v.py} = _h_Shared({v.py})")
        self.emit("try:")
        self.fx.indent += 1
        self.expr_into(c.body, "ret")
        self.fx.indent -= 1
        self.emit("except (_h_RhaiError, RecursionError) as _e:")
        self.emit(f"    raise _h_wrapfn(_e, {self.const('anonymous')}, {p}) from None")
        # A factory binds the captured boxes as Python closure cells, so a call passes only
        # the Rhai arguments.
        sig = ", ".join(["st", "tb", "d", *[v.py for v in params]])
        fx = self.fx
        self.fx = saved
        self.out.append(f"def _mk{pyname}({', '.join(v.py for v in inner_cells)}):")
        self.out.append(f"    def {pyname}({sig}):")
        self.out.extend("    " + ln for ln in fx.prologue())
        self.out.extend("    " + ln for ln in fx.lines)
        hint = sort_hint(c)
        if hint:
            self.out.append(f"    {pyname}.sort_hint = {hint}")
        self.out.append(f"    return {pyname}")
        self.out.append("")
        for ov in cells:
            if not ov.shared:
                # A capture the pre-pass could not see (e.g. from eval): box it now.
                ov.shared = True
        cell_args = ", ".join(ov.py for ov in cells)
        return f"_h_mkclosure(st, _mk{pyname}({cell_args}), ({cell_args}{',' if cells else ''}), {len(c.params)})"

    def main(self) -> None:
        """Generate the top-level function."""
        self.fx = FnCtx("main", shared_names(self.script))
        info = collect(self.script.statements, [], self.fx.shared, self.fn_names_frozen)
        self.fx.ints = int_names(
            self.script.statements, [], self.fx.shared, self.fn_names_frozen, info
        )
        self.fx.floats = float_names(
            self.script.statements, [], self.fx.shared, self.fx.ints, self.fn_names_frozen, info
        )
        self.fx.blocks.append({})
        self.emit("try:")
        self.fx.indent += 1
        start = self.mark()
        self.block_stmts(self.script.statements, "ret", top=True)
        self.fx.indent -= 1
        decls = self.fx.top_decls
        if decls:
            # Top-level variables persist into the host scope, in declaration order.
            names = self.const(tuple(name for name, _ in decls))
            consts = self.const(tuple(v.const for _, v in decls))
            vals = ", ".join(v.py for _, v in decls)
            self.emit("finally:")
            self.emit(f"    if st.scope is not None: _h_persist(st, {names}, {consts}, ({vals},))")
            self.fx.lines.insert(
                start - 1, "    " + " = ".join(v.py for _, v in decls) + " = _h_UNSET"
            )
        else:
            self.emit("finally:")
            self.emit("    pass")
        fx = self.fx
        self.out.append("def _main(st, tb, d):")
        self.out.extend(fx.prologue())
        self.out.extend(fx.lines)
        self.out.append("")


def shared_names(body: Any) -> set[str]:
    """Names captured by closures directly inside ``body`` (they become ``Shared`` boxes)."""
    out: set[str] = set()
    stack = [body]
    while stack:
        n = stack.pop()
        if isinstance(n, N.Closure):
            out.update(n.captures)
            continue
        if isinstance(n, N.FnDef):
            continue
        if isinstance(n, (list, tuple)):
            stack.extend(n)
        elif isinstance(n, (N.Node, N.SwitchCase)):
            stack.extend(children(n))
    return out


_FIELDS_CACHE: dict[type, tuple[str, ...]] = {}
_CHILDREN_CACHE: dict[type, Any] = {}


def _fields(n: Any) -> tuple[str, ...]:
    t = type(n)
    f = _FIELDS_CACHE.get(t)
    if f is None:
        import dataclasses

        f = tuple(
            x.name
            for x in dataclasses.fields(t)
            if x.name not in ("pos", "constants", "functions", "imports")
        )
        _FIELDS_CACHE[t] = f
    return f


def children(n: Any) -> tuple[Any, ...]:
    """A node's child values (one C-level ``attrgetter`` call per node)."""
    t = type(n)
    get = _CHILDREN_CACHE.get(t)
    if get is None:
        import operator

        names = _fields(n)
        if not names:
            get = lambda _n: ()
        elif len(names) == 1:
            one = operator.attrgetter(names[0])
            get = lambda x: (one(x),)
        else:
            get = operator.attrgetter(*names)
        _CHILDREN_CACHE[t] = get
    return get(n)  # type: ignore[no-any-return]


def compile_unit(
    script: N.Script,
    options: EngineOptions,
    checks: bool,
    extern_fns: frozenset[tuple[str, int]] = frozenset(),
) -> Unit:
    """Compile a parsed script into a ``Unit``.

    The top level is compiled at once; each script function is generated and
    compiled on its first call (a stub stands in until then), so a large
    script with many functions compiles quickly and pays only for what runs.
    """
    c = Compiler(script, options, checks, extern_fns)
    unit = Unit(script, checks)
    ns: dict[str, Any] = {"__builtins__": _SAFE_BUILTINS}
    ns.update(HELPERS)
    lazy = _Lazy(c, unit, ns)
    for f in script.functions:
        key = (f.name, len(f.params))
        pyname = c.fn_py[key]
        sf = R.ScriptFn(f.name, len(f.params), lazy.stub(f, pyname), True, f.private, unit, None)
        unit.fns[key] = sf
        ns[pyname] = sf.pyfn
    c.main()
    lazy.load("_main")
    unit.main = ns["_main"]
    unit.lazy = lazy
    return unit


class _Lazy:
    """Generates and compiles script functions on first use (thread-safe)."""

    def __init__(self, c: Compiler, unit: Unit, ns: dict[str, Any]) -> None:
        self.c = c
        self.unit = unit
        self.ns = ns
        self.lock = threading.RLock()
        self.captures_done: set[tuple[str, int]] = set()

    def load(self, *names: str) -> None:
        """Compile the code generated since the last load into the namespace."""
        c = self.c
        src = "\n".join(c.out)
        c.out = []
        self.ns.update(c.ns)
        try:
            code = compile(src, "<rhai>", "exec")
        except (SyntaxError, RecursionError, MemoryError, OverflowError):
            raise ErrorParsing("ExprTooDeep", "Expression exceeds maximum complexity") from None
        exec(code, self.ns)  # noqa: S102 - generated source: mangled names and constant references only
        self.unit.source += src + "\n"
        self._captures()

    def _captures(self) -> None:
        c = self.c
        todo = [k for k in c.capture_targets if k not in self.captures_done]
        if not todo:
            return
        made: list[tuple[tuple[str, int], str]] = []
        for key in todo:
            self.captures_done.add(key)
            for f in self.c.script.functions:
                if (f.name, len(f.params)) == key:
                    pyname, _ = c.fn_def(f, capture=True)
                    made.append((key, pyname))
        self.load()
        for key, pyname in made:
            self.unit.fns[key].capture = self.ns[pyname]

    def stub(self, f: N.FnDef, pyname: str) -> Any:
        """A placeholder that compiles ``f`` on first call, then forwards to it."""
        key = (f.name, len(f.params))

        def first_call(st: Any, tb: Any, d: int, *args: Any) -> Any:
            real = self.ns.get(pyname)
            if real is first_call:
                with self.lock:
                    real = self.ns.get(pyname)
                    if real is first_call:
                        _, uses_this = self.c.fn_def(f)
                        self.load()
                        real = self.ns[pyname]
                        sf = self.unit.fns[key]
                        sf.uses_this = uses_this
                        sf.pyfn = real
            return real(st, tb, d, *args)  # type: ignore[misc]

        return first_call

    def ensure_all(self) -> None:
        """Compile every function now (for tools that want the whole module)."""
        for f in self.c.script.functions:
            sf = self.unit.fns[(f.name, len(f.params))]
            pyname = self.c.fn_py[(f.name, len(f.params))]
            if self.ns.get(pyname) is sf.pyfn and getattr(sf.pyfn, "__name__", "") == "first_call":
                with self.lock:
                    if getattr(self.ns.get(pyname), "__name__", "") == "first_call":
                        _, sf.uses_this = self.c.fn_def(f)
                        self.load()
                        sf.pyfn = self.ns[pyname]


_SAFE_BUILTINS = {
    "type": type,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "range": range,
    "enumerate": enumerate,
    "len": len,
    "isinstance": isinstance,
    "RecursionError": RecursionError,
    "map": map,
}

from picloud.rhai._compiler_helpers import HELPERS
