"""Shared plumbing of the Rhai parser: error helpers, token helpers, literal folding.

``ParserBase`` declares the state every rule mixin uses (``parser.Parser``
sets it up) and the helpers that raise ``ErrorParsing`` the way rhai.rs
reports each problem. The rules live in ``_parser_exprs`` (operators, names,
chains), ``_parser_literals`` (arrays, maps, strings, closures),
``_parser_flow`` (if/switch/loops/try) and ``parser`` (statements, entry).
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
    STR,
    Token,
    is_valid_identifier,
)
from picloud.rhai.values import Char, RhaiRange

if TYPE_CHECKING:
    from picloud.rhai.parser import _State

__all__ = ["NO_VALUE", "ParserBase", "is_constant", "literal_value", "start_pos", "token_text"]

_I64_MAX = (1 << 63) - 1
_new_tuple = tuple.__new__
#: Keywords that cannot name a parameter (``VariableExpected``).
STANDARD_KEYWORDS = frozenset(
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


NO_VALUE = object()
"""``literal_value`` result for an expression that is not a literal."""


def literal_value(expr: n.Expr) -> Any:
    """The runtime value of a literal switch-case expression, or ``NO_VALUE``."""
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
    return NO_VALUE


class ParserBase:
    """State declarations and error/token helpers shared by the rule mixins."""

    # Set up by parser.Parser (declared here for type checkers).
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

    allow_shadowing: bool
    functions: list[n.FnDef]

    if TYPE_CHECKING:
        # Rules defined by the other mixins, called across them.
        def parse_stmt(self, lv: int) -> tuple[n.Stmt | None, bool]: ...
        def parse_block(self, lv: int) -> n.Block: ...
        def parse_expr(self, lv: int) -> n.Expr: ...
        def parse_if(self, lv: int) -> n.If: ...
        def parse_switch(self, lv: int) -> n.Switch: ...
        def parse_while_loop(self, lv: int) -> n.Expr: ...
        def parse_do(self, lv: int) -> n.DoLoop: ...
        def parse_for(self, lv: int) -> n.For: ...
        def parse_array_literal(self, lv: int) -> n.ArrayLit: ...
        def parse_map_literal(self, lv: int) -> n.MapLit: ...
        def parse_interpolated(self, lv: int) -> n.Expr: ...
        def parse_anon_fn(self, lv: int) -> n.Closure: ...
        def new_state(self) -> _State: ...
        def access_var(self, state: _State, name: str, pos: Position) -> tuple[bool, bool]: ...
        def check_module(self, namespace: tuple[str, ...], pos: Position) -> None: ...
        def save_flags(self) -> tuple[Any, ...]: ...
        def restore_flags(self, saved: tuple[Any, ...]) -> None: ...
        def restore_engine_options(self) -> None: ...

    # ------------------------------------------------------------------ errors / tokens

    @staticmethod
    def pos_of(tok: Token) -> Position:
        """Position of a token."""
        # tuple.__new__ directly: NamedTuple's own __new__ adds a Python-level call.
        return _new_tuple(Position, (tok[2], tok[3]))

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
