"""Statement code generation (mixed into ``compiler.Compiler``).

``let``, assignment (plain and compound, with in-place string growth and
move-on-last-use of block locals), ``try``/``catch`` and ``import``.
"""

from __future__ import annotations

from typing import Any

from picloud.rhai import nodes as N
from picloud.rhai._compiler_expr import _CONTROL, _SIMPLE, ExprCompiler, Var, is_lvalue

__all__ = ["StmtCompiler"]


def _mentions(node: Any, name: str) -> bool:
    """Whether ``node`` reads or writes variable ``name`` (or could, through ``eval``)."""
    from picloud.rhai.compiler import children

    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        if not isinstance(x, (N.Node, N.SwitchCase)):
            continue
        if isinstance(x, N.Variable) and x.name == name and not x.namespace:
            return True
        if isinstance(x, N.FnCall) and (x.capture or x.name == "eval"):
            return True
        if isinstance(x, N.Closure):
            if name in x.captures:
                return True
            continue
        stack.extend(children(x))
    return False


class StmtCompiler(ExprCompiler):
    """Code generation for statements."""

    fx: Any
    options: Any
    size_checks: bool

    # ------------------------------------------------------------------ statements

    def block_stmts(self, stmts: list[N.Stmt], dest: str | None, top: bool = False) -> None:
        """Compile statements; the last one's value goes to ``dest``."""
        if not stmts:
            self.emit_dest(dest, "None") if dest is not None else self.emit("pass")
            return
        last = len(stmts) - 1
        # One operation-count update per block (not per statement) keeps limit checks cheap.
        self.ops(sum(self.count(x) for x in stmts))
        rest_stack = self.__dict__.setdefault("_rest", [])
        loop_body = self.__dict__.pop("_loop_body_next", False)
        depth = len(self.fx.blocks)
        for i, s in enumerate(stmts):
            rest_stack.append((stmts, i, loop_body, depth, self.fx))
            try:
                self.stmt(s, dest if i == last else None)
            finally:
                rest_stack.pop()

    def stmt(self, s: N.Stmt, dest: str | None) -> None:
        """Compile one statement (its operations were counted by the enclosing block)."""
        if isinstance(s, N.ExprStmt):
            self.expr_into(s.expr, dest)
            return
        if isinstance(s, N.Let):
            self.let(s)
        elif isinstance(s, N.Assign):
            self.assign(s)
        elif isinstance(s, N.TryCatch):
            self.try_catch(s, dest)
            return
        elif isinstance(s, N.Import):
            self.import_(s)
        elif isinstance(s, N.Export):
            pass
        else:
            raise TypeError(f"unknown statement {type(s).__name__}")
        if dest is not None:
            self.emit_dest(dest, "None")

    def let(self, s: N.Let) -> None:
        """``let`` / ``const``."""
        p = self.pos(s)
        if s.value is None:
            code = "None"
        elif isinstance(s.value, _CONTROL):
            code = self.tmp()
            self.expr_into(s.value, code)
        else:
            code = self.expr(s.value)
            if is_lvalue(s.value) and not self.static_int(s.value):
                code = self.copy_code(code)
        if (
            not self.options.allow_shadowing
            and self.fx.kind == "main"
            and self.lookup(s.name) is None
        ):
            self.emit(
                f"if _h_sfind(st, {self.const(s.name)}): raise _h_E.ErrorVariableExists("
                f"'Variable already defined', {p})"
            )
        v = self.declare(s.name, s.constant, p)
        if v.shared:
            self.emit(f"{v.py} = _h_Shared({code})")
        else:
            self.emit(f"{v.py} = {code}")
        if s.constant and self.fx.kind == "main" and len(self.fx.blocks) == 2:
            self.emit(f"st.gl[{self.const(s.name)}] = {v.read}")

    def value_of(self, node: N.Expr) -> str:
        """Compile a right-hand side, copying lvalues and hoisting control flow."""
        if isinstance(node, _CONTROL):
            t = self.tmp()
            self.expr_into(node, t)
            return t
        code = self.expr(node)
        if is_lvalue(node) and not self.static_int(node) and not self.movable(node):
            code = self.copy_code(code)
        return code

    def movable(self, node: N.Expr) -> bool:
        """Whether a block-local variable is read for the last time here (no copy needed).

        Safe when the variable is not boxed, is not top-level (those persist into the
        host scope), no later statement of its block (or of the blocks in between) names
        it, and no loop body lies between its declaration and this read (``eval``
        anywhere later disables this).
        """
        if not isinstance(node, N.Variable) or node.namespace:
            return False
        fx = self.fx
        home = -1
        for k in range(len(fx.blocks) - 1, -1, -1):
            if node.name in fx.blocks[k]:
                home = k
                break
        if home < 0:
            return False
        var = fx.blocks[home][node.name]
        if var.shared or (fx.kind == "main" and home <= 1):
            return False
        rest = getattr(self, "_rest", None)
        if not rest:
            return False
        stmts, i, _loop, _depth, owner = rest[-1]
        if owner is not fx:
            return False
        stmt = stmts[i]
        if isinstance(stmt, N.Assign):
            if stmt.value is not node or _mentions(stmt.target, node.name):
                return False
        elif isinstance(stmt, N.Let):
            if stmt.value is not node:
                return False
        else:
            return False
        for stmts, i, loop, depth, owner in reversed(rest):
            if owner is not fx:
                return False
            if any(_mentions(s, node.name) for s in stmts[i + 1 :]):
                return False
            if depth <= home + 1:
                return True
            if loop:
                return False  # a later iteration would read the moved value again
        return False

    def copy_code(self, code: str) -> str:
        """Copy a container read from storage; scalars pass through without a call."""
        if not (_SIMPLE.match(code) or code.endswith(".v") and _SIMPLE.match(code[:-2])):
            code = self.atom(code)
        return f"({code} if type({code}) not in _h_MUT else _h_cp({code}))"

    def assign(self, s: N.Assign) -> None:
        """Plain and compound assignment to variables, ``this``, indexes and properties."""
        p = self.pos(s)
        target = s.target
        if s.op == "=":
            code = self.value_of(s.value)
            lv = self.lvalue(target)
            lv.write(self, code, p)
            return
        op = s.op[:-1]
        lv = self.lvalue(target)
        rhs = self.expr(s.value) if not isinstance(s.value, _CONTROL) else self.value_of(s.value)
        if not (_SIMPLE.match(rhs) or rhs.startswith("_k")):
            rhs = self.atom(rhs)
        cur = self.atom(lv.read(self, p))
        lnode = target if isinstance(target, N.Variable) else None
        code = self.arith(
            op, cur, rhs, p, assign=op in ("+", "-"), rhs_node=s.value, lhs_node=lnode
        )
        var = getattr(lv, "var", None)
        if op == "+" and var is not None and not var.shared and not var.const and not var.is_int:
            # In-place `s += t` on a local string lets CPython grow it without copying.
            self.emit(f"if type({cur}) is str is type({rhs}):")
            self.emit(f"    {cur} += {rhs}")
            ms = self.options.max_string_size
            if ms:
                # ASCII strings know their byte length in O(1); others are measured.
                self.emit(
                    f"    if len({cur}) > {int(ms) // 4} and (len({cur}) > {int(ms)} or not {cur}.isascii()): "
                    f"_h_size(st, {cur}, {p})"
                )
            self.emit("else:")
            self.fx.indent += 1
            lv.write(self, code, p)
            self.fx.indent -= 1
            return
        lv.write(self, code, p)

    def try_catch(self, s: N.TryCatch, dest: str | None) -> None:
        """``try { } catch (e) { }``."""
        e = self.tmp("e")
        inner = (
            dest if dest is not None and dest != "ret" else (None if dest is None else self.tmp())
        )
        self.emit("try:")
        self.fx.indent += 1
        self.push_block()
        self.block_stmts(s.body.statements, inner)
        self.pop_block()
        self.fx.indent -= 1
        self.emit(f"except _h_RhaiError as {e}:")
        self.fx.indent += 1
        self.emit(f"if not _h_catchable({e}): raise")
        if inner is not None:
            self.emit(f"{inner} = None")
        self.push_block()
        if s.catch_var is not None:
            v = self.declare(s.catch_var)
            self.emit(
                f"{v.py} = _h_Shared(_h_caught({e}))" if v.shared else f"{v.py} = _h_caught({e})"
            )
        self.fx.catches.append(e)
        self.block_stmts(s.handler.statements, None)
        self.fx.catches.pop()
        self.pop_block()
        self.fx.indent -= 1
        if dest == "ret":
            self.emit(f"return {inner}")

    def import_(self, s: N.Import) -> None:
        """``import "path" as alias``."""
        path = self.expr(s.path)
        p = self.pos(s)
        code = f"_h_import(st, {path}, {p})"
        if s.alias is None:
            self.emit(code)
            return
        top = self.fx.kind == "main" and len(self.fx.blocks) == 2
        if top and "::" + s.alias in self.fx.blocks[-1]:
            # At top level the first import of an alias wins; the later one still runs.
            self.emit(code)
            return
        self.n += 1  # type: ignore[attr-defined]
        v = Var("::" + s.alias, f"m{self.n}_{s.alias}", False, True)  # type: ignore[attr-defined]
        self.fx.blocks[-1]["::" + s.alias] = v
        self.emit(f"{v.py} = {code}")
        if self.fx.kind == "main" and len(self.fx.blocks) == 2:
            # Functions of the script (or module) see its top-level imports; the first wins.
            self.emit(f"st.gl.setdefault({self.const('::' + s.alias)}, {v.py})")
