"""Expression and statement code generation (mixed into ``compiler.Compiler``).

``expr(node)`` returns a Python expression and may first emit statements
(blocks, loops, ``switch`` used as values); ``expr_into(node, dest)`` writes a
value into a destination: ``None`` (discard), ``"ret"`` (return it) or a
Python local name. Int arithmetic is emitted inline with a ``type(x) is int``
guard and a range check, falling back to the library's operator functions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from picloud.rhai import nodes as N
from picloud.rhai.values import Char, FnPtr, RhaiRange

if TYPE_CHECKING:
    from picloud.rhai.compiler import FnCtx

__all__ = ["ExprCompiler", "Var"]

_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CMP = frozenset(("==", "!=", "<", "<=", ">", ">="))
_BOOL_OPS = _CMP | {"in", "!in"}
_FAST = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "%": "mod",
    "**": "pow",
    "<<": "shl",
    ">>": "shr",
    "&": "bit_and",
    "|": "bit_or",
    "^": "bit_xor",
    "==": "eq",
    "!=": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
}
_ARITH = frozenset(("+", "-", "*", "/", "%", "**", "<<", ">>", "&", "|", "^"))
_CONTROL = (N.If, N.Switch, N.While, N.Loop, N.DoLoop, N.For, N.Block)
_JUMPS = (N.Break, N.Continue, N.Return, N.Throw)


class Var:
    """A compile-time variable: its Python name and whether it is boxed or constant."""

    __slots__ = ("const", "is_float", "is_int", "name", "py", "shared")

    def __init__(self, name: str, py: str, shared: bool, const: bool) -> None:
        self.name = name
        self.py = py
        self.shared = shared
        self.const = const
        self.is_int = False
        self.is_float = False

    @property
    def read(self) -> str:
        """The expression reading the variable."""
        return f"{self.py}.v" if self.shared else self.py


def is_lvalue(node: N.Expr) -> bool:
    """Whether reading ``node`` may alias storage (so the value must be copied)."""
    return isinstance(node, (N.Variable, N.ThisExpr, N.Index, N.Property))


def chain_safe(node: N.Expr) -> bool:
    """Whether an inner link of a ``?.``/``?[`` chain is safe (a ``()`` skips the rest)."""
    t = getattr(node, "target", None)
    while isinstance(t, (N.Property, N.Index, N.MethodCall)):
        if t.safe:
            return True
        t = t.target
    return False


def is_static_bool(node: N.Expr) -> bool:
    """Whether ``node`` always evaluates to a ``bool`` (no run-time check needed)."""
    if isinstance(node, N.BoolLit):
        return True
    if isinstance(node, (N.And, N.Or)):
        return True
    if isinstance(node, N.Binary) and node.op in _BOOL_OPS:
        return True
    return isinstance(node, N.Unary) and node.op == "!"


class ExprCompiler:
    """Code generation for expressions and statements."""

    fx: FnCtx
    options: Any
    checks: bool
    size_checks: bool
    fn_arities: set[tuple[str, int]]
    fn_names: set[str]
    fn_py: dict[tuple[str, int], str]

    # provided by Compiler / StmtCompiler (declared here for the type checker)
    def emit(self, line: str) -> None:
        raise NotImplementedError

    def tmp(self, prefix: str = "t") -> str:
        raise NotImplementedError

    def const(self, value: Any) -> str:
        raise NotImplementedError

    def pos(self, node: N.Node) -> str:
        raise NotImplementedError

    def mark(self) -> int:
        raise NotImplementedError

    def insert(self, at: int, line: str) -> None:
        raise NotImplementedError

    def ops(self, n: int) -> None:
        raise NotImplementedError

    def push_block(self) -> None:
        raise NotImplementedError

    def pop_block(self) -> None:
        raise NotImplementedError

    def lookup(self, name: str) -> Var | None:
        raise NotImplementedError

    def declare(self, name: str, const: bool = False, pos: str | None = None) -> Var:
        raise NotImplementedError

    def visible(self) -> dict[str, Var]:
        raise NotImplementedError

    def closure(self, c: N.Closure) -> str:
        raise NotImplementedError

    def block_stmts(self, stmts: list[N.Stmt], dest: str | None, top: bool = False) -> None:
        raise NotImplementedError

    def value_of(self, node: N.Expr) -> str:
        raise NotImplementedError

    def copy_code(self, code: str) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers

    def capture(self, fn: Any) -> tuple[Any, list[str]]:
        """Run ``fn`` and take back the lines it emitted (to re-indent them elsewhere)."""
        m = self.mark()
        r = fn()
        lines = self.fx.lines[m:]
        del self.fx.lines[m:]
        return r, lines

    def put(self, lines: list[str]) -> None:
        """Emit captured lines one level deeper than they were captured."""
        self.fx.lines.extend("    " + ln for ln in lines)

    def atom(self, code: str) -> str:
        """``code`` if it can be evaluated twice, else a temp assigned by a statement."""
        if _SIMPLE.match(code) or code.endswith(".v") and _SIMPLE.match(code[:-2]):
            return code
        t = self.tmp()
        self.emit(f"{t} = {code}")
        return t

    def seq(self, nodes: list[N.Expr], copy: bool = False) -> list[str]:
        """Compile operands in order, spilling earlier ones if a later one emits statements."""
        out: list[str] = []
        for n in nodes:
            m = self.mark()
            code = self.expr(n)
            if copy and is_lvalue(n) and not self.static_int(n) and not self.static_float(n):
                code = self.copy_code(code)
            if self.mark() > m and out:
                for i, prev in enumerate(out):
                    if prev in ("None", "True", "False") or prev.startswith("_k"):
                        continue
                    t = self.tmp()
                    self.insert(m, f"{t} = {prev}")
                    m += 1
                    out[i] = t
            out.append(code)
        return out

    def emit_dest(self, dest: str | None, code: str) -> None:
        """Store ``code`` into ``dest``."""
        if dest is None:
            if not (_SIMPLE.match(code) or code.endswith(".v")):
                self.emit(code)
        elif dest == "ret":
            self.emit(f"return {code}")
        else:
            self.emit(f"{dest} = {code}")

    def count(self, node: Any) -> int:
        """Operations a statement costs (expression nodes, not nested blocks)."""
        if not self.checks:
            return 0
        n = 0
        stack = [node]
        while stack:
            x = stack.pop()
            if isinstance(x, list):
                stack.extend(x)
                continue
            if isinstance(x, tuple):
                stack.extend(x)
                continue
            if not isinstance(x, N.Node) or isinstance(x, (N.Block, N.Closure)):
                continue
            n += 1
            if isinstance(x, (N.While, N.Loop, N.DoLoop, N.For, N.FnDef)):
                continue
            if isinstance(x, N.If):
                stack.append(x.condition)
                continue
            if isinstance(x, N.Switch):
                stack.append(x.subject)
                continue
            if isinstance(x, N.TryCatch):
                continue
            from picloud.rhai.compiler import children

            stack.extend(children(x))
        return n

    # ------------------------------------------------------------------ lvalues

    def lvalue(self, node: N.Expr) -> Any:
        """An assignable place for ``node``."""
        from picloud.rhai._compiler_lvalue import make_lvalue

        return make_lvalue(self, node)

    # ------------------------------------------------------------------ control flow

    def expr_into(self, node: N.Expr, dest: str | None) -> None:
        """Compile ``node`` writing its value into ``dest``."""
        from picloud.rhai import _compiler_flow as F

        if isinstance(node, N.If):
            F.if_(self, node, dest)
        elif isinstance(node, N.Switch):
            F.switch(self, node, dest)
        elif isinstance(node, (N.While, N.Loop, N.DoLoop)):
            F.loop(self, node, dest)
        elif isinstance(node, N.For):
            F.for_(self, node, dest)
        elif isinstance(node, N.Block):
            self.push_block()
            self.block_stmts(node.statements, dest)
            self.pop_block()
        elif isinstance(node, _JUMPS):
            F.jump(self, node)
        else:
            self.emit_dest(dest, self.expr(node))

    def cond(self, node: N.Expr) -> str:
        """A condition expression guaranteed to be a ``bool``."""
        code = self.expr(node)
        if is_static_bool(node):
            return code
        return f"_h_cb({code}, {self.pos(node)})"

    # ------------------------------------------------------------------ expressions

    def expr(self, node: N.Expr) -> str:
        """Compile an expression to Python source (possibly emitting statements first)."""
        m = getattr(self, "x_" + type(node).__name__, None)
        if m is None:
            if isinstance(node, (*_CONTROL, *_JUMPS)):
                t = self.tmp()
                if isinstance(node, _JUMPS):
                    self.emit(f"{t} = None")
                self.expr_into(node, t)
                return t
            raise TypeError(f"unknown expression {type(node).__name__}")
        return m(node)  # type: ignore[no-any-return]

    def x_IntLit(self, n: N.IntLit) -> str:
        return self.const(n.value)

    def x_FloatLit(self, n: N.FloatLit) -> str:
        return self.const(float(n.value))

    def x_StringLit(self, n: N.StringLit) -> str:
        return self.const(n.value)

    def x_CharLit(self, n: N.CharLit) -> str:
        return self.const(Char(n.value))

    def x_BoolLit(self, n: N.BoolLit) -> str:
        return "True" if n.value else "False"

    def x_UnitLit(self, n: N.UnitLit) -> str:
        return "None"

    def x_InterpolatedString(self, n: N.InterpolatedString) -> str:
        parts = self.seq(n.parts)
        shown = []
        for node, code in zip(n.parts, parts):
            inner = (
                node.statements[0].expr
                if (
                    isinstance(node, N.Block)
                    and len(node.statements) == 1
                    and isinstance(node.statements[0], N.ExprStmt)
                )
                else node
            )
            if isinstance(node, N.StringLit):
                shown.append(code)
            elif self.static_int(inner):
                shown.append(f"str({code})")
            else:
                shown.append(f"_h_display({code})")
        code = f"''.join(({', '.join(shown)},))"
        if self.size_checks:
            code = f"_h_size(st, {code}, {self.pos(n)})"
        return code

    def x_ArrayLit(self, n: N.ArrayLit) -> str:
        items = self.seq(n.items, copy=True)
        code = f"[{', '.join(items)}]"
        scalars = (N.IntLit, N.FloatLit, N.BoolLit, N.CharLit, N.UnitLit, N.StringLit)
        if self.size_checks and not all(isinstance(x, scalars) for x in n.items):
            code = f"_h_size(st, {code}, {self.pos(n)})"
        return code

    def x_MapLit(self, n: N.MapLit) -> str:
        vals = self.seq([v for _, v in n.entries], copy=True)
        code = "{" + ", ".join(f"{self.const(k)}: {v}" for (k, _), v in zip(n.entries, vals)) + "}"
        scalars = (N.IntLit, N.FloatLit, N.BoolLit, N.CharLit, N.UnitLit, N.StringLit)
        if self.size_checks and not all(
            isinstance(x, scalars) or self.static_int(x) or self.static_float(x)
            for _, x in n.entries
        ):
            code = f"_h_size(st, {code}, {self.pos(n)})"
        return code

    def x_Variable(self, n: N.Variable) -> str:
        p = self.pos(n)
        if n.namespace:
            if n.namespace == ("global",):
                return f"_h_global(st, {self.const(n.name)}, {p})"
            return f"_h_modvar(st, {self.module_ref(n.namespace, p)}, {self.const(n.name)}, {p})"
        v = self.lookup(n.name)
        if v is not None:
            return v.read
        if self.fx.kind == "capture":
            return f"_h_capget(cap, {self.const(n.name)}, {p})"
        if n.name in self.fn_names and self.fx.kind != "main":
            return self.const(FnPtr(n.name))
        if self.fx.kind == "fn":
            # Script functions see their own variables and the host scope's constants only.
            return f"_h_sconstget(st, {self.const(n.name)}, {p})"
        return f"_h_sget(st, {self.const(n.name)}, {p})"

    def module_ref(self, ns: tuple[str, ...], p: str) -> str:
        """An expression for the module named by a ``a::b::`` path."""
        v = self.lookup("::" + ns[0])
        root = v.py if v is not None else "None"
        return f"_h_module(st, {root}, {self.const(ns)}, {p})"

    def x_ThisExpr(self, n: N.ThisExpr) -> str:
        self.fx.uses_this = True
        return f"(tb[0] if tb else _h_raise(_h_unbound({self.pos(n)})))"

    def x_Unary(self, n: N.Unary) -> str:
        p = self.pos(n)
        if not self.options.fast_operators:
            return f"_h_unx(st, {self.const(n.op)}, {self.expr(n.operand)}, {p})"
        if self.cold:
            fname = {"-": "neg", "!": "not_", "+": "plus"}[n.op]
            return f"_h_un_{fname}(st, {self.expr(n.operand)}, {p})"
        a = self.atom_expr(n.operand)
        if n.op == "-" and self.static_float(n.operand):
            return f"(-{a})"
        if n.op == "-" and self.static_int(n.operand):
            return f"(-{a} if {a} != -0x8000000000000000 else _h_un_neg(st, {a}, {p}))"
        if n.op == "-":
            return f"(-{a} if type({a}) is int and {a} != _h_IMIN else _h_un_neg(st, {a}, {p}))"
        if n.op == "!":
            return f"((not {a}) if type({a}) is bool else _h_un_not_(st, {a}, {p}))"
        return f"_h_un_plus(st, {a}, {p})"

    @property
    def cold(self) -> bool:
        """Top-level code outside loops runs once: emit compact helper calls, not fast paths."""
        return self.fx.kind == "main" and not self.fx.loops

    def atom_expr(self, node: N.Expr) -> str:
        """Compile to a duplicable expression (name or constant)."""
        return self.atom(self.expr(node))

    def x_Binary(self, n: N.Binary) -> str:
        p = self.pos(n)
        a, b = self.seq([n.lhs, n.rhs])
        op = n.op
        if op in ("..", "..="):
            if isinstance(n.rhs, N.UnitLit):
                return f"_h_range({a}, _h_IMAX, False, {p})"
            return f"_h_range({a}, {b}, {op == '..='}, {p})"
        if op == "in":
            return f"_h_contains(st, {b}, {a}, {p})"
        if op == "!in":
            return f"(not _h_contains(st, {b}, {a}, {p}))"
        if op in ("==", "!=") and (isinstance(n.lhs, N.UnitLit) or isinstance(n.rhs, N.UnitLit)):
            other = b if isinstance(n.lhs, N.UnitLit) else a
            return f"({other} is {'' if op == '==' else 'not '}None)"
        single = (
            None
            if self.cold or not self.options.fast_operators
            else self.single_use(op, n.lhs, n.rhs)
        )
        if single is not None:
            return str(single(a, b))
        a = self.atom(a)
        b = self.atom(b)
        return self.arith(op, a, b, p, rhs_node=n.rhs, lhs_node=n.lhs)

    def single_use(self, op: str, lhs: Any, rhs: Any) -> Any:
        """A code builder for typed operations that use each operand once (no temps needed)."""
        li, ri = self.static_int(lhs), self.static_int(rhs)
        if li and ri:
            if op in ("+", "-", "*"):

                def build(a: str, b: str) -> str:
                    r = self.tmp("r")
                    simple = _SIMPLE.match(a) and _SIMPLE.match(b)
                    ops = f"{a}, {b}" if simple else "_h_NOOP, None"
                    return (
                        f"({r} if -0x8000000000000000 <= ({r} := {a} {op} {b}) <= 0x7fffffffffffffff "
                        f"else _h_raise(_h_ovf({self.const(op)}, {ops}, {self.pos(lhs)})))"
                    )

                return build
            if op in ("&", "|", "^") or op in _CMP:
                return lambda a, b: f"({a} {op} {b})"
            return None
        lf, rf = self.static_float(lhs), self.static_float(rhs)
        if ((lf and (rf or ri)) or (rf and li)) and (op in ("+", "-", "*") or op in _CMP):
            return lambda a, b: self.float_arith(op, a, b, "None")
        return None

    def static_int(self, node: Any) -> bool:
        """Whether ``node`` is known at compile time to produce an INT (or fail)."""
        if isinstance(node, N.IntLit):
            return True
        if isinstance(node, N.Variable):
            if node.namespace:
                return False
            v = self.lookup(node.name)
            return v is not None and v.is_int and not v.shared
        if isinstance(node, N.Unary):
            return node.op in ("-", "+") and self.static_int(node.operand)
        if isinstance(node, N.Binary):
            return node.op in _ARITH and self.static_int(node.lhs) and self.static_int(node.rhs)
        return False

    def static_float(self, node: Any) -> bool:
        """Whether ``node`` is known at compile time to produce a FLOAT (or fail)."""
        if isinstance(node, N.FloatLit):
            return True
        if isinstance(node, N.Variable):
            if node.namespace:
                return False
            v = self.lookup(node.name)
            return v is not None and v.is_float and not v.shared
        if isinstance(node, N.Unary):
            return node.op in ("-", "+") and self.static_float(node.operand)
        if isinstance(node, N.Binary):
            if node.op not in ("+", "-", "*", "/", "%", "**"):
                return False
            lf, rf = self.static_float(node.lhs), self.static_float(node.rhs)
            return (lf and (rf or self.static_int(node.rhs))) or (rf and self.static_int(node.lhs))
        if isinstance(node, N.MethodCall):
            return (
                node.name == "to_float"
                and not node.args
                and node.name not in self.fn_names
                and (self.static_int(node.target) or self.static_float(node.target))
            )
        return False

    def float_arith(self, op: str, a: str, b: str, p: str) -> str | None:
        """Guard-free code for an operator on two numbers, at least one a FLOAT."""
        slow = f"_h_op_{_FAST[op]}(st, {a}, {b}, {p})"
        if op in ("+", "-", "*"):
            return f"({a} {op} {b})"
        if op == "/":
            return f"(({a} / {b}) if {b} else {slow})"
        if op in _CMP:
            test = {
                "==": "-_h_EPS <= {d} <= _h_EPS",
                "!=": "not -_h_EPS <= {d} <= _h_EPS",
                "<": "{d} < -_h_EPS",
                "<=": "{d} <= _h_EPS",
                ">": "{d} > _h_EPS",
                ">=": "{d} >= -_h_EPS",
            }[op]
            return "(" + test.format(d=f"_h_fcmp({a}, {b})") + ")"
        return None

    def int_arith(self, op: str, a: str, b: str, p: str, bval: int | None) -> str | None:
        """Guard-free code for an operator on two values known to be INTs."""
        slow = f"_h_op_{_FAST[op]}(st, {a}, {b}, {p})"
        if op in ("+", "-", "*"):
            r = self.tmp("r")
            return (
                f"({r} if -0x8000000000000000 <= ({r} := {a} {op} {b}) <= 0x7fffffffffffffff "
                f"else _h_raise(_h_ovf({self.const(op)}, {a}, {b}, {p})))"
            )
        if op in ("/", "%"):
            pyop = "//" if op == "/" else "%"
            if bval is not None and bval > 0:
                return f"(({a} {pyop} {b}) if {a} >= 0 else {slow})"
            return f"(({a} {pyop} {b}) if {a} >= 0 and {b} > 0 else {slow})"
        if op in ("&", "|", "^"):
            return f"({a} {op} {b})"
        if op == ">>" and bval is not None and 0 <= bval < 64:
            return f"({a} >> {b})"
        if op in _CMP:
            return f"({a} {op} {b})"
        return None

    def arith(
        self,
        op: str,
        a: str,
        b: str,
        p: str,
        assign: bool = False,
        rhs_node: Any = None,
        lhs_node: Any = None,
    ) -> str:
        """Inline int (and float) fast paths for an operator on two atoms."""
        if not self.options.fast_operators:
            # Host overloads of operators on built-in types win: resolve every time.
            return f"_h_opx(st, {self.const(op)}, {a}, {b}, {p}, {assign})"
        if self.cold:
            fname = _FAST[op]
            if assign and op in ("+", "-"):
                fname = "add_assign" if op == "+" else "sub_assign"
            return f"_h_op_{fname}(st, {a}, {b}, {p})"
        bint = isinstance(rhs_node, N.IntLit)
        bval = rhs_node.value if bint else None
        if (
            lhs_node is not None
            and rhs_node is not None
            and self.static_int(lhs_node)
            and self.static_int(rhs_node)
        ):
            fast_int = self.int_arith(op, a, b, p, bval)
            if fast_int is not None:
                return fast_int
        if lhs_node is not None and rhs_node is not None:
            lf, rf = self.static_float(lhs_node), self.static_float(rhs_node)
            if (lf and (rf or self.static_int(rhs_node))) or (rf and self.static_int(lhs_node)):
                fast_float = self.float_arith(op, a, b, p)
                if fast_float is not None:
                    return fast_float
        guard = f"type({a}) is int" if bint else f"type({a}) is type({b}) is int"
        fname = _FAST[op]
        if assign and op in ("+", "-"):
            fname = "add_assign" if op == "+" else "sub_assign"
        slow = f"_h_op_{fname}(st, {a}, {b}, {p})"
        if op in ("+", "-", "*"):
            r = self.tmp("r")
            fast = f"({r} if _h_IMIN <= ({r} := {a} {op} {b}) <= _h_IMAX else _h_raise(_h_ovf({self.const(op)}, {a}, {b}, {p})))"
            return f"({fast} if {guard} else {slow})"
        if op == "/":
            if bint and bval and bval > 0:
                return f"(({a} // {b}) if type({a}) is int and {a} >= 0 else {slow})"
            return f"(({a} / {b}) if type({a}) is type({b}) is float and {b} else {slow})"
        if op == "%":
            if bint and bval and bval > 0:
                return f"(({a} % {b}) if type({a}) is int and {a} >= 0 else {slow})"
            return f"(({a} % {b}) if {guard} and {a} >= 0 and {b} > 0 else {slow})"
        if op in ("&", "|", "^"):
            return f"(({a} {op} {b}) if {guard} else {slow})"
        if op == ">>":
            if bint and bval is not None and 0 <= bval < 64:
                return f"(({a} >> {b}) if type({a}) is int else {slow})"
            return slow
        if op in _CMP:
            return f"(({a} {op} {b}) if {guard} else {slow})"
        return slow

    def x_And(self, n: N.And) -> str:
        return self.logic(n, "and")

    def x_Or(self, n: N.Or) -> str:
        return self.logic(n, "or")

    def logic(self, n: Any, kw: str) -> str:
        """Short-circuit ``&&`` / ``||`` with bool checks."""
        a = self.cond(n.lhs)
        b, lines = self.capture(lambda: self.cond(n.rhs))
        if not lines:
            return f"({a} {kw} {b})"
        t = self.tmp()
        self.emit(f"{t} = {a}")
        self.emit(f"if {'' if kw == 'and' else 'not '}{t}:")
        self.put(lines)
        self.emit(f"    {t} = {b}")
        return t

    def x_Coalesce(self, n: N.Coalesce) -> str:
        a = self.expr(n.lhs)
        b, lines = self.capture(lambda: self.expr(n.rhs))
        t = self.tmp()
        if not lines:
            return f"({t} if ({t} := {a}) is not None else {b})"
        self.emit(f"{t} = {a}")
        self.emit(f"if {t} is None:")
        self.put(lines)
        self.emit(f"    {t} = {b}")
        return t

    def x_Index(self, n: N.Index) -> str:
        p = self.pos(n)
        c, i = self.seq([n.target, n.index])
        if n.safe or chain_safe(n):
            t = self.tmp()
            return f"(None if ({t} := {c}) is None else _h_idx(st, {t}, {i}, {p}))"
        if self.options.fail_on_invalid_map_property or self.cold:
            return f"_h_idx(st, {c}, {i}, {p})"
        c = self.atom(c)
        i = self.atom(i)
        if self.static_int(n.index):
            return (
                f"({c}[{i}] if type({c}) is list and -len({c}) <= {i} < len({c}) "
                f"else _h_idx(st, {c}, {i}, {p}))"
            )
        # Maps with string keys inline (a missing key reads as `()`); the rest goes to the helper.
        return f"({c}.get({i}) if type({c}) is dict and type({i}) is str else _h_idx(st, {c}, {i}, {p}))"

    def x_Property(self, n: N.Property) -> str:
        p = self.pos(n)
        c = self.expr(n.target)
        k = self.const(n.name)
        if n.safe or chain_safe(n):
            t = self.tmp()
            return f"(None if ({t} := {c}) is None else _h_prop(st, {t}, {k}, {p}))"
        if self.options.fail_on_invalid_map_property or self.cold:
            return f"_h_prop(st, {c}, {k}, {p})"
        c = self.atom(c)
        return f"({c}.get({k}) if type({c}) is dict else _h_prop(st, {c}, {k}, {p}))"

    def x_Closure(self, n: N.Closure) -> str:
        return self.closure(n)

    def x_MethodCall(self, n: N.MethodCall) -> str:
        from picloud.rhai._compiler_calls import method_call

        return method_call(self, n)

    def x_FnCall(self, n: N.FnCall) -> str:
        from picloud.rhai._compiler_calls import fn_call

        return fn_call(self, n)


_ = RhaiRange  # re-exported for flow helpers
