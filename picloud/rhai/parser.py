"""Rhai parser: tokens → ``nodes.Script``, with every parse-time rule of rhai.rs v1.26.

Recursive descent, one ``parse_<rule>`` method per rule: statements and the
entry point here; expressions in ``_parser_exprs``, literals and closures in
``_parser_literals``, control flow in ``_parser_flow``, helpers in
``_parser_base``. Nesting depth is counted the way Rhai's
``ParseSettings::level_up`` counts it (global and function-body limits), so
``ExprTooDeep`` fires on the same scripts; the only exception type that
leaves ``parse`` is ``ErrorParsing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from picloud.rhai import nodes as n
from picloud.rhai._parser_base import STANDARD_KEYWORDS, is_constant, start_pos
from picloud.rhai._parser_exprs import ExprParser
from picloud.rhai._parser_flow import FlowParser
from picloud.rhai._parser_literals import LiteralParser
from picloud.rhai.errors import ErrorParsing, Position
from picloud.rhai.lexer import EOF, ERR, IDENT, RESERVED, STR, tokenize
from picloud.rhai.options import EngineOptions

__all__ = ["Parser", "parse"]

_DEFAULT_OPTIONS = EngineOptions()
_OP_ASSIGN = frozenset(n.ASSIGN_OPS - {"="})
_JUMPS = {"break": n.Break, "return": n.Return, "throw": n.Throw}


class _State:
    """Per-function (or closure) parse state: declared variables and visible modules."""

    __slots__ = ("externals", "frame_pointer", "global_imports", "imports", "stack")

    def __init__(self, global_imports: list[str]) -> None:
        self.stack: list[tuple[str, bool]] = []
        """Declared variables ``(name, is_constant)``, innermost last."""
        self.frame_pointer = 0
        """Stack length when the current block started."""
        self.externals: list[tuple[str, Position]] = []
        """Names used but not declared here (a closure's captures), first use first."""
        self.imports: list[str] = []
        """Module aliases imported in the enclosing blocks."""
        self.global_imports = global_imports
        """Module aliases visible from the enclosing function/script (strict mode)."""

    def find(self, name: str) -> tuple[bool, bool]:
        """``(declared, is_constant)`` of the innermost declaration of ``name``."""
        for i in range(len(self.stack) - 1, -1, -1):
            entry = self.stack[i]
            if entry[0] == name:
                return True, entry[1]
        return False, False


class Parser(ExprParser, LiteralParser, FlowParser):
    """Parses one script (statement mode or expression-only mode)."""

    def __init__(
        self,
        source: str,
        options: EngineOptions,
        *,
        expression_only: bool,
        scope_names: Iterable[str],
    ) -> None:
        self.options = options
        toks = tokenize(source, options.disabled_symbols, options.max_string_size)
        # Spare EOFs: a rule may consume one EOF before reporting what it expected there.
        self.toks = toks + [toks[-1]] * 4
        self.p = 0
        self.state = _State([])
        self.max_depth = options.max_expr_depth
        self.fn_scope = False
        self.closure_scope = False
        self.breakable = False
        self.global_level = True
        self.disallow_stmts = expression_only
        self.no_pipe = False
        self.strict = options.strict_variables
        self.restore_engine_options()
        if expression_only:
            # Rhai's expression API drops statement blocks and loops as expressions.
            self.stmt_expr = False
            self.loop_expr = False
        self.allow_looping = options.allow_looping
        self.allow_shadowing = options.allow_shadowing
        self.scope_names = frozenset(scope_names)
        self.fn_names: set[str] = set()
        self.fn_count = 0
        self.max_functions = options.max_functions
        self.max_array = options.max_array_size
        self.max_map = options.max_map_size
        self.functions: list[n.FnDef] = []
        self.fn_keys: set[tuple[str, int, str | None]] = set()
        self.imports: list[str] = []

    # ------------------------------------------------------------------ settings plumbing

    def restore_engine_options(self) -> None:
        """Language switches as the engine sets them (closures and functions start from these)."""
        o = self.options
        self.if_expr = o.allow_if_expression
        self.switch_expr = o.allow_switch_expression
        self.stmt_expr = o.allow_statement_expression
        self.loop_expr = o.allow_loop_expressions
        self.anon_fn = o.allow_anonymous_fn

    def save_flags(self) -> tuple[Any, ...]:
        """Snapshot of the flags Rhai keeps in its by-value ``ParseSettings``."""
        return (
            self.fn_scope, self.closure_scope, self.breakable, self.global_level, self.no_pipe,
            self.strict, self.if_expr, self.switch_expr, self.stmt_expr, self.loop_expr,
            self.anon_fn, self.max_depth, self.disallow_stmts,
        )  # fmt: skip

    def restore_flags(self, saved: tuple[Any, ...]) -> None:
        """Undo ``save_flags``."""
        (
            self.fn_scope, self.closure_scope, self.breakable, self.global_level, self.no_pipe,
            self.strict, self.if_expr, self.switch_expr, self.stmt_expr, self.loop_expr,
            self.anon_fn, self.max_depth, self.disallow_stmts,
        ) = saved  # fmt: skip

    def new_state(self) -> _State:
        """State for a function or closure body: sees the enclosing imports only."""
        cur = self.state
        return _State(cur.global_imports + cur.imports)

    def access_var(self, state: _State, name: str, pos: Position) -> tuple[bool, bool]:
        """Resolve a variable read; undeclared names become captures. Returns ``(found, is_fn)``."""
        found, _ = state.find(name)
        is_func = name in self.fn_names
        if not found and not is_func and all(e[0] != name for e in state.externals):
            state.externals.append((name, pos))
        return found, is_func

    def check_module(self, namespace: tuple[str, ...], pos: Position) -> None:
        """Strict mode: the root of ``m::x`` must be an imported module (or ``global``)."""
        if not self.strict:
            return
        root = namespace[0]
        st = self.state
        if root == "global" or root in st.imports or root in st.global_imports:
            return
        self.fail("ModuleUndefined", f"Undefined module: {root}", pos, root)

    # ------------------------------------------------------------------ entry points

    def parse_script(self) -> n.Script:
        """script := (stmt (';' | self-terminated))*"""
        toks = self.toks
        statements: list[n.Stmt] = []
        while toks[self.p][0] != EOF:
            stmt, self_terminated = self.parse_stmt(0)
            if stmt is None:
                continue
            statements.append(stmt)
            tok = toks[self.p]
            kind = tok[0]
            if kind == EOF:
                break
            if kind == ";":
                self.p += 1
            elif not self_terminated:
                self.missing(";", "to terminate this statement", tok)
        return n.Script(Position(1, 1), statements, self.functions, self.imports)

    def parse_expression_script(self) -> n.Script:
        """Expression-only mode (``eval_expression``): exactly one expression."""
        expr = self.parse_expr(0)
        tok = self.toks[self.p]
        if tok[0] != EOF:
            self.unexpected(tok)
        return n.Script(Position(1, 1), [n.ExprStmt(expr.pos, expr)], self.functions, self.imports)

    # ------------------------------------------------------------------ statements

    def parse_stmt(self, lv: int) -> tuple[n.Stmt | None, bool]:
        """One statement; returns it (``None`` for no-ops) and whether it ends without ``;``."""
        toks = self.toks
        tok = toks[self.p]
        kind = tok[0]
        pos = self.pos_of(tok)
        if kind == EOF:
            return None, False
        if kind == ";":
            self.p += 1
            return None, False
        if kind == "{":
            return n.ExprStmt(pos, self.parse_block(self.level_up(lv, tok))), True
        if kind == "fn" or kind == "private":
            self.parse_fn_stmt()
            return None, False
        if kind == "if":
            return n.ExprStmt(pos, self.parse_if(self.level_up(lv, tok))), True
        if kind == "switch":
            return n.ExprStmt(pos, self.parse_switch(self.level_up(lv, tok))), True
        if self.allow_looping:
            if kind == "while" or kind == "loop":
                return n.ExprStmt(pos, self.parse_while_loop(self.level_up(lv, tok))), True
            if kind == "do":
                return n.ExprStmt(pos, self.parse_do(self.level_up(lv, tok))), False
            if kind == "for":
                return n.ExprStmt(pos, self.parse_for(self.level_up(lv, tok))), True
            if kind == "continue" or kind == "break":
                if not self.breakable:
                    self.fail("LoopBreak", "Break statement should only be used inside a loop", tok)
                self.p += 1
                if kind == "continue":
                    return n.ExprStmt(pos, n.Continue(pos)), False
                return n.ExprStmt(pos, n.Break(pos, self.parse_optional_value(lv))), False
        if kind == "return" or kind == "throw":
            self.p += 1
            node = _JUMPS[kind](pos, self.parse_optional_value(lv))
            return n.ExprStmt(pos, node), False
        if kind == "try":
            return self.parse_try_catch(self.level_up(lv, tok)), True
        if kind == "let" or kind == "const":
            return self.parse_let(
                self.level_up(lv, tok), constant=kind == "const", exported=False
            ), False
        if kind == "import":
            return self.parse_import(self.level_up(lv, tok)), False
        if kind == "export":
            if not self.global_level:
                self.fail("WrongExport", "Export statement can only appear at global level", tok)
            return self.parse_export(self.level_up(lv, tok)), False
        return self.parse_expr_stmt(self.level_up(lv, tok)), False

    def parse_optional_value(self, lv: int) -> n.Expr | None:
        """The value after ``break``/``return``/``throw``; absent if no expression starts here."""
        lv = self.level_up(lv)  # a depth error here is not swallowed (as in Rhai)
        before = self.p
        try:
            return self.parse_expr(lv)
        except ErrorParsing:
            # Rhai: a failure that consumed nothing means "no value".
            if self.p == before:
                return None
            raise

    def parse_expr_stmt(self, lv: int) -> n.Stmt:
        """expr-stmt := expr [assign-op expr]"""
        expr = self.parse_expr(lv)
        tok = self.toks[self.p]
        kind = tok[0]
        if kind != "=" and kind not in _OP_ASSIGN:
            return n.ExprStmt(expr.pos, expr)
        self.p += 1
        rhs = self.parse_expr(lv)
        return self.make_assignment(kind, expr, rhs, self.pos_of(tok))

    def make_assignment(self, op: str, lhs: n.Expr, rhs: n.Expr, op_pos: Position) -> n.Assign:
        """Validate an assignment target (Rhai's ``make_assignment_stmt``)."""
        if isinstance(lhs, n.ThisExpr):
            return n.Assign(op_pos, lhs, op, rhs)
        if isinstance(lhs, n.Variable):
            if not lhs.namespace:
                found, const = self.state.find(lhs.name)
                if found and const:
                    self.fail(
                        "AssignmentToConstant",
                        f"Cannot assign to constant {lhs.name}",
                        lhs.pos,
                        lhs.name,
                    )
            return n.Assign(op_pos, lhs, op, rhs)
        if isinstance(lhs, (n.Index, n.Property, n.MethodCall)):
            node: n.Expr = lhs
            while isinstance(node, (n.Index, n.Property, n.MethodCall)):
                if isinstance(node, n.MethodCall):
                    self.fail(
                        "AssignmentToInvalidLHS", "Expression cannot be assigned to", node.pos, ""
                    )
                node = node.target
            if not isinstance(node, (n.Variable, n.ThisExpr)):
                self.fail(
                    "AssignmentToInvalidLHS", "Expression cannot be assigned to", node.pos, ""
                )
            return n.Assign(op_pos, lhs, op, rhs)
        if is_constant(lhs):
            self.fail(
                "AssignmentToConstant", "Cannot assign to a constant value", start_pos(lhs), ""
            )
        if isinstance(lhs, (n.And, n.Or, n.Coalesce)) and op == "=":
            self.lex_fail("ImproperSymbol", "Possibly a typo of '=='?", op_pos, "=")
        self.fail("AssignmentToInvalidLHS", "Expression cannot be assigned to", lhs.pos, "")

    def parse_block(self, lv: int) -> n.Block:
        """block := '{' stmt* '}' (a new variable scope)."""
        toks = self.toks
        tok = toks[self.p]
        if tok[0] != "{":
            self.missing("{", "to start a statement block", tok)
        self.p += 1
        pos = self.pos_of(tok)
        lv = self.level_up(lv, tok)
        if self.disallow_stmts:
            # Expression-only mode: a block holds exactly one expression. (rhai.rs would take
            # an assignment here; the expression API promises none anywhere, so we refuse it.)
            expr = self.parse_expr(lv)
            tok = toks[self.p]
            if tok[0] == "=" or tok[0] in _OP_ASSIGN:
                self.unexpected(tok)
            close = toks[self.p]
            if close[0] != "}":
                self.missing("{", "to start a statement block", close)
            self.p += 1
            return n.Block(pos, [n.ExprStmt(expr.pos, expr)])
        state = self.state
        saved_fp = state.frame_pointer
        state.frame_pointer = len(state.stack)
        saved_imports = len(state.imports)
        saved_global = self.global_level
        self.global_level = False
        statements: list[n.Stmt] = []
        try:
            while True:
                tok = toks[self.p]
                if tok[0] == "}":
                    self.p += 1
                    break
                if tok[0] == EOF:
                    self.missing("}", "to terminate this block", tok)
                stmt, self_terminated = self.parse_stmt(lv)
                if stmt is None:
                    continue
                statements.append(stmt)
                tok = toks[self.p]
                kind = tok[0]
                if kind == "}":
                    self.p += 1
                    break
                if kind == ";":
                    self.p += 1
                elif not self_terminated:
                    self.missing(";", "to terminate this statement", tok)
        finally:
            self.global_level = saved_global
            del state.stack[state.frame_pointer :]
            state.frame_pointer = saved_fp
            del state.imports[saved_imports:]
        return n.Block(pos, statements)

    def parse_let(self, lv: int, *, constant: bool, exported: bool) -> n.Let:
        """let := ('let' | 'const') name ['=' expr]"""
        tok = self.toks[self.p]
        self.p += 1
        name, ntok = self.parse_var_name()
        if not self.allow_shadowing and self.state.find(name)[0]:
            self.fail("VariableExists", f"Variable already defined: {name}", ntok, name)
        value = self.parse_expr(self.level_up(lv, tok)) if self.match("=") else None
        self.state.stack.append((name, constant))
        return n.Let(self.pos_of(tok), name, value, constant, exported)

    def parse_import(self, lv: int) -> n.Import:
        """import := 'import' expr ['as' name]"""
        tok = self.toks[self.p]
        self.p += 1
        lv = self.level_up(lv, tok)
        path = self.parse_expr(lv)
        alias = None
        if self.match("as"):
            alias, _ = self.parse_var_name()
        self.state.imports.append(alias or "")
        if isinstance(path, n.StringLit):
            self.imports.append(path.value)
        return n.Import(self.pos_of(tok), path, alias)

    def parse_export(self, lv: int) -> n.Stmt:
        """export := 'export' ('let' | 'const') ... | 'export' name ['as' name]"""
        tok = self.toks[self.p]
        self.p += 1
        nxt = self.toks[self.p][0]
        if nxt == "let" or nxt == "const":
            return self.parse_let(self.level_up(lv, tok), constant=nxt == "const", exported=True)
        name, _ = self.parse_var_name()
        alias = None
        if self.match("as"):
            alias, _ = self.parse_var_name()
        return n.Export(self.pos_of(tok), name, alias)

    def parse_fn_stmt(self) -> None:
        """``[private] fn ...``: global level only; hoisted into ``Script.functions``."""
        toks = self.toks
        first = toks[self.p]
        private = first[0] == "private"
        if private:
            self.p += 1
        tok = toks[self.p]
        self.p += 1
        if tok[0] != "fn":
            self.missing("fn", "following 'private'", tok)
        if not self.global_level:
            self.fail(
                "WrongFnDefinition",
                "Function definitions must be at global level and cannot be inside a block "
                "or another function",
                first,
            )
        if self.max_functions is not None and self.fn_count >= self.max_functions:
            self.fail("TooManyFunctions", "Number of functions defined exceeds maximum limit", tok)
        saved = self.save_flags()
        outer = self.state
        self.state = self.new_state()
        self.fn_scope = True
        self.closure_scope = False
        self.breakable = False
        self.global_level = False
        self.no_pipe = False
        self.strict = self.options.strict_variables
        self.restore_engine_options()
        self.disallow_stmts = False
        self.max_depth = self.options.max_function_expr_depth
        try:
            fn = self.parse_fn(0, tok, private)
        finally:
            self.state = outer
            self.restore_flags(saved)
        key = (fn.name, len(fn.params), fn.this_type)
        if key in self.fn_keys:
            arity = len(fn.params)
            count = (
                "no parameters"
                if arity == 0
                else "1 parameter"
                if arity == 1
                else f"{arity} parameters"
            )
            self.fail(
                "FnDuplicatedDefinition",
                f"Function {fn.name} with {count} already exists",
                tok,
                fn.name,
                arity,
            )
        self.fn_keys.add(key)
        self.fn_names.add(fn.name)
        self.fn_count += 1
        self.functions.append(fn)

    def parse_fn(self, lv: int, fn_tok: Any, private: bool) -> n.FnDef:
        """fn := 'fn' [type '.'] name '(' params ')' block"""
        toks = self.toks
        lv = self.level_up(lv, fn_tok)
        tok = toks[self.p]
        self.p += 1
        this_type = None
        nxt = toks[self.p]
        if tok[0] == STR or tok[0] == IDENT:
            if nxt[0] == ".":
                self.p += 1
                this_type = {"int": "i64", "float": "f64"}.get(str(tok[1]), str(tok[1]))
                tok = toks[self.p]
                self.p += 1
            elif tok[0] == STR:
                self.missing(".", "after the type name for 'this'", nxt)
        if tok[0] == IDENT:
            name = str(tok[1])
        elif tok[0] == RESERVED:
            self.reserved(tok)
        else:
            self.fail("FnMissingName", "Expecting function name in function declaration", tok)
        nxt = toks[self.p]
        if nxt[0] == "()":
            self.p += 1
            no_params = True
        elif nxt[0] == "(":
            self.p += 1
            no_params = self.match(")")
        else:
            self.fail("FnMissingParams", f"Expecting parameters for function {name}", nxt, name)
        params: list[str] = []
        stack = self.state.stack
        if not no_params:
            while True:
                ptok = toks[self.p]
                self.p += 1
                kind = ptok[0]
                if kind == ")":
                    break
                if kind == IDENT:
                    pname = str(ptok[1])
                    if pname in params:
                        self.fail(
                            "FnDuplicatedParam",
                            f"Duplicated parameter {pname} for function {name}",
                            ptok,
                            name,
                            pname,
                        )
                    stack.append((pname, False))
                    params.append(pname)
                elif kind == ERR:
                    self.raise_token_error(ptok)
                elif kind == RESERVED:
                    self.reserved(ptok)
                elif kind in STANDARD_KEYWORDS:
                    self.fail("VariableExpected", "Expecting name of a variable", ptok)
                else:
                    self.missing(")", f"to close the parameters list of function '{name}'", ptok)
                ptok = toks[self.p]
                self.p += 1
                if ptok[0] == ")":
                    break
                if ptok[0] != ",":
                    self.missing(",", f"to separate the parameters of function '{name}'", ptok)
        body_tok = toks[self.p]
        if body_tok[0] != "{":
            self.fail(
                "FnMissingBody",
                f"Expecting body statement block for function {name}",
                body_tok,
                name,
            )
        body = self.parse_block(lv)
        return n.FnDef(self.pos_of(fn_tok), name, params, body, private, this_type)


def parse(
    source: str,
    options: EngineOptions = _DEFAULT_OPTIONS,
    *,
    expression_only: bool = False,
    scope_names: Iterable[str] = (),
    scope_constants: Iterable[str] = (),
) -> n.Script:
    """Parse a Rhai script (or, with ``expression_only``, a single expression) into an AST.

    ``scope_names``/``scope_constants`` are the variables the host pushes into the
    scope; they count as declared under ``strict_variables`` (assigning to a host
    constant is a runtime error, not a parse error, as in Rhai).

    Raises:
        ErrorParsing: for every syntax or parse-time rule violation (never anything else).
    """
    names = frozenset(scope_names) | frozenset(scope_constants)
    try:
        parser = Parser(source, options, expression_only=expression_only, scope_names=names)
        if expression_only:
            return parser.parse_expression_script()
        return parser.parse_script()
    except RecursionError:
        # Nesting up to the default limits needs < 200 frames; only limits switched off
        # (0) or set very high get here.
        raise ErrorParsing("ExprTooDeep", "Expression exceeds maximum complexity") from None
    except IndexError:
        # Running off the token list can only mean the script ended too early.
        raise ErrorParsing("UnexpectedEOF", "Script is incomplete") from None
