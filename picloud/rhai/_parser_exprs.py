"""Expression half of the Rhai parser (operators, primaries, chains, literals, closures).

Mixed into ``parser.Parser``; see that module for the statement half, the
parse state and the public ``parse`` entry point. Method names and the order
of checks follow rhai.rs ``parser.rs`` so that the same script fails with the
same error kind at the same token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, cast

from picloud.rhai import nodes as n
from picloud.rhai.errors import ErrorParsing, Position
from picloud.rhai.lexer import (
    CHAR,
    EOF,
    ERR,
    FLOAT,
    IDENT,
    INT,
    ISTR,
    RESERVED,
    RESERVED_WORDS,
    STR,
    Token,
    is_valid_identifier,
)
from picloud.rhai.values import Char, RhaiRange

if TYPE_CHECKING:
    from picloud.rhai.parser import _State

__all__ = ["ExprParser", "PRECEDENCE", "token_text"]

#: Binary operator precedence, loosest (30) to tightest (210); Rhai's table, not Python's.
PRECEDENCE: dict[str, int] = {
    "||": 30, "|": 30, "^": 30,
    "&&": 60, "&": 60,
    "==": 90, "!=": 90,
    "in": 110, "!in": 110,
    "<": 130, "<=": 130, ">": 130, ">=": 130,
    "??": 135,
    "..": 140, "..=": 140,
    "+": 150, "-": 150,
    "*": 180, "/": 180, "%": 180,
    "**": 190,
    "<<": 210, ">>": 210,
}  # fmt: skip

_ASSIGN_OPS = n.ASSIGN_OPS
# Tokens after which `x..` / `x..=` has no end (an open range).
_RANGE_OPEN_END = frozenset({"]", ")", "}", ",", ";", "=>"})
_JUMP_KEYWORDS = frozenset({"break", "continue", "return", "throw"})
_CALL_START = frozenset({"(", "()", "!"})
_I64_MAX = (1 << 63) - 1
_STANDARD_KEYWORDS = frozenset(
    "fn private import export as true false let const if else do while until loop for in "
    "continue break return throw try catch".split()
)


def token_text(tok: Token) -> str:
    """The token as Rhai prints it in ``Unexpected '...'`` messages."""
    kind, value = tok[0], tok[1]
    if kind in (IDENT, RESERVED):
        return str(value)
    if kind in (INT, FLOAT):
        return str(value)
    if kind in (STR, ISTR):
        return str(value)
    if kind == CHAR:
        return str(value)
    if kind == EOF:
        return "{EOF}"
    if kind in ("u-", "u+"):
        return kind[1]
    return kind


def start_pos(expr: n.Node) -> Position:
    """Position of the leftmost token of an expression (Rhai's ``start_position``)."""
    while True:
        if isinstance(expr, (n.Binary, n.And, n.Or, n.Coalesce)):
            expr = expr.lhs
        elif isinstance(expr, (n.Index, n.Property, n.MethodCall)):
            expr = expr.target
        else:
            return expr.pos


def is_constant(expr: n.Expr) -> bool:
    """Rhai's ``Expr::is_constant``: literals and containers of literals."""
    if isinstance(expr, (n.IntLit, n.FloatLit, n.BoolLit, n.CharLit, n.StringLit, n.UnitLit)):
        return True
    if isinstance(expr, n.ArrayLit):
        return all(is_constant(e) for e in expr.items)
    if isinstance(expr, n.MapLit):
        return all(is_constant(e) for _, e in expr.entries)
    if isinstance(expr, n.InterpolatedString):
        return all(is_constant(e) for e in expr.parts)
    return False


_NO_VALUE = object()


def literal_value(expr: n.Expr) -> Any:
    """The runtime value of a literal switch-case expression, or ``_NO_VALUE``."""
    if isinstance(expr, (n.IntLit, n.FloatLit, n.StringLit, n.BoolLit)):
        return expr.value
    if isinstance(expr, n.CharLit):
        return Char(expr.value)
    if isinstance(expr, n.UnitLit):
        return None
    if isinstance(expr, n.ArrayLit) and is_constant(expr):
        return [literal_value(e) for e in expr.items]
    if isinstance(expr, n.MapLit) and is_constant(expr):
        return {k: literal_value(e) for k, e in expr.entries}
    if isinstance(expr, n.Binary) and expr.op in ("..", "..="):
        lhs, rhs = expr.lhs, expr.rhs
        inclusive = expr.op == "..="
        if isinstance(lhs, n.IntLit) and isinstance(rhs, n.IntLit):
            return RhaiRange(lhs.value, rhs.value, inclusive)
        if isinstance(lhs, n.IntLit) and isinstance(rhs, n.UnitLit):
            return RhaiRange(lhs.value, _I64_MAX, inclusive)
        if isinstance(lhs, n.UnitLit) and isinstance(rhs, n.IntLit):
            return RhaiRange(0, rhs.value, inclusive)
    return _NO_VALUE


class ExprParser:
    """Expression rules; the statement rules and state live in ``parser.Parser``."""

    # Provided by parser.Parser (declared here for type checkers).
    toks: list[Token]
    p: int
    state: _State
    max_depth: int
    fn_scope: bool
    closure_scope: bool
    breakable: bool
    global_level: bool
    disallow_stmts: bool
    no_pipe: bool
    strict: bool
    if_expr: bool
    switch_expr: bool
    stmt_expr: bool
    loop_expr: bool
    anon_fn: bool
    allow_looping: bool
    scope_names: frozenset[str]
    fn_names: set[str]
    fn_count: int
    max_functions: int | None
    max_array: int
    max_map: int

    if TYPE_CHECKING:

        def parse_stmt(self, lv: int) -> tuple[n.Stmt | None, bool]: ...
        def parse_block(self, lv: int) -> n.Block: ...
        def parse_if(self, lv: int) -> n.If: ...
        def parse_switch(self, lv: int) -> n.Switch: ...
        def parse_while_loop(self, lv: int) -> n.Expr: ...
        def parse_do(self, lv: int) -> n.DoLoop: ...
        def parse_for(self, lv: int) -> n.For: ...
        def new_state(self) -> _State: ...
        def access_var(self, state: _State, name: str, pos: Position) -> tuple[bool, bool]: ...
        def check_module(self, namespace: tuple[str, ...], pos: Position) -> None: ...

    # ------------------------------------------------------------------ errors / tokens

    @staticmethod
    def pos_of(tok: Token) -> Position:
        """Position of a token."""
        return Position(tok[2], tok[3])

    def fail(self, kind: str, message: str, tok_or_pos: Token | Position, *args: Any) -> NoReturn:
        """Raise a parse error of Rhai ``ParseErrorType`` ``kind``."""
        pos = tok_or_pos if isinstance(tok_or_pos, Position) else self.pos_of(tok_or_pos)
        raise ErrorParsing(kind, message, pos, *args)

    def lex_fail(
        self, lex_error: str, message: str, tok_or_pos: Token | Position, *args: Any
    ) -> NoReturn:
        """Raise a ``BadInput`` parse error carrying a lexer error kind."""
        pos = tok_or_pos if isinstance(tok_or_pos, Position) else self.pos_of(tok_or_pos)
        raise ErrorParsing("BadInput", message, pos, *args, lex_error=lex_error)

    def raise_token_error(self, tok: Token) -> NoReturn:
        """Raise the lexer error an ``ERR`` token carries."""
        parse_error, lex_error, message = cast("tuple[str, str | None, str]", tok[1])
        raise ErrorParsing(parse_error, message, self.pos_of(tok), lex_error=lex_error)

    def missing(self, token: str, what: str, tok: Token) -> NoReturn:
        """``MissingToken``: "Expecting 'x' what" (an ``ERR`` token reports itself instead)."""
        if tok[0] == ERR:
            self.raise_token_error(tok)
        self.fail("MissingToken", f"Expecting '{token}' {what}", tok, token, what)

    def unexpected(self, tok: Token) -> NoReturn:
        """``BadInput(UnexpectedInput)`` for a token that cannot start/continue here."""
        if tok[0] == ERR:
            self.raise_token_error(tok)
        if tok[0] == EOF:
            self.fail("UnexpectedEOF", "Script is incomplete", tok)
        text = token_text(tok)
        self.lex_fail("UnexpectedInput", f"Unexpected '{text}'", tok, text)

    def level_up(self, lv: int, tok: Token | None = None) -> int:
        """One more nesting level; ``ExprTooDeep`` past the current limit."""
        if self.max_depth and lv >= self.max_depth:
            self.fail(
                "ExprTooDeep", "Expression exceeds maximum complexity", tok or self.toks[self.p]
            )
        return lv + 1

    def match(self, kind: str) -> bool:
        """Consume the next token if it is ``kind``."""
        if self.toks[self.p][0] == kind:
            self.p += 1
            return True
        return False

    def parse_var_name(self) -> tuple[str, Token]:
        """A variable name (identifier); reserved words are ``Reserved``."""
        tok = self.toks[self.p]
        self.p += 1
        kind = tok[0]
        if kind == IDENT:
            return tok[1], tok  # type: ignore[return-value]
        if kind == RESERVED and is_valid_identifier(tok[1]):  # type: ignore[arg-type]
            self.fail("Reserved", f"'{tok[1]}' is a reserved keyword", tok, tok[1])
        if kind == ERR:
            self.raise_token_error(tok)
        self.fail("VariableExpected", "Expecting name of a variable", tok)

    def reserved(self, tok: Token) -> NoReturn:
        """``Reserved(s)`` for a reserved word or symbol."""
        s = str(tok[1])
        what = "keyword" if is_valid_identifier(s) else "symbol"
        self.fail("Reserved", f"'{s}' is a reserved {what}", tok, s)

    def ensure_bool(self, expr: n.Expr) -> n.Expr:
        """Reject expressions that can never be ``bool`` (``MismatchedType``)."""
        name = None
        if isinstance(expr, n.UnitLit):
            name = "()"
        elif isinstance(expr, n.IntLit):
            name = "a number"
        elif isinstance(expr, n.FloatLit):
            name = "a floating-point number"
        elif isinstance(expr, n.CharLit):
            name = "a character"
        elif isinstance(expr, (n.StringLit, n.InterpolatedString)):
            name = "a string"
        elif isinstance(expr, n.ArrayLit):
            name = "an array"
        elif isinstance(expr, n.MapLit):
            name = "an object map"
        elif isinstance(expr, n.Closure):
            name = "Fn"
        if name is not None:
            self.fail(
                "MismatchedType", f"Expecting a boolean expression, not {name}", start_pos(expr),
                "a boolean expression", name,
            )  # fmt: skip
        return expr

    def ensure_not_statement_expr(self, what: str) -> None:
        """A ``{`` where a condition is expected is ``ExprExpected``."""
        tok = self.toks[self.p]
        if tok[0] == "{":
            self.fail("ExprExpected", f"Expecting {what} expression", tok, what)

    def ensure_not_assignment(self) -> None:
        """``if x = 1`` is a probable typo of ``==``."""
        tok = self.toks[self.p]
        if tok[0] == "=":
            self.lex_fail("ImproperSymbol", "Possibly a typo of '=='?", tok, "=")

    # ------------------------------------------------------------------ expressions

    def parse_expr(self, lv: int) -> n.Expr:
        """expr := unary (binop unary)*"""
        lv = self.level_up(lv)
        lhs = self.parse_unary(lv)
        return self.parse_binary_op(lv, 1, lhs)

    def parse_binary_op(self, lv: int, parent: int, lhs: n.Expr) -> n.Expr:
        """Precedence climbing with Rhai's table; ``**`` binds right."""
        toks = self.toks
        root = lhs
        while True:
            tok = toks[self.p]
            kind = tok[0]
            if kind == "|" and self.no_pipe:
                return root
            if kind == RESERVED and not is_valid_identifier(tok[1]):  # type: ignore[arg-type]
                self.fail("UnknownOperator", f"Unknown operator: '{tok[1]}'", tok, tok[1])
            prec = PRECEDENCE.get(kind, 0)
            bind_right = kind == "**"
            if prec < parent or (prec == parent and not bind_right):
                return root
            self.p += 1
            op_pos = self.pos_of(tok)
            nxt = toks[self.p]
            if kind == "??" and nxt[0] in _JUMP_KEYWORDS:
                stmt, _ = self.parse_stmt(lv)
                if not isinstance(
                    stmt, n.ExprStmt
                ):  # pragma: no cover - jumps are expression statements
                    self.unexpected(nxt)
                rhs: n.Expr = stmt.expr
            elif (kind == ".." or kind == "..=") and nxt[0] in _RANGE_OPEN_END:
                rhs = n.UnitLit(self.pos_of(nxt))
            else:
                rhs = self.parse_unary(lv)
            nxt = toks[self.p]
            if nxt[0] == RESERVED and not is_valid_identifier(nxt[1]):  # type: ignore[arg-type]
                self.fail("UnknownOperator", f"Unknown operator: '{nxt[1]}'", nxt, nxt[1])
            next_prec = PRECEDENCE.get(nxt[0], 0)
            if (prec == next_prec and bind_right) or prec < next_prec:
                rhs = self.parse_binary_op(self.level_up(lv, tok), prec, rhs)
            lv = self.level_up(lv, tok)
            if kind == "&&":
                root = n.And(op_pos, self.ensure_bool(root), self.ensure_bool(rhs))
            elif kind == "||":
                root = n.Or(op_pos, self.ensure_bool(root), self.ensure_bool(rhs))
            elif kind == "??":
                root = n.Coalesce(op_pos, root, rhs)
            else:
                root = n.Binary(op_pos, kind, root, rhs)

    def parse_unary(self, lv: int) -> n.Expr:
        """unary := ('-' | '+' | '!') unary | primary; numeric literals fold their sign."""
        tok = self.toks[self.p]
        kind = tok[0]
        if kind == "-" or kind == "u-":
            self.p += 1
            pos = self.pos_of(tok)
            expr = self.parse_unary(self.level_up(lv, tok))
            if isinstance(expr, n.IntLit):
                if expr.value == -(1 << 63):
                    return n.FloatLit(pos, float(1 << 63))
                return n.IntLit(pos, -expr.value)
            if isinstance(expr, n.FloatLit):
                return n.FloatLit(pos, -expr.value)
            return n.Unary(pos, "-", expr)
        if kind == "+" or kind == "u+":
            self.p += 1
            expr = self.parse_unary(self.level_up(lv, tok))
            if isinstance(expr, (n.IntLit, n.FloatLit)):
                return expr
            return n.Unary(self.pos_of(tok), "+", expr)
        if kind == "!":
            self.p += 1
            expr = self.parse_unary(self.level_up(lv, tok))
            return n.Unary(self.pos_of(tok), "!", expr)
        if kind == "|" and self.no_pipe:
            self.unexpected(tok)
        if kind == EOF:
            self.fail("UnexpectedEOF", "Script is incomplete", tok)
        return self.parse_primary(lv)

    def parse_primary(self, lv: int) -> n.Expr:
        """Literals, names, calls, groups, blocks and expression-statements, then postfix chains."""
        toks = self.toks
        tok = toks[self.p]
        kind = tok[0]
        pos = self.pos_of(tok)
        expr: n.Expr
        if kind == INT:
            self.p += 1
            expr = n.IntLit(pos, tok[1])  # type: ignore[arg-type]
        elif kind == IDENT:
            self.p += 1
            name: str = tok[1]  # type: ignore[assignment]
            nxt = toks[self.p][0]
            if nxt not in _CALL_START and nxt != "::":
                found, is_func = self.access_var(self.state, name, pos)
                if self.strict and not found and not is_func and name not in self.scope_names:
                    self.fail("VariableUndefined", f"Undefined variable: {name}", pos, name)
            expr = n.Variable(pos, name)
        elif kind == STR:
            self.p += 1
            expr = n.StringLit(pos, tok[1])  # type: ignore[arg-type]
        elif kind == "(":
            self.p += 1
            expr = self.parse_expr(self.level_up(lv, tok))
            close = toks[self.p]
            if close[0] != ")":
                self.missing(")", "for a matching ( in this expression", close)
            self.p += 1
        elif kind == FLOAT:
            self.p += 1
            expr = n.FloatLit(pos, tok[1])  # type: ignore[arg-type]
        elif kind == "true" or kind == "false":
            self.p += 1
            expr = n.BoolLit(pos, kind == "true")
        elif kind == CHAR:
            self.p += 1
            expr = n.CharLit(pos, tok[1])  # type: ignore[arg-type]
        elif kind == "()":
            self.p += 1
            expr = n.UnitLit(pos)
        elif kind == ".." or kind == "..=":
            # `..x` is `0..x`: the range operator itself is left for parse_binary_op.
            return n.IntLit(pos, 0)
        elif kind == "[":
            expr = self.parse_array_literal(self.level_up(lv, tok))
        elif kind == "#{":
            expr = self.parse_map_literal(self.level_up(lv, tok))
        elif kind == ISTR:
            expr = self.parse_interpolated(self.level_up(lv, tok))
        elif kind == "{" and self.stmt_expr:
            expr = self.parse_block(self.level_up(lv, tok))
        elif kind == "if" and self.if_expr:
            expr = self.parse_if(self.level_up(lv, tok))
        elif (kind == "while" or kind == "loop") and self.allow_looping and self.loop_expr:
            expr = self.parse_while_loop(self.level_up(lv, tok))
        elif kind == "do" and self.allow_looping and self.loop_expr:
            expr = self.parse_do(self.level_up(lv, tok))
        elif kind == "for" and self.allow_looping and self.loop_expr:
            expr = self.parse_for(self.level_up(lv, tok))
        elif kind == "switch" and self.switch_expr:
            expr = self.parse_switch(self.level_up(lv, tok))
        elif (kind == "|" or kind == "||") and self.anon_fn and not (kind == "|" and self.no_pipe):
            if self.max_functions is not None and self.fn_count >= self.max_functions:
                self.fail(
                    "TooManyFunctions", "Number of functions defined exceeds maximum limit", tok
                )
            expr = self.parse_anon_fn(lv)
        elif kind == RESERVED:
            self.p += 1
            word = str(tok[1])
            if toks[self.p][0] in _CALL_START and RESERVED_WORDS.get(word, (False, False))[0]:
                expr = n.Variable(pos, word)
            elif word == "this":
                if not self.fn_scope:
                    self.lex_fail(
                        "ImproperSymbol", "'this' can only be used in functions", tok, "this"
                    )
                expr = n.ThisExpr(pos)
            else:
                self.reserved(tok)
        else:
            self.unexpected(tok)
        if self.no_pipe and toks[self.p][0] == "|":
            return expr
        return self.parse_postfix(lv, expr)

    def parse_postfix(self, lv: int, lhs: n.Expr) -> n.Expr:
        """Calls ``f(..)``/``f!(..)``, paths ``m::x``, indexing ``[..]``/``?[..]``, ``.x``/``?.x``."""
        toks = self.toks
        fresh_name = isinstance(lhs, n.Variable)  # only a bare name may be called / qualified
        ns_pos = lhs.pos  # position of a module path's first segment
        while True:
            tok = toks[self.p]
            kind = tok[0]
            if kind == "." or kind == "?.":
                self.p += 1
                lv = self.level_up(lv, tok)
                lhs = self.parse_dot(lv, lhs, kind == "?.", tok)
            elif kind == "[" or kind == "?[":
                self.p += 1
                lv = self.level_up(lv, tok)
                lhs = self.parse_index(lv, lhs, kind == "?[", tok)
            elif fresh_name and kind in _CALL_START and isinstance(lhs, n.Variable):
                self.p += 1
                if kind == "!":
                    nxt = toks[self.p]
                    if lhs.namespace:
                        if nxt[0] in ("(", "()"):
                            self.lex_fail("UnexpectedInput", "Unexpected '!'", tok, "!")
                        self.lex_fail(
                            "ImproperSymbol",
                            "'!' cannot be used to call module functions",
                            tok,
                            "!",
                        )
                    if nxt[0] not in ("(", "()"):
                        self.missing("(", "to start arguments list of function call", nxt)
                    self.p += 1
                    lhs = self.parse_fn_call(lv, lhs, nxt[0] == "()", capture=True, ns_pos=ns_pos)
                else:
                    lhs = self.parse_fn_call(lv, lhs, kind == "()", capture=False, ns_pos=ns_pos)
            elif fresh_name and kind == "::" and isinstance(lhs, n.Variable):
                self.p += 1
                name, ntok = self.parse_var_name()
                lhs = n.Variable(self.pos_of(ntok), name, (*lhs.namespace, lhs.name))
                continue
            else:
                break
            fresh_name = False
        root = lhs
        while isinstance(root, (n.Index, n.Property, n.MethodCall)):
            root = root.target
        if isinstance(root, n.Variable) and root.namespace:
            self.check_module(root.namespace, ns_pos)
        return lhs

    def parse_dot(self, lv: int, lhs: n.Expr, safe: bool, dot: Token) -> n.Expr:
        """After ``.``/``?.``: a property name, or a method call."""
        toks = self.toks
        tok = toks[self.p]
        kind = tok[0]
        if kind == RESERVED:
            if not RESERVED_WORDS.get(str(tok[1]), (False, False))[1]:
                self.reserved(tok)
        elif kind != IDENT:
            self.fail("PropertyExpected", "Expecting name of a property", tok)
        self.p += 1
        name = str(tok[1])
        pos = self.pos_of(tok)
        nxt = toks[self.p]
        if nxt[0] == "::":
            self.lex_fail("ImproperSymbol", "Invalid symbol encountered: '::'", nxt, "::")
        if nxt[0] == "(" or nxt[0] == "()":
            self.p += 1
            call = self.parse_fn_call(
                self.level_up(lv, tok), n.Variable(pos, name), nxt[0] == "()", capture=False
            )
            return n.MethodCall(pos, lhs, name, call.args, safe)
        if nxt[0] == "!":
            self.p += 1
            after = toks[self.p]
            if after[0] not in ("(", "()"):
                self.missing("(", "to start arguments list of function call", after)
            self.p += 1
            self.parse_fn_call(
                self.level_up(lv, tok), n.Variable(pos, name), after[0] == "()", capture=True
            )
            self.fail(
                "MalformedCapture",
                "method-call style does not support running within the caller's scope",
                pos,
            )
        if kind == RESERVED:
            # A callable reserved word used as a property (`x.type_of`) is still reserved.
            self.reserved(tok)
        return n.Property(pos, lhs, name, safe)

    def parse_fn_call(
        self,
        lv: int,
        callee: n.Variable,
        no_args: bool,
        *,
        capture: bool,
        ns_pos: Position | None = None,
    ) -> n.FnCall:
        """Arguments after ``name(``; trailing comma allowed."""
        toks = self.toks
        name = callee.name
        args: list[n.Expr] = []
        if not no_args:
            tok = toks[self.p]
            if tok[0] == ")":
                self.p += 1
            else:
                if tok[0] == EOF:
                    self.missing(
                        ")", f"to close the arguments list of this function call '{name}'", tok
                    )
                if tok[0] == ERR:
                    self.raise_token_error(tok)
                lv = self.level_up(lv, tok)
                while True:
                    if toks[self.p][0] != ")":
                        args.append(self.parse_expr(lv))
                    tok = toks[self.p]
                    kind = tok[0]
                    if kind == ")":
                        self.p += 1
                        break
                    if kind == ",":
                        self.p += 1
                        continue
                    if kind == EOF:
                        self.missing(
                            ")", f"to close the arguments list of this function call '{name}'", tok
                        )
                    self.missing(",", f"to separate the arguments to function call '{name}'", tok)
        if callee.namespace:
            self.check_module(callee.namespace, ns_pos or callee.pos)
        return n.FnCall(callee.pos, name, args, callee.namespace, capture)

    def parse_index(self, lv: int, lhs: n.Expr, safe: bool, bracket: Token) -> n.Index:
        """``lhs[idx]``: literal containers reject index types they can never take."""
        idx = self.parse_expr(self.level_up(lv, bracket))
        self.check_index_types(lhs, idx)
        tok = self.toks[self.p]
        if tok[0] != "]":
            self.missing("]", "for a matching [ in this index expression", tok)
        self.p += 1
        return n.Index(self.pos_of(bracket), lhs, idx, safe)

    def check_index_types(self, lhs: n.Expr, idx: n.Expr) -> None:
        """``MalformedIndexExpr`` for e.g. ``[1, 2]["x"]`` or ``#{a: 1}[0]`` (Rhai's literal checks)."""
        if isinstance(lhs, n.MapLit):
            if isinstance(idx, (n.StringLit, n.InterpolatedString)):
                return
            what = self._index_type_name(idx, map_target=True)
            if what:
                self.fail(
                    "MalformedIndexExpr",
                    f"Object map expects string index, not {what}",
                    start_pos(idx),
                )
        elif isinstance(lhs, (n.IntLit, n.ArrayLit, n.StringLit, n.InterpolatedString)):
            if isinstance(idx, n.IntLit):
                return
            what = self._index_type_name(idx, map_target=False)
            if what:
                kind = "numeric" if what == "a string" else "integer"
                self.fail(
                    "MalformedIndexExpr",
                    f"Array, string or bit-field expects {kind} index, not {what}",
                    start_pos(idx),
                )

    @staticmethod
    def _index_type_name(idx: n.Expr, *, map_target: bool) -> str | None:
        if isinstance(idx, n.IntLit):
            return "a number" if map_target else None
        if isinstance(idx, (n.StringLit, n.InterpolatedString)):
            return None if map_target else "a string"
        if isinstance(idx, n.FloatLit):
            return "a float"
        if isinstance(idx, n.CharLit):
            return "a character"
        if isinstance(idx, n.UnitLit):
            return "()"
        if isinstance(idx, (n.And, n.Or, n.BoolLit)):
            return "a boolean"
        return None

    # ------------------------------------------------------------------ literals

    def parse_array_literal(self, lv: int) -> n.ArrayLit:
        """``[a, b, ...]`` with optional trailing comma; ``LiteralTooLarge`` over max_array_size."""
        toks = self.toks
        open_tok = toks[self.p]
        self.p += 1
        items: list[n.Expr] = []
        max_array = self.max_array
        while True:
            tok = toks[self.p]
            # Rhai checks the size before looking for `]`, so a full literal is already too large.
            if max_array and len(items) >= max_array:
                self.fail(
                    "LiteralTooLarge", f"Size of array literal exceeds the maximum limit ({max_array})", tok,
                    "Size of array literal", max_array,
                )  # fmt: skip
            if tok[0] == "]":
                self.p += 1
                break
            if tok[0] == EOF:
                self.missing("]", "to end this array literal", tok)
            items.append(self.parse_expr(self.level_up(lv, tok)))
            tok = toks[self.p]
            if tok[0] == ",":
                self.p += 1
            elif tok[0] != "]":
                if tok[0] == EOF:
                    self.missing("]", "to end this array literal", tok)
                self.missing(",", "to separate the items of this array literal", tok)
        return n.ArrayLit(self.pos_of(open_tok), items)

    def parse_map_literal(self, lv: int) -> n.MapLit:
        """``#{key: value, "quoted key": value}``; duplicate keys are ``DuplicatedProperty``."""
        toks = self.toks
        open_tok = toks[self.p]
        self.p += 1
        entries: list[tuple[str, n.Expr]] = []
        seen: set[str] = set()
        max_map = self.max_map
        missing_rbrace = "to end this object map literal"
        while True:
            tok = toks[self.p]
            if tok[0] == "}":
                self.p += 1
                break
            if tok[0] == EOF:
                self.missing("}", missing_rbrace, tok)
            self.p += 1
            kind = tok[0]
            if kind == IDENT or kind == STR:
                key = str(tok[1])
                if key in seen:
                    self.fail(
                        "DuplicatedProperty",
                        f"Duplicated property for object map literal: {key}",
                        tok,
                        key,
                    )
            elif kind == ISTR:
                self.fail("PropertyExpected", "Expecting name of a property", tok)
            elif kind == RESERVED and is_valid_identifier(str(tok[1])):
                self.reserved(tok)
            elif kind == ERR:
                self.raise_token_error(tok)
            elif not entries:
                self.missing("}", missing_rbrace, tok)
            else:
                self.fail("PropertyExpected", "Expecting name of a property", tok)
            colon = toks[self.p]
            self.p += 1
            if colon[0] != ":":
                self.missing(
                    ":", f"to follow the property '{key}' in this object map literal", colon
                )
            if max_map and len(entries) >= max_map:
                self.fail(
                    "LiteralTooLarge",
                    f"Number of properties in object map literal exceeds the maximum limit ({max_map})",
                    toks[self.p], "Number of properties in object map literal", max_map,
                )  # fmt: skip
            value = self.parse_expr(self.level_up(lv, tok))
            seen.add(key)
            entries.append((key, value))
            tok = toks[self.p]
            if tok[0] == ",":
                self.p += 1
            elif tok[0] != "}":
                if tok[0] == IDENT:
                    self.missing(",", "to separate the items of this object map literal", tok)
                self.missing("}", missing_rbrace, tok)
        return n.MapLit(self.pos_of(open_tok), entries)

    def parse_interpolated(self, lv: int) -> n.Expr:
        """Backtick string with ``${ block }`` parts (the lexer resumes the text after ``}``)."""
        toks = self.toks
        first = toks[self.p]
        self.p += 1
        parts: list[n.Expr] = []
        if first[1]:
            parts.append(n.StringLit(self.pos_of(first), first[1]))  # type: ignore[arg-type]
        while True:
            parts.append(self.parse_block(lv))
            tok = toks[self.p]
            self.p += 1
            if tok[0] == STR or tok[0] == ISTR:
                if tok[1]:
                    parts.append(n.StringLit(self.pos_of(tok), tok[1]))  # type: ignore[arg-type]
                if tok[0] == STR:
                    break
            else:
                self.unexpected(tok)
        return n.InterpolatedString(self.pos_of(first), parts)

    # ------------------------------------------------------------------ closures

    def parse_anon_fn(self, lv: int) -> n.Closure:
        """``|a, b| body`` / ``|| body``: a fresh scope; outer names used become captures."""
        toks = self.toks
        start = toks[self.p]
        self.p += 1
        outer = self.state
        inner = self.new_state()
        params: list[str] = []
        if start[0] == "|" and not self.match("|"):
            while True:
                tok = toks[self.p]
                self.p += 1
                kind = tok[0]
                if kind == "|":
                    break
                if kind == IDENT:
                    name = str(tok[1])
                    if name in params:
                        self.fail(
                            "FnDuplicatedParam",
                            f"Duplicated parameter {name} for function ",
                            tok,
                            "",
                            name,
                        )
                    inner.stack.append((name, False))
                    params.append(name)
                elif kind == ERR:
                    self.raise_token_error(tok)
                elif kind == RESERVED:
                    self.reserved(tok)
                elif kind in _STANDARD_KEYWORDS:
                    self.fail("VariableExpected", "Expecting name of a variable", tok)
                else:
                    self.missing(
                        "|", "to close the parameters list of anonymous function or closure", tok
                    )
                tok = toks[self.p]
                self.p += 1
                if tok[0] == "|":
                    break
                if tok[0] != ",":
                    self.missing(",", "to separate the parameters of anonymous function", tok)
        # A closure body gets Rhai's fresh settings: function scope, no loop, no strict mode
        # (captures are checked against the enclosing scope below), engine-level options.
        saved = self.save_flags()
        expression_only = self.disallow_stmts
        self.state = inner
        self.fn_scope = True
        self.closure_scope = True
        self.breakable = False
        self.global_level = False
        self.no_pipe = False
        self.strict = False
        self.restore_engine_options()
        try:
            if expression_only:
                # Expression API: the body is one expression (rhai.rs would accept any
                # statement here, e.g. `|| let y = 1`; the expression API promises none).
                self.stmt_expr = self.loop_expr = False
                lv = self.level_up(lv, start)
                if toks[self.p][0] == "{":
                    body_expr: n.Expr = self.parse_block(self.level_up(lv))
                else:
                    body_expr = self.parse_expr(lv)
                stmt: n.Stmt | None = n.ExprStmt(body_expr.pos, body_expr)
            else:
                stmt, _ = self.parse_stmt(self.level_up(lv, start))
        finally:
            self.state = outer
            self.restore_flags(saved)
        # Counted after its body, as Rhai adds it to the function library then.
        self.fn_count += 1
        if stmt is None:
            body: n.Expr = n.Block(self.pos_of(start), [])
        elif isinstance(stmt, n.ExprStmt):
            body = stmt.expr
        else:
            body = n.Block(stmt.pos, [stmt])
        captures: list[str] = []
        for name, cpos in inner.externals:
            found, is_func = self.access_var(outer, name, cpos)
            if (
                not found
                and not is_func
                and not self.closure_scope
                and self.strict
                and name not in self.scope_names
            ):
                self.fail("VariableUndefined", f"Undefined variable: {name}", cpos, name)
            captures.append(name)
        return n.Closure(self.pos_of(start), params, body, captures)

    if TYPE_CHECKING:

        def save_flags(self) -> tuple[Any, ...]: ...
        def restore_flags(self, saved: tuple[Any, ...]) -> None: ...
        def restore_engine_options(self) -> None: ...
