"""Expression rules of the Rhai parser: operators, unary, primaries, calls and chains.

Method names and the order of checks follow rhai.rs ``parser.rs`` so that the
same script fails with the same error kind at the same token.
"""

from __future__ import annotations

from picloud.rhai import nodes as n
from picloud.rhai._parser_base import ParserBase, start_pos, token_text
from picloud.rhai.errors import Position
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

__all__ = ["PRECEDENCE", "ExprParser", "token_text"]

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

# Tokens after which `x..` / `x..=` has no end (an open range).
_RANGE_OPEN_END = frozenset({"]", ")", "}", ",", ";", "=>"})
_JUMP_KEYWORDS = frozenset({"break", "continue", "return", "throw"})
_CALL_START = frozenset({"(", "()", "!"})
# Tokens that may continue a primary expression (see parse_postfix).
_POSTFIX_START = frozenset({".", "?.", "[", "?[", "::"}) | _CALL_START


class ExprParser(ParserBase):
    """Expression rules (operators, names, calls, indexing, properties)."""

    # ------------------------------------------------------------------ expressions

    def parse_expr(self, lv: int) -> n.Expr:
        """expr := unary (binop unary)*"""
        if self.max_depth and lv >= self.max_depth:  # level_up, inlined on the hottest path
            self.level_up(lv)
        lv += 1
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
        if toks[self.p][0] not in _POSTFIX_START:
            return expr  # the common case: skip the postfix loop entirely
        return self.parse_postfix(lv, expr)

    def parse_postfix(self, lv: int, lhs: n.Expr) -> n.Expr:
        """Calls ``f(..)``/``f!(..)``, paths ``m::x``, ``[..]``/``?[..]``, ``.x``/``?.x``."""
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
                ntok = self.toks[self.p]
                if (
                    ntok[0] == RESERVED
                    and RESERVED_WORDS.get(str(ntok[1]), (False, False))[0]
                    and self.toks[self.p + 1][0] in _CALL_START
                ):
                    # Deviation from rhai.rs, on purpose: a keyword-function name
                    # after `::` (`log::debug(x)`) is a namespaced call. Host
                    # namespaces need it; it can never mean the keyword itself.
                    self.p += 1
                    name = str(ntok[1])
                else:
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
        """``MalformedIndexExpr`` for literal targets, e.g. ``[1, 2]["x"]`` or ``#{a: 1}[0]``."""
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
